"""``Platform`` and ``LeafNode`` of the public API under Pulumi mocks: what they register from their
Args (the environment file's ``platform`` and ``leafnodes`` entries), checked by the file's rules,
and that a Platform built from Args is the one the environment-file program builds from the file."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pulumi
import pytest
from pulumi.runtime import rpc

from components import api
from components.api import _props
from components.model.environment.load import load_environment
from components.model.environment.platform import LEAF_KEYS, PLATFORM_CONSUMER_KEYS
from components.model.errors import SpecError
from tests.mocks.conftest import Recorder, reset_options, start_mocks
from tests.mocks.test_estate_mocks import FAKES, fake_creds

ROOT = Path(__file__).resolve().parents[3]
DYN = "pulumi-python:dynamic/nats:"
IDX = "nats-tenancy:index:"
QUOTAS = api.Quotas(max_streams=5, max_consumers=10, max_bytes=1 << 20, max_memory=1 << 20, max_connections=5,
                    retention_days=7, max_ack_pending=100)
AUDIT = api.PlatformConsumerArgs(name="audit", tree="events")


@pytest.fixture
def rec() -> Iterator[Recorder]:
    recorder = start_mocks("dev")
    recorder.mocks.fakes.update(FAKES)
    try:
        yield recorder
    finally:
        reset_options()


def _run(build: Callable[[], Any]) -> None:
    """``build`` as a Pulumi program; returns once every registration is done."""
    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        return pulumi.Output.from_input(build()).apply(lambda _: None)

    program()


def _tenants(ids: tuple[str, ...] = ("acme", "globex")) -> tuple[api.Hub, list[api.Tenant]]:
    operator = api.Operator("operator", api.OperatorArgs(name="test"))
    hub = api.hub(operator, "nats://127.0.0.1:4222")
    return hub, [api.Tenant(api.TenantArgs(id=t, quotas=QUOTAS), hub) for t in ids]


def _children(rec: Recorder, parent_urn: str) -> set[tuple[str, str]]:
    return {(r.typ.rsplit(":", 1)[-1], r.name) for r in rec.registrations() if r.parent == parent_urn}


# -- Args -----------------------------------------------------------------------------------------

def test_args_fields_are_the_environment_entries() -> None:
    # ``class`` is a Python keyword: the field is ``tree``
    assert _props.field_names(api.PlatformConsumerArgs) == tuple("tree" if k == "class" else k
                                                                 for k in PLATFORM_CONSUMER_KEYS)
    assert {"shards", "consumers"} <= set(_props.field_names(api.PlatformArgs))
    # the tenant is the component the leaf node belongs to, not a field
    assert set(LEAF_KEYS) - {"tenant"} <= set(_props.field_names(api.LeafNodeArgs))


def test_platform_args_make_the_environment_files_platform() -> None:
    env = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")
    args = api.PlatformArgs(shards=1, layout=env.layout, consumers=[
        api.PlatformConsumerArgs(name="log-archiver", tree="logs", filter="*.logs.>"),
        api.PlatformConsumerArgs(name="event-indexer", tree="events", filter="*.events.>")])
    assert args.spec() == env.platform
    spec = api.PlatformArgs(consumers=[AUDIT]).spec()
    assert [(c.stream, c.durable, c.filter_subject) for c in spec.consumers] == [
        ("PLATFORM_EVENTS", "PLATFORM_EVENTS_AUDIT", "*.events.>")]


@pytest.mark.parametrize("args,field", [
    (api.PlatformArgs(consumers=[api.PlatformConsumerArgs(name="audit", tree="metrics")]),
     "platform.consumers[0].class"),
    (api.PlatformArgs(consumers=[api.PlatformConsumerArgs(name="audit", tree="events", filter="*.logs.>")]),
     "platform.consumers[0].filter"),
    (api.PlatformArgs(consumers=[api.PlatformConsumerArgs(name="Audit", tree="events")]), "platform.consumers[0].name"),
    (api.PlatformArgs(consumers=[AUDIT, AUDIT]), "platform.consumers[1].name"),
    (api.PlatformArgs(shards=-1), "platform.shards"),
])
def test_bad_platform_args_name_the_field(args: api.PlatformArgs, field: str) -> None:
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        args.spec()


@pytest.mark.parametrize("args,field", [
    (api.LeafNodeArgs(customer="edge", hub_url="http://hub:7422"), "hub_url"),
    (api.LeafNodeArgs(customer="edge", hub_url=" , "), "hub_url"),
    (api.LeafNodeArgs(customer="Edge_1", hub_url="nats://hub:7422"), "customer"),
    (api.LeafNodeArgs(customer="edge", hub_url="nats://hub:7422", listen_port=70000), "listen_port"),
])
def test_bad_leafnode_args_name_the_field(args: api.LeafNodeArgs, field: str) -> None:
    with pytest.raises(SpecError, match=field):
        args.spec_check("acme")


def test_leafnode_args_take_a_cluster_of_hub_urls() -> None:
    args = api.LeafNodeArgs(customer="edge", hub_url="nats://a:7422, tls://b:7422")
    assert args.spec_check("acme") == ["nats://a:7422", "tls://b:7422"]


# -- under mocks ------------------------------------------------------------------------------------

def test_platform_imports_every_tenant_and_makes_its_streams(rec: Recorder) -> None:
    def build() -> Any:
        hub, tenants = _tenants()
        platform = api.Platform("platform", api.PlatformArgs(consumers=[AUDIT]), hub, tenants)
        return pulumi.Output.all(platform.output(), platform.accounts_output())

    _run(build)
    platform = rec.one(IDX + "Platform")
    assert _children(rec, platform.urn) == {
        ("Nkey", "platform-ingest-0-key"), ("Account", "platform-ingest-0"), ("User", "platform-consumer-0"),
        ("User", "platform-provisioning-0"), ("PlatformJetStream", "platform-0")}
    shard = [r for r in rec.of_type(IDX + "PlatformJetStream") if r.name == "platform-0"][0]
    assert _children(rec, shard.urn) == {("Stream", "platform-0-PLATFORM_EVENTS"),
                                         ("Consumer", "platform-0-PLATFORM_EVENTS_AUDIT")}
    account = [r for r in rec.of_type(DYN + "Account") if r.name == "platform-ingest-0"][0]
    imports = {(i["subject"], i["type"]) for i in account.inputs["claims"]["nats"]["imports"]}
    assert imports == {(f"{t}.{tree}.>", "stream") for t in ("acme", "globex") for tree in ("logs", "events", "otel")}
    # pushed after the accounts it imports from
    tenant_accounts = {r.urn for r in rec.of_type(DYN + "Account") if r.name in ("acme-account", "globex-account")}
    assert tenant_accounts <= set(account.dependencies)
    stream = [r for r in rec.of_type(DYN + "Stream") if r.name == "platform-0-PLATFORM_EVENTS"][0]
    assert stream.inputs["subjects"] == ["*.events.>"] and "num_replicas" not in stream.inputs
    assert rpc.is_rpc_secret(stream.inputs["creds"])


def test_platform_shards_split_the_tenants(rec: Recorder) -> None:
    ids = ("acme", "globex", "initech", "umbrella", "hooli")
    seen: dict[str, Any] = {}

    def build() -> Any:
        hub, tenants = _tenants(ids)
        platform = api.Platform("platform", api.PlatformArgs(shards=2, consumers=[AUDIT]), hub, tenants)
        return pulumi.Output.from_input(platform.output()["shard_of"]).apply(seen.update)

    _run(build)
    assert set(seen) == set(ids) and set(seen.values()) <= {0, 1}
    for shard in (0, 1):
        account = [r for r in rec.of_type(DYN + "Account") if r.name == f"platform-ingest-{shard}"][0]
        importers = {i["subject"].split(".")[0] for i in account.inputs["claims"]["nats"]["imports"]}
        assert importers == {t for t, s in seen.items() if s == shard}


def test_platform_refuses_tenants_that_are_not_the_environments(rec: Recorder) -> None:
    env = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")

    def build() -> Any:
        hub, tenants = _tenants(("acme",))
        with pytest.raises(ValueError, match="not the tenants of"):
            api.Platform("platform", env, hub, tenants)
        with pytest.raises(ValueError, match="given twice"):
            api.Platform("platform", api.PlatformArgs(), hub, tenants * 2)
        return None

    _run(build)


def test_leafnode_writes_the_tenants_leaf_creds(rec: Recorder, tmp_path: Path) -> None:
    def build() -> Any:
        hub, (acme, _) = _tenants()
        edge = api.LeafNode("acme-edge", api.LeafNodeArgs(customer="acme-edge", hub_url="nats://127.0.0.1:7422",
                                                          listen_port=4333, directory=str(tmp_path / "edge")), acme,
                            opts=pulumi.ResourceOptions(parent=acme))
        return pulumi.Output.all(edge.path, edge.archive)

    _run(build)
    bundle = rec.one(DYN + "LeafBundle")
    acme = [r for r in rec.of_type(IDX + "Tenant") if r.name == "acme"][0]
    assert bundle.name == "acme-edge" and bundle.parent == acme.urn
    i = bundle.inputs
    assert (i["customer"], i["tenant"], i["hub_urls"], i["listen_port"]) == (
        "acme-edge", "acme", ["nats://127.0.0.1:7422"], 4333)
    assert i["directory"] == str(tmp_path / "edge")
    assert i["subjects"] == ["acme.logs.>", "acme.events.>", "acme.otel.>"]
    # the leaf user's creds (leaf-node connections only), as a secret
    assert rpc.is_rpc_secret(i["creds"]) and rpc.unwrap_rpc_secret(i["creds"]) == fake_creds("acme-leaf")


def test_tenant_takes_args_or_an_environments_entry(rec: Recorder) -> None:
    env = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")

    def build() -> Any:
        hub, _ = _tenants(())
        with pytest.raises(ValueError, match="roles and adopt_seed go with an environment's tenant"):
            api.Tenant(api.TenantArgs(id="acme", quotas=QUOTAS), hub, roles={})
        initech = api.Tenant(env.tenant("initech"), hub, roles={r.name: r for r in env.roles})
        return initech.account_public_key

    _run(build)
    tenant = rec.one(IDX + "Tenant")
    # the entry in full: its JetStream objects under the tenant, as the environment-file program makes them
    assert ("TenantJetStream", "initech") in _children(rec, tenant.urn)
    assert {r.name for r in rec.of_type(DYN + "Stream")} == {s.name for s in env.tenant("initech").streams}
