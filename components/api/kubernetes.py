"""The environment file's Kubernetes components (``servers.mode: kubernetes``), apart from the rest
of the API because they import pulumi-kubernetes:

- ``Cluster``: the hub servers as a StatefulSet with its ConfigMap, Services and PodDisruptionBudget
  (or, with ``render_yaml_to_directory``, the same objects written as manifests);
- ``CredsSecrets``: a Secret per tenant user in ``servers.creds_namespace``, where workloads mount
  the creds they connect with.
"""
from components.resources.cluster import Cluster, CredsSecrets

__all__ = ["Cluster", "CredsSecrets"]
