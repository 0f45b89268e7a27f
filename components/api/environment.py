"""The environment file's own components, for programs that build from a loaded ``Environment``.

The typed classes of this package take Args; these take a section of a validated environment
file (``components.model.environment.load.load_environment``), for a program that reads one, as the
project's own ``components.program`` does:

- ``DevServer``: the local nats-server processes of ``servers.mode: local`` (one, or a routed
  cluster of ``servers.replicas`` on loopback), config rendered from the operator's JWTs;
- ``DevExporter``: the tenant metrics exporter beside them (``monitoring.enabled``);
- ``NamedAccount``: an account of ``accounts:`` (not a tenant), with its users and JetStream objects;
- ``LeafNodeBundles``: every ``leafnodes`` entry's bundle and each tenant's client files;
- ``data_guard``: the ``DataGuard`` that refuses deleting stored data the file no longer declares,
  unless ``data_protection`` allows it; ``protection_transformation`` gives each stream and bucket
  the ``data_protection`` input its provider's diff reads; ``after(resource)`` makes every
  resource below a component wait for ``resource``.

``Tenant`` and ``Platform`` take an environment's tenant entry and the environment itself in place of
their Args; the Kubernetes pieces (``Cluster``, ``CredsSecrets``) are in ``components.api.kubernetes``,
so only a program that uses them imports pulumi-kubernetes.
"""
from components.resources.data_protection import after, data_guard, protection_transformation
from components.resources.dev_exporter import DevExporter
from components.resources.dev_server import DevServer
from components.resources.leafnode_bundles import LeafNodeBundles
from components.resources.named_account import NamedAccount

__all__ = ["DevExporter", "DevServer", "LeafNodeBundles", "NamedAccount", "after", "data_guard",
           "protection_transformation"]
