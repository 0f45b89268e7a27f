"""Cluster: the prod hub servers as a Kubernetes StatefulSet, deployed with pulumi-kubernetes.

Every object comes from ``components.model.render.k8s_manifests`` (pure, unit-tested); this
component only wires them to the operator's outputs and to a provider. Objects whose content does
not depend on the operator (namespace, services, the metrics Service with ``monitoring.enabled``,
PDB) are plain values, so a preview shows them in
full even before the operator exists; the ConfigMap and the StatefulSet (whose pod template carries
the config hash) wait for the operator JWTs.

With ``render_yaml_to_directory`` the component gets a Kubernetes provider of its own that writes
manifests to that directory instead of talking to a cluster, so ``pulumi up`` produces reviewable
YAML (for GitOps, or a machine without cluster access). Nothing secret is rendered, which matters
there: the provider writes every value in clear text.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Protocol, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.model.environment.model import Environment
from components.model.render import k8s_manifests as km


def _after(resource: pulumi.Resource, value: str) -> pulumi.Output[str]:
    """``value`` as an Output that depends on ``resource``.

    The value comes from the manifest, not from the resource's state, so it is known at preview time
    (and the same in render-to-directory mode); deriving it from the URN still makes whatever uses it
    wait for the resource.
    """
    return resource.urn.apply(lambda _urn: value)


class OperatorMaterial(Protocol):
    """What the servers need from the operator: public, signed documents only (no seeds)."""

    operator_jwt: pulumi.Output[str]
    system_account_public_key: pulumi.Output[str]
    system_account_jwt: pulumi.Output[str]


class Cluster(pulumi.ComponentResource):
    client_service: pulumi.Output[str]
    """Name of the Service clients and leaf nodes connect to."""
    client_url: pulumi.Output[str]
    """In-cluster client URL, ``nats://nats.<namespace>.svc.cluster.local:<client_port>``."""

    def __init__(self, name: str, env: Environment, operator: OperatorMaterial,
                 opts: Optional[pulumi.ResourceOptions] = None, *,
                 render_yaml_to_directory: Optional[str] = None):
        """``render_yaml_to_directory`` comes from stack config (``nats-tenancy:renderYamlToDirectory``)
        read by the caller, so this component never reads config itself and tests can set it."""
        super().__init__("nats-tenancy:index:Cluster", name, None, opts)
        self.render_provider: Optional[k8s.Provider] = None
        if render_yaml_to_directory:
            self.render_provider = k8s.Provider(f"{name}-render",
                                                render_yaml_to_directory=render_yaml_to_directory,
                                                opts=pulumi.ResourceOptions(parent=self))

        def child(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=self.render_provider, depends_on=list(depends_on))

        conf_text: pulumi.Output[str] = pulumi.Output.all(
            operator.operator_jwt, operator.system_account_public_key, operator.system_account_jwt,
        ).apply(lambda a: km.nats_conf(env, str(a[0]), str(a[1]), str(a[2])))

        ns = km.namespace(env)
        self.namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns["metadata"], opts=child())

        # The ConfigMap is named after its content (km.config_map_name): a config change creates a
        # new one and updates the StatefulSet in place (a rolling restart), never replaces it.
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=conf_text.apply(lambda text: km.config_map(env, text)["metadata"]),
            data=conf_text.apply(lambda text: km.config_map(env, text)["data"]),
            opts=child(self.namespace))

        self.headless_service = self._service(f"{name}-headless", km.headless_service(env), child(self.namespace))
        self.service = self._service(f"{name}-client", km.client_service(env), child(self.namespace))
        # Scrape target of the exporter sidecars; only when the pods run them.
        self.metrics_service: Optional[k8s.core.v1.Service] = None
        if env.monitoring.enabled:
            self.metrics_service = self._service(f"{name}-metrics", km.metrics_service(env), child(self.namespace))

        # Its metadata never depends on the config, so it stays known at preview time.
        sts = km.stateful_set(env, "")
        self.stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset", metadata=sts["metadata"],
            spec=conf_text.apply(lambda text: km.stateful_set(env, km.config_hash(text))["spec"]),
            opts=child(self.namespace, self.config_map, self.headless_service))

        pdb = km.pod_disruption_budget(env)
        self.pdb = k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                                                     opts=child(self.namespace))

        self.client_service = _after(self.service, km.CLIENT_SERVICE_NAME)
        self.client_url = _after(self.service, km.client_url(env))
        # Registered so the outputs show on the component in the resource tree and in the state.
        self.register_outputs({"client_service": self.client_service, "client_url": self.client_url})

    @staticmethod
    def _service(resource_name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.core.v1.Service:
        return k8s.core.v1.Service(resource_name, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)


class CredsSecrets(pulumi.ComponentResource):
    """Per tenant user a Secret ``<tenant>-<user>-creds`` (key ``user.creds``) in
    ``servers.creds_namespace``, where workloads mount the creds they connect with.

    The creds are Pulumi secrets (encrypted in the state, hidden in previews); pulumi-kubernetes
    also marks a Secret's data secret. A rotation changes the creds and so the Secret; a tenant or
    user removed from the environment deletes its Secret with its other resources.
    """

    def __init__(self, name: str, env: Environment, creds: Mapping[str, Mapping[str, pulumi.Input[str]]],
                 opts: Optional[pulumi.ResourceOptions] = None, *,
                 depends_on: Sequence[pulumi.Resource] = ()):
        """``creds``: tenant id -> user name -> creds text."""
        super().__init__("nats-tenancy:index:CredsSecrets", name, None, opts)
        deps: list[pulumi.Resource] = list(depends_on)
        ns = km.creds_namespace(env)
        self.namespace: Optional[k8s.core.v1.Namespace] = None
        if ns is not None:
            self.namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=ns["metadata"],
                                                   opts=pulumi.ResourceOptions(parent=self))
            deps.append(self.namespace)
        self.secrets: dict[tuple[str, str], k8s.core.v1.Secret] = {}
        for tenant_id in sorted(creds):
            for user in sorted(creds[tenant_id]):
                shape = km.creds_secret(env, tenant_id, user, "")
                self.secrets[(tenant_id, user)] = k8s.core.v1.Secret(
                    f"{name}-{tenant_id}-{user}", metadata=shape["metadata"], type=shape["type"],
                    string_data={km.CREDS_KEY: pulumi.Output.secret(creds[tenant_id][user])},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=deps))
        self.register_outputs({})
