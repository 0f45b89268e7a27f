"""Cluster component wiring under Pulumi mocks: which Kubernetes objects, under which parent and
provider, with exactly the content the pure renderer produces (no Kubernetes plugin is loaded)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import pulumi
import pytest

from components.model.environment.load import load_environment
from components.model.environment.model import Environment
from components.model.render import k8s_manifests as km

if TYPE_CHECKING:   # the fixture's type only; conftest itself is loaded by pytest
    from tests.mocks.conftest import Recorder

ROOT = Path(__file__).resolve().parents[2]
# Stand-ins: the Cluster passes these through to nats.conf without interpreting them; that the real
# server accepts real JWTs there is checked in tests/unit/render/test_k8s_manifests.py.
OPERATOR_JWT = "eyJ0eXAiOiJKV1QifQ.operator.sig"
SYSTEM_ACCOUNT = "ADBSYSTEMACCOUNTPUBLICKEY"
SYSTEM_ACCOUNT_JWT = "eyJ0eXAiOiJKV1QifQ.sys.sig"

K8S_TYPES = ["kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Namespace",
             "kubernetes:core/v1:Service", "kubernetes:core/v1:Service", "kubernetes:core/v1:Service",
             "kubernetes:policy/v1:PodDisruptionBudget"]   # three Services: clients, headless, metrics


class FakeOperator:
    """The three public outputs of the Operator resource, already known (as after its creation)."""

    def __init__(self) -> None:
        self.operator_jwt = pulumi.Output.from_input(OPERATOR_JWT)
        self.system_account_public_key = pulumi.Output.from_input(SYSTEM_ACCOUNT)
        self.system_account_jwt = pulumi.Output.from_input(SYSTEM_ACCOUNT_JWT)


@pytest.fixture(scope="module")
def env() -> Environment:
    return load_environment(str(ROOT / "environments" / "prod.yaml"), stack="prod")


def build(env: Environment, render_dir: Optional[str] = None) -> dict[str, Any]:
    """Construct the Cluster under mocks; return its resolved outputs once every RPC is done."""
    from components.resources.cluster import Cluster

    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        cluster = Cluster("prod-cluster", env, FakeOperator(), render_yaml_to_directory=render_dir)
        def store(key: str) -> Callable[[Any], None]:
            return lambda value: seen.__setitem__(key, value)

        return pulumi.Output.all(cluster.client_service.apply(store("client_service")),
                                 cluster.client_url.apply(store("client_url")))

    program()
    return seen


def expected_conf(env: Environment) -> str:
    return km.nats_conf(env, OPERATOR_JWT, SYSTEM_ACCOUNT, SYSTEM_ACCOUNT_JWT)


def test_registers_the_kubernetes_objects_under_the_component(pulumi_mocks: Recorder, env: Environment) -> None:
    build(env)
    regs = pulumi_mocks.registrations()
    component = pulumi_mocks.one("nats-tenancy:index:Cluster")
    assert component.name == "prod-cluster"
    children = [r for r in regs if r.parent == component.urn]
    assert sorted(r.typ for r in children) == K8S_TYPES
    # nothing else: no stray provider, nothing registered outside the component
    assert sorted(r.typ for r in regs if r.typ.startswith(("kubernetes:", "pulumi:providers:"))) == K8S_TYPES
    assert all(r.provider == "" for r in children)   # the default (ambient kubeconfig) provider


def test_objects_equal_the_pure_renderer(pulumi_mocks: Recorder, env: Environment) -> None:
    build(env)
    by_type = {r.typ: r for r in pulumi_mocks.registrations()}
    ns = by_type["kubernetes:core/v1:Namespace"].inputs
    assert ns["metadata"] == km.namespace(env)["metadata"]

    cm = by_type["kubernetes:core/v1:ConfigMap"].inputs
    assert cm["metadata"] == km.config_map(env, expected_conf(env))["metadata"]
    assert cm["metadata"]["name"] == "nats-config-" + km.config_hash(expected_conf(env))[:10]
    assert cm["data"] == {"nats.conf": expected_conf(env)}

    sts = by_type["kubernetes:apps/v1:StatefulSet"].inputs
    assert sts["metadata"] == km.stateful_set(env, "")["metadata"]
    assert sts["spec"] == km.stateful_set(env, km.config_hash(expected_conf(env)))["spec"]
    assert sts["spec"]["replicas"] == 3
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert claim["spec"]["storageClassName"] == "standard"

    pdb = by_type["kubernetes:policy/v1:PodDisruptionBudget"].inputs
    assert {"metadata": pdb["metadata"], "spec": pdb["spec"]} == {
        k: v for k, v in km.pod_disruption_budget(env).items() if k in ("metadata", "spec")}

    services = {r.inputs["metadata"]["name"]: r.inputs for r in pulumi_mocks.of_type("kubernetes:core/v1:Service")}
    assert services["nats"]["spec"] == km.client_service(env)["spec"]
    assert services["nats-headless"]["spec"] == km.headless_service(env)["spec"]
    metrics = km.metrics_service(env)
    assert services["nats-metrics"]["metadata"] == metrics["metadata"]     # the prometheus.io annotations
    assert services["nats-metrics"]["spec"] == metrics["spec"]
    containers = [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]]
    assert containers == ["nats", "exporter"]


def test_no_metrics_service_without_monitoring(pulumi_mocks: Recorder, env: Environment) -> None:
    import dataclasses

    from components.model.environment.model import MonitoringSpec

    build(dataclasses.replace(env, monitoring=MonitoringSpec(enabled=False)))
    names = sorted(r.inputs["metadata"]["name"] for r in pulumi_mocks.of_type("kubernetes:core/v1:Service"))
    assert names == ["nats", "nats-headless"]
    sts = pulumi_mocks.one("kubernetes:apps/v1:StatefulSet").inputs
    assert [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]] == ["nats"]


def test_outputs(pulumi_mocks: Recorder, env: Environment) -> None:
    out = build(env)
    assert out == {"client_service": "nats", "client_url": "nats://nats.nats.svc.cluster.local:4222"}
    assert out["client_url"] == km.client_url(env)


def test_render_to_directory_uses_its_own_provider(pulumi_mocks: Recorder, env: Environment, tmp_path: Path) -> None:
    build(env, render_dir=str(tmp_path / "manifests"))
    component = pulumi_mocks.one("nats-tenancy:index:Cluster")
    provider = pulumi_mocks.one("pulumi:providers:kubernetes")
    assert provider.parent == component.urn
    assert provider.inputs["renderYamlToDirectory"] == str(tmp_path / "manifests")
    children = [r for r in pulumi_mocks.registrations() if r.parent == component.urn and r.typ != provider.typ]
    assert sorted(r.typ for r in children) == K8S_TYPES
    for r in children:
        assert r.provider.startswith(provider.urn + "::"), (r.typ, r.provider)


def test_creds_secrets_are_secret_and_in_the_creds_namespace(pulumi_mocks: Recorder, env: Environment) -> None:
    """One Secret per tenant user in ``servers.creds_namespace`` (its Namespace made when it is not the
    servers' own), with the creds as a secret input."""
    import dataclasses

    from components.resources.cluster import CredsSecrets

    with_ns = dataclasses.replace(env, servers=dataclasses.replace(env.servers, creds_namespace="apps"))
    creds = {"acme": {"service": "acme-service-creds-text", "reader": "acme-reader-creds-text"},
             "globex": {"service": "globex-service-creds-text"}}

    @pulumi.runtime.test
    def program() -> None:
        CredsSecrets("prod-creds", with_ns, {t: {u: pulumi.Output.secret(c) for u, c in users.items()}
                                            for t, users in creds.items()})

    program()
    secrets = {r.inputs["metadata"]["name"]: r for r in pulumi_mocks.of_type("kubernetes:core/v1:Secret")}
    assert sorted(secrets) == ["acme-reader-creds", "acme-service-creds", "globex-service-creds"]
    for name, reg in secrets.items():
        tenant, user = name.split("-")[:2]
        assert reg.inputs["metadata"]["namespace"] == "apps"
        # Pulumi's wire form of a secret value: the signature key with the secret sentinel.
        assert reg.inputs["stringData"] == {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                            "value": {"user.creds": creds[tenant][user]}}
    (ns,) = pulumi_mocks.of_type("kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["name"] == "apps"
