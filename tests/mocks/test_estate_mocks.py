"""The whole estate under Pulumi mocks: what is registered, under which parent, with which secrets and
dependencies, and the stack outputs other deployments read. No provider method runs here; the
providers are only pickled into their resources' inputs, as in a real run."""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import runpy
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import dill
import nkeys
import pulumi
import pytest
from pulumi.runtime import rpc

from components.model.environment.load import StackSettings, load_environment, load_environment_text, stack_settings
from components.model.environment.model import Environment, ServerMode
from components.model.identity.roles import JS_BACKUP

if TYPE_CHECKING:   # the fixture's type only; conftest itself is loaded by pytest
    from tests.mocks.conftest import Recorder, Registration

ROOT = Path(__file__).resolve().parents[2]
DYN = "pulumi-python:dynamic/nats:"
IDX = "nats-tenancy:index:"
PROD_URL = "tls://nats.example.com:4222"


# -- what the providers would compute, made up deterministically from the resource name ------------

def _b32(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")


_ROLE_BYTES = {"O": nkeys.PREFIX_BYTE_OPERATOR, "A": nkeys.PREFIX_BYTE_ACCOUNT, "U": nkeys.PREFIX_BYTE_USER}


@functools.lru_cache(maxsize=None)
def _keypair(prefix: str, name: str) -> tuple[str, str]:
    """A valid nkey pair (the claims builders check role and checksum), derived from the name."""
    raw = hashlib.sha256(f"{prefix} {name}".encode()).digest()
    kp = nkeys.from_seed(nkeys.encode_seed(raw, _ROLE_BYTES[prefix]))
    return kp.public_key.decode(), kp.seed.decode()


def fake_key(prefix: str, name: str) -> str:
    return _keypair(prefix, name)[0]


def fake_seed(prefix: str, name: str) -> str:
    return _keypair(prefix, name)[1]


def fake_jwt(kind: str, name: str) -> str:
    return f"eyJ0eXAiOiJKV1QifQ.{_b32(kind + name)[:16]}.sig"


def fake_creds(name: str) -> str:
    return (f"-----BEGIN NATS USER JWT-----\n{fake_jwt('user', name)}\n------END NATS USER JWT------\n"
            f"-----BEGIN USER NKEY SEED-----\n{fake_seed('U', name)}\n------END USER NKEY SEED------\n")


ROLE_PREFIX = {"operator": "O", "account": "A", "user": "U"}
SYS = "operator-system"


def _nkey(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    prefix = ROLE_PREFIX[args.inputs["role"]]
    return {"public_key": fake_key(prefix, args.name), "seed": fake_seed(prefix, args.name)}


def _operator(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    n = args.name
    return {
        "operator_public_key": fake_key("O", n), "operator_seed": fake_seed("O", n),
        "operator_jwt": fake_jwt("operator", n),
        "system_account_public_key": fake_key("A", SYS), "system_account_seed": fake_seed("A", SYS),
        "system_account_jwt": fake_jwt("account", SYS),
        "system_user_seed": fake_seed("U", SYS), "system_user_creds": fake_creds(SYS),
    }


def _account(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"jwt": fake_jwt("account", args.name), "fingerprint": _b32(args.name)[:20], "resolver_state": "current"}


def _user(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {"public_key": fake_key("U", args.name), "seed": fake_seed("U", args.name),
            "jwt": fake_jwt("user", args.name), "creds": fake_creds(args.name)}


def _local_server(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    i = args.inputs
    return {"pid": 4242, "url": f"nats://{i['host']}:{i['client_port']}",
            "monitor_url": f"http://{i['host']}:{i['monitor_port']}",
            "config_path": f"{i['data_dir']}/nats.conf", "log_path": f"{i['data_dir']}/nats.log"}


def _local_exporter(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    i = args.inputs
    return {"pid": 4343, "metrics_url": f"http://{i['host']}:{i['port']}/metrics",
            "command": ["python", "-m", "components.ops.exporter"],
            "log_path": f"{i['data_dir']}/exporter.log", "pid_path": f"{i['data_dir']}/exporter.pid"}


def _leaf_bundle(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    d = args.inputs["directory"]
    return {"path": d, "archive": d + ".tar.gz", "archive_sha256": "0" * 64}


FAKES: dict[str, Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]]] = {
    DYN + "Nkey": _nkey, DYN + "Operator": _operator, DYN + "Account": _account, DYN + "User": _user,
    DYN + "LocalServer": _local_server, DYN + "LocalExporter": _local_exporter, DYN + "LeafBundle": _leaf_bundle,
}


# -- building ---------------------------------------------------------------------------------------

@dataclass
class Built:
    rec: "Recorder"
    outputs: dict[str, Any]      # the stack outputs, resolved
    secret_paths: set[str]       # dotted paths of the outputs that are secret

    def regs(self, typ: str) -> list["Registration"]:
        return self.rec.of_type(typ)

    def get(self, typ: str, name: str) -> "Registration":
        found = [r for r in self.rec.of_type(typ) if r.name == name]
        assert len(found) == 1, f"{typ} {name}: {[r.name for r in found]}"
        return found[0]

    def counts(self) -> Counter[str]:
        return Counter(r.typ for r in self.rec.registrations())

    def dynamic(self) -> list["Registration"]:
        return [r for r in self.rec.registrations() if r.typ.startswith(DYN)]


async def _resolve(node: Any, path: str, secrets: set[str]) -> Any:
    if isinstance(node, pulumi.Output):
        if await node.is_secret():
            secrets.add(path)
        return await node.future()
    if isinstance(node, dict):
        return {k: await _resolve(v, f"{path}.{k}" if path else str(k), secrets) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [await _resolve(v, f"{path}[{i}]", secrets) for i, v in enumerate(node)]
    return node


def build(rec: "Recorder", env: Environment, settings: StackSettings, project_dir: Path) -> Built:
    """Construct the Estate; return once every registration is done and the outputs are resolved."""
    from components.program.estate import Estate

    rec.mocks.fakes.update(FAKES)
    secrets: set[str] = set()
    seen: dict[str, Any] = {}

    async def collect(outputs: dict[str, Any]) -> None:
        seen.update(await _resolve(outputs, "", secrets))

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        estate = Estate("nats", env, settings, project_dir=str(project_dir))
        return pulumi.Output.from_input(collect(estate.outputs()))

    program()
    return Built(rec, seen, secrets)


def dev_env() -> Environment:
    return load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")


@pytest.fixture
def dev(pulumi_mocks_for: Callable[[str], "Recorder"], tmp_path: Path) -> Built:
    return build(pulumi_mocks_for("dev"), dev_env(), stack_settings("dev", {}), tmp_path)


@pytest.fixture
def prod(pulumi_mocks_for: Callable[[str], "Recorder"], tmp_path: Path) -> Built:
    env = load_environment(str(ROOT / "environments" / "prod.yaml"), stack="prod")
    settings = stack_settings("prod", {"nats-tenancy:natsUrl": PROD_URL}, mode=ServerMode.KUBERNETES)
    return build(pulumi_mocks_for("prod"), env, settings, tmp_path)


# -- dev (local server) -------------------------------------------------------------------------------

# environments/dev.yaml: 3 tenants (acme, globex, initech), one platform shard, one leaf node.
DEV_COUNTS = {
    DYN + "Operator": 1,
    DYN + "LocalServer": 1,
    DYN + "LocalExporter": 1,                   # monitoring.enabled
    DYN + "Nkey": 2 * 3 + 1,                    # account + signing key per tenant; one key per shard
    DYN + "Account": 3 + 1,
    DYN + "User": 3 * 4 + 1 * 2,                # service/reader/leaf/provisioning; consumer/provisioning
    DYN + "Stream": (3 + 2 + 1) + 1 + 2,        # stream classes + acme's dead letters + logs/events ingest
    DYN + "Consumer": (4 + 1 + 1) + 2,          # tenants' consumers + the two platform consumers
    DYN + "KvBucket": 3,
    DYN + "ObjectStore": 1,
    DYN + "LeafBundle": 1,
    DYN + "ClientFiles": 3,                     # per tenant: creds, natscli contexts, producer templates
    DYN + "DataGuard": 1,                       # refuses deleting stored data by surprise
    IDX + "Estate": 1,
    IDX + "DevServer": 1,
    IDX + "DevExporter": 1,
    IDX + "Tenant": 3,
    IDX + "TenantJetStream": 3,
    IDX + "Platform": 1,
    IDX + "PlatformJetStream": 1,
    IDX + "LeafNodeBundles": 1,
}


def test_dev_registers_every_object_of_the_environment_once(dev: Built) -> None:
    assert dict(dev.counts()) == DEV_COUNTS
    # one registration per URN: a real engine refuses a second resource with the same URN
    assert dev.rec.registration_count() == sum(DEV_COUNTS.values())
    assert {r.name for r in dev.regs(DYN + "Stream")} == {
        "ACME_BILLING_LIVE", "ACME_BILLING_REPLAY", "ACME_SHIPPING_LIVE", "ACME_DEAD_LETTERS",
        "GLOBEX_ORDERS_LIVE", "GLOBEX_ORDERS_REPLAY", "INITECH_REPORTS_LIVE",
        "platform-0-PLATFORM_EVENTS", "platform-0-PLATFORM_LOGS"}
    assert {r.name for r in dev.regs(DYN + "KvBucket")} == {"acme_carts", "globex_config", "initech_flags"}
    assert [r.name for r in dev.regs(DYN + "ObjectStore")] == ["acme_reports"]
    assert [r.name for r in dev.regs(DYN + "LeafBundle")] == ["leaf-acme-edge"]
    # local mode: nothing of Kubernetes
    assert not [r for r in dev.rec.registrations() if r.typ.startswith(("kubernetes:", "pulumi:providers:"))]


def _children(b: Built, parent: "Registration") -> set[tuple[str, str]]:
    return {(r.typ.rsplit(":", 1)[-1], r.name) for r in b.rec.registrations() if r.parent == parent.urn}


def test_dev_parents(dev: Built) -> None:
    estate = dev.rec.one(IDX + "Estate")
    assert estate.parent.endswith("::pulumi:pulumi:Stack::nats-tenancy-dev")
    assert _children(dev, estate) == {
        ("Operator", "operator"), ("DevServer", "dev-server"), ("DevExporter", "dev-metrics"),
        ("Tenant", "acme"), ("Tenant", "globex"),
        ("Tenant", "initech"), ("Platform", "platform"), ("LeafNodeBundles", "leafnodes"),
        ("DataGuard", "data-guard")}
    assert _children(dev, dev.rec.one(IDX + "DevServer")) == {("LocalServer", "dev-0")}
    assert _children(dev, dev.rec.one(IDX + "DevExporter")) == {("LocalExporter", "dev-exporter")}
    assert _children(dev, dev.rec.one(IDX + "LeafNodeBundles")) == {("LeafBundle", "leaf-acme-edge")} | {
        ("ClientFiles", f"client-files-{t}") for t in ("acme", "globex", "initech")}

    env = dev_env()
    for spec in env.tenants:
        tenant = dev.get(IDX + "Tenant", spec.id)
        t = spec.id
        assert _children(dev, tenant) == {
            ("Nkey", f"{t}-account-key"), ("Nkey", f"{t}-signing-key"), ("Account", f"{t}-account"),
            ("User", f"{t}-service"), ("User", f"{t}-reader"), ("User", f"{t}-leaf"), ("User", f"{t}-provisioning"),
            ("TenantJetStream", t)}
        js = dev.get(IDX + "TenantJetStream", t)
        assert js.parent == tenant.urn
        expected = {("Stream", s.name) for s in spec.streams}
        expected |= {("Stream", spec.dead_letter_stream)} if spec.dead_letter_stream else set()
        expected |= {("Consumer", c.durable) for c in spec.consumers}
        expected |= {("KvBucket", kv.bucket) for kv in spec.kv_buckets}
        expected |= {("ObjectStore", o.bucket) for o in spec.object_stores}
        assert _children(dev, js) == expected, t

    platform = dev.rec.one(IDX + "Platform")
    assert _children(dev, platform) == {
        ("Nkey", "platform-ingest-0-key"), ("Account", "platform-ingest-0"), ("User", "platform-consumer-0"),
        ("User", "platform-provisioning-0"), ("PlatformJetStream", "platform-0")}
    assert _children(dev, dev.get(IDX + "PlatformJetStream", "platform-0")) == {
        ("Stream", "platform-0-PLATFORM_EVENTS"), ("Stream", "platform-0-PLATFORM_LOGS"),
        ("Consumer", "platform-0-PLATFORM_EVENTS_EVENT_INDEXER"), ("Consumer", "platform-0-PLATFORM_LOGS_LOG_ARCHIVER")}
    # all under the default provider of their package: no explicit provider anywhere in local mode
    assert {r.provider for r in dev.rec.registrations()} == {""}


# The engine marks an output secret only if an input of the same name was secret, or if the
# registration lists it in additional_secret_outputs: every generated seed and every creds text must
# be covered one way or the other.
SECRET_OUTPUTS = {
    "Operator": {"operator_seed", "system_account_seed", "system_user_seed", "system_user_creds"},
    "Nkey": {"seed"},
    "Account": {"operator_seed", "system_creds"},
    "User": {"seed", "creds", "signing_seed", "operator_seed", "system_creds"},
    "Stream": {"creds"}, "Consumer": {"creds"}, "KvBucket": {"creds"}, "ObjectStore": {"creds"},
    "LocalServer": {"config_text"},
    "LocalExporter": {"platform_creds"},   # the platform consumers' creds (per-tenant lag); the rest is ports and paths
    "LeafBundle": set(),   # its creds is a secret input of the same name
    "ClientFiles": set(),  # likewise
    "DataGuard": {"system_creds"},
}
# Inputs that must reach the engine as secrets (inputs are stored in the state too).
SECRET_INPUTS = {
    "Operator": set(),     # operator_seed only when adopted: see the test with an operator seed
    "Nkey": set(),
    "Account": {"operator_seed", "system_creds"},
    "User": {"signing_seed", "operator_seed", "system_creds"},
    "Stream": {"creds"}, "Consumer": {"creds"}, "KvBucket": {"creds"}, "ObjectStore": {"creds"},
    "LocalServer": {"config_text"},
    "LocalExporter": {"platform_creds"},
    "LeafBundle": {"creds"},
    "ClientFiles": {"creds"},
    "DataGuard": {"system_creds"},
}
SECRET_LOOKING = ("seed", "creds", "config_text")


def test_dev_secret_outputs_are_declared(dev: Built) -> None:
    for r in dev.dynamic():
        kind = r.typ.rsplit(":", 1)[-1]
        assert set(r.additional_secret_outputs) == SECRET_OUTPUTS[kind], r.urn


def test_dev_secret_inputs_arrive_as_secrets(dev: Built) -> None:
    for r in dev.dynamic():
        kind = r.typ.rsplit(":", 1)[-1]
        secret = {k for k, v in r.inputs.items() if rpc.is_rpc_secret(v)}
        assert SECRET_INPUTS[kind] | {"__provider"} <= secret, (r.urn, sorted(secret))
        # whatever looks like a secret is either a secret input or a declared secret output
        for key, value in r.inputs.items():
            if key.endswith(SECRET_LOOKING):
                assert rpc.is_rpc_secret(value) or (value is None and key in r.additional_secret_outputs), (r.urn, key)


def _plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def test_dev_identity_wiring(dev: Built) -> None:
    """Each user is signed by its own account's key; everything pushes with the system user's creds."""
    owners = {  # account resource -> (its key resource, the key signing its users, its users)
        **{f"{t}-account": (f"{t}-account-key", f"{t}-signing-key",
                            [f"{t}-{r}" for r in ("service", "reader", "leaf", "provisioning")])
           for t in ("acme", "globex", "initech")},
        "platform-ingest-0": ("platform-ingest-0-key", "platform-ingest-0-key",
                              ["platform-consumer-0", "platform-provisioning-0"]),
    }
    for account_name, (key_name, signer_name, users) in owners.items():
        pub, seed = fake_key("A", key_name), fake_seed("A", signer_name)
        account = dev.get(DYN + "Account", account_name)
        assert account.inputs["public_key"] == pub
        if signer_name != key_name:  # a tenant: its account JWT lists the key its users are signed with
            assert account.inputs["claims"]["nats"]["signing_keys"] == [fake_key("A", signer_name)]
        assert _plain(account.inputs["system_creds"]) == fake_creds(SYS)
        assert _plain(account.inputs["operator_seed"]) == fake_seed("O", "operator")
        for user_name in users:
            user = dev.get(DYN + "User", user_name)
            assert user.inputs["account_public_key"] == pub
            assert _plain(user.inputs["signing_seed"]) == seed
            assert _plain(user.inputs["system_creds"]) == fake_creds(SYS)
            assert user.inputs["servers"] == ["nats://127.0.0.1:14222"]
    provisioning = fake_creds("acme-provisioning")   # the provisioning user's creds output
    for r in [r for r in dev.dynamic() if r.parent == dev.get(IDX + "TenantJetStream", "acme").urn]:
        assert _plain(r.inputs["creds"]) == provisioning, r.name
        assert r.inputs["server_url"] == "nats://127.0.0.1:14222"
    assert _plain(dev.rec.one(DYN + "LeafBundle").inputs["creds"]) == fake_creds("acme-leaf")


def test_dev_providers_are_pickled_by_reference(dev: Built) -> None:
    """A provider that carries state pickles its dict through a wrapper chain the SDK grows by one
    frame per resource (see the 3,000-resource test): ours must stay a bare reference to the class."""
    for r in dev.dynamic():
        blob = base64.b64decode(_plain(r.inputs["__provider"]))
        provider = dill.loads(blob)
        assert type(provider).__module__.startswith("components.providers."), r.urn   # importable, by reference
        assert vars(provider) == {}, (r.urn, sorted(vars(provider)))
        assert len(blob) < 200, (r.urn, len(blob))


def test_dev_dependencies(dev: Built) -> None:
    local_server = dev.rec.one(DYN + "LocalServer").urn
    tenant_accounts = []
    for t in ("acme", "globex", "initech"):
        account = dev.get(DYN + "Account", f"{t}-account")
        tenant_accounts.append(account.urn)
        assert local_server in account.dependencies      # nothing is pushed before the server runs
        assert dev.get(DYN + "Nkey", f"{t}-account-key").urn in account.dependencies
        for role in ("service", "reader", "leaf", "provisioning"):
            assert account.urn in dev.get(DYN + "User", f"{t}-{role}").dependencies, (t, role)
        provisioning = dev.get(DYN + "User", f"{t}-provisioning").urn
        for r in dev.dynamic():
            if r.parent == dev.get(IDX + "TenantJetStream", t).urn:
                assert r.property_dependencies["creds"] == [provisioning], r.name
    platform_account = dev.get(DYN + "Account", "platform-ingest-0")
    assert set(tenant_accounts) <= set(platform_account.dependencies)   # imports resolve at push time
    for role in ("consumer-0", "provisioning-0"):
        assert platform_account.urn in dev.get(DYN + "User", f"platform-{role}").dependencies

    streams = {r.inputs["name"]: r for r in dev.regs(DYN + "Stream")}
    consumers = dev.regs(DYN + "Consumer")
    assert consumers
    for c in consumers:
        assert streams[c.inputs["stream"]].urn in c.dependencies, c.name   # deleted before their stream
    assert streams["ACME_BILLING_LIVE"].urn in streams["ACME_BILLING_REPLAY"].dependencies  # sources it
    assert dev.get(DYN + "User", "acme-leaf").urn in dev.rec.one(DYN + "LeafBundle").dependencies
    # the exporter starts after the server and is stopped before it; nothing waits for the exporter
    exporter = dev.rec.one(DYN + "LocalExporter")
    assert local_server in exporter.dependencies
    assert all(exporter.urn not in r.dependencies for r in dev.rec.registrations())


def test_dev_exporter_reads_the_dev_server(dev: Built, tmp_path: Path) -> None:
    env = dev_env()
    server = dev.rec.one(DYN + "LocalServer").inputs
    exporter = dev.rec.one(DYN + "LocalExporter").inputs
    assert {k: exporter[k] for k in ("host", "monitor_port", "port", "data_dir", "project_dir")} == {
        "host": "127.0.0.1", "monitor_port": env.servers.monitor_port, "port": env.monitoring.port,
        "data_dir": server["data_dir"], "project_dir": str(tmp_path)}
    # per-tenant lag on the shared platform consumers: the consumer creds of each shard, by account name
    assert exporter["platform_creds"] == {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                          "value": {"platform-ingest-0": fake_creds("platform-consumer-0")}}  # a secret


def test_dev_stack_outputs(dev: Built, tmp_path: Path) -> None:
    out = dev.outputs
    assert set(out) == {"nats_url", "metrics_url", "tenants", "platform", "leafnodes", "system", "monitor_url",
                        "accounts"}
    assert out["monitor_url"] == "http://127.0.0.1:18222"
    # Every account by its JWT name; users under the names their JWTs carry.
    assert set(out["accounts"]) == {"acme", "globex", "initech", "platform-ingest-0"}
    assert out["accounts"]["acme"]["public_key"] == fake_key("A", "acme-account-key")
    assert out["accounts"]["acme"]["creds"] == {f"acme-{role}": fake_creds(f"acme-{role}")
                                                for role in ("service", "reader", "leaf")}
    assert out["accounts"]["platform-ingest-0"]["creds"] == {"platform-consumer-0": fake_creds("platform-consumer-0")}
    assert out["nats_url"] == "nats://127.0.0.1:14222"
    assert out["metrics_url"] == "http://127.0.0.1:17777/metrics"
    assert set(out["tenants"]) == {"acme", "globex", "initech"}
    acme = dict(out["tenants"]["acme"])
    templates = acme.pop("producer_templates")   # README: tenants.<id>.producer_templates
    assert templates and all(isinstance(v, str) and v for v in templates.values())
    assert not any(fake_seed("U", "acme-service") in v or "NKEY SEED" in v for v in templates.values())
    files = tmp_path / ".state" / "dev" / "tenants" / "acme"
    assert templates["otel-collector.yaml"] == str(files / "producers" / "otel-collector.yaml")
    assert acme.pop("contexts") == {u: str(files / "contexts" / f"{u}.json") for u in ("service", "reader")}
    assert acme == {
        "account_public_key": fake_key("A", "acme-account-key"),
        "subjects": {"logs": "acme.logs.>", "events": "acme.events.>", "otel": "acme.otel.>"},
        "streams": ["ACME_BILLING_LIVE", "ACME_BILLING_REPLAY", "ACME_SHIPPING_LIVE", "ACME_DEAD_LETTERS"],
        "consumers": ["ACME_BILLING_LIVE_INVOICER", "ACME_BILLING_LIVE_AUDIT_FEED", "ACME_BILLING_REPLAY_REBUILD",
                      "ACME_SHIPPING_LIVE_TRACKER"],
        "kv_buckets": ["acme_carts"],
        "object_stores": ["acme_reports"],
        "creds": {role: fake_creds(f"acme-{role}") for role in ("service", "reader", "leaf")},
    }
    assert out["tenants"]["globex"]["streams"] == ["GLOBEX_ORDERS_LIVE", "GLOBEX_ORDERS_REPLAY"]
    assert out["tenants"]["initech"]["account_public_key"] == fake_key("A", "initech-account-key")
    assert out["platform"] == {
        "accounts": [fake_key("A", "platform-ingest-0-key")],
        "shard_of": {"acme": 0, "globex": 0, "initech": 0},
        "creds": {"consumer": [fake_creds("platform-consumer-0")]},
    }
    leaf_dir = str(tmp_path / ".state" / "dev" / "leafnodes" / "acme-edge")
    assert out["leafnodes"] == {"acme-edge": {"directory": leaf_dir, "archive": leaf_dir + ".tar.gz"}}
    assert out["system"] == {"account_public_key": fake_key("A", SYS), "operator_public_key": fake_key("O", "operator"),
                             "creds": fake_creds(SYS)}
    # exactly the creds are secret: public keys, names and paths stay readable for other stacks
    assert dev.secret_paths == {f"tenants.{t}.creds.{role}" for t in ("acme", "globex", "initech")
                                for role in ("service", "reader", "leaf")} | {
        f"accounts.{t}.creds.{t}-{role}" for t in ("acme", "globex", "initech")
        for role in ("service", "reader", "leaf")} | {
        "platform.creds.consumer[0]", "accounts.platform-ingest-0.creds.platform-consumer-0", "system.creds"}


def test_adopted_operator_seed_is_a_secret_input(pulumi_mocks_for: Callable[[str], "Recorder"],
                                                 tmp_path: Path) -> None:
    seed = fake_seed("O", "from-nsc")
    settings = stack_settings("dev", {"nats-tenancy:operatorSeed": seed})
    b = build(pulumi_mocks_for("dev"), dev_env(), settings, tmp_path)
    op = b.rec.one(DYN + "Operator").inputs["operator_seed"]
    assert rpc.is_rpc_secret(op) and _plain(op) == seed


# -- prod (Kubernetes) --------------------------------------------------------------------------------

def test_prod_uses_the_cluster_and_no_local_server(prod: Built) -> None:
    counts = prod.counts()
    assert counts[IDX + "Cluster"] == 1
    assert counts[DYN + "LocalServer"] == 0 and counts[IDX + "DevServer"] == 0
    estate = prod.rec.one(IDX + "Estate")
    cluster = prod.rec.one(IDX + "Cluster")
    assert cluster.parent == estate.urn
    sts = prod.rec.one("kubernetes:apps/v1:StatefulSet")
    assert sts.parent == cluster.urn
    # 2 tenants, 2 shards
    assert {k: v for k, v in counts.items() if k.startswith(DYN)} == {
        DYN + "Operator": 1, DYN + "Nkey": 2 * 2 + 2, DYN + "Account": 2 + 2, DYN + "User": 2 * 4 + 2 * 2,
        DYN + "Stream": (3 + 1 + 2) + 2 * 3, DYN + "Consumer": (2 + 1) + 2 * 3,
        DYN + "KvBucket": 2, DYN + "ObjectStore": 1, DYN + "LeafBundle": 1, DYN + "ClientFiles": 2,
        DYN + "DataGuard": 1}
    for account in prod.regs(DYN + "Account"):
        assert account.inputs["servers"] == [PROD_URL]
        assert account.inputs["expect_servers"] == 3                  # every replica acknowledges a push
        assert sts.urn in account.dependencies, account.name           # after the cluster is applied
    assert prod.rec.registration_count() == len(prod.rec.registrations())
    assert prod.outputs["nats_url"] == PROD_URL
    # the exporters run in the pods (found through the nats-metrics Service): no local process, no metrics_url
    assert counts[DYN + "LocalExporter"] == 0 and counts[IDX + "DevExporter"] == 0
    assert "metrics_url" not in prod.outputs
    assert prod.outputs["platform"]["shard_of"] == {"acme": 0, "globex": 1}
    assert len(prod.outputs["platform"]["accounts"]) == len(prod.outputs["platform"]["creds"]["consumer"]) == 2
    assert prod.rec.one(DYN + "LeafBundle").inputs["hub_urls"] == ["tls://leaf.nats.example.com:7422"]


# -- scale -----------------------------------------------------------------------------------------------

SCALE_TENANTS = 126
SCALE_DOMAINS = ("orders", "billing", "audit", "stock", "crm")
SCALE_SHARDS = 4


def scale_yaml(tenants: int, domains: tuple[str, ...] = SCALE_DOMAINS, shards: int = SCALE_SHARDS) -> str:
    """Tenants shaped like the dev ones: per domain a live stream with a consumer and a replay stream."""
    lines = [
        "version: 1",
        "servers: {mode: local, host: 127.0.0.1, client_port: 24222, monitor_port: 28222, leafnode_port: 27422}",
        "jetstream: {max_memory: 8GiB, max_file: 100GiB}",  # holds every tenant's reservation
        "tiers:",
        "  small: {max_streams: 20, max_consumers: 20, max_bytes: 512MiB, max_memory: 32MiB,",
        "          max_connections: 50, retention_days: 7, max_ack_pending: 500}",
        "tenants:",
    ]
    for i in range(tenants):
        lines += [f"  - id: t{i:04d}", "    tier: small", "    domains:"]
        for d in domains:
            lines += [f"      {d}:", "        live: {consumers: [{name: worker}]}", "        replay: {}"]
        lines += ["    kv_buckets: [{name: cfg}, {name: flags}]", "    object_stores: [{name: files}]"]
    lines += [
        "platform:",
        f"  shards: {shards}",
        "  consumers: [{name: log-archiver, class: logs}]",
        "leafnodes: [{customer: edge, tenant: t0000}]",
    ]
    return "\n".join(lines) + "\n"


def test_three_thousand_dynamic_resources(pulumi_mocks_for: Callable[[str], "Recorder"], tmp_path: Path) -> None:
    """The SDK leaves one more sorting wrapper around the pickler per dynamic resource: providers that
    carry a dict hit RecursionError after about a thousand. Stateless providers must not."""
    env = load_environment_text(scale_yaml(SCALE_TENANTS), "environments/scale.yaml", stack="dev")
    started = time.monotonic()
    b = build(pulumi_mocks_for("dev"), env, stack_settings("dev", {}), tmp_path)
    elapsed = time.monotonic() - started
    dynamic = b.dynamic()
    # keys, account, users, streams + consumers, buckets, client files
    per_tenant = 2 + 1 + 4 + 3 * len(SCALE_DOMAINS) + 2 + 1 + 1
    per_shard = 1 + 1 + 2 + 1 + 1             # key, account, users, ingest stream, consumer
    singletons = 1 + 1 + 1 + 1                # operator, server, bundle, data guard
    assert len(dynamic) == SCALE_TENANTS * per_tenant + SCALE_SHARDS * per_shard + singletons
    assert len(dynamic) >= 3000
    assert b.rec.registration_count() == len(b.rec.registrations())
    assert len(b.outputs["tenants"]) == SCALE_TENANTS
    assert set(b.outputs["platform"]["shard_of"].values()) == set(range(SCALE_SHARDS))
    print(f"\n{len(dynamic)} dynamic resources ({len(b.rec.registrations())} in all) in {elapsed:.1f}s")


# -- bad input ------------------------------------------------------------------------------------------

BROKEN = ("ttl: 24h", "ttl: forever"), ("tier: standard", "tier: gold")


def _broken_env(tmp_path: Path) -> Path:
    text = (ROOT / "environments" / "dev.yaml").read_text()
    for old, new in BROKEN:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


def _set_config(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"nats-tenancy:{k}": v for k, v in values.items()}))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)


def _run_program(rec: "Recorder") -> None:
    """The real entry point, as the language host runs it."""
    rec.mocks.fakes.update(FAKES)

    @pulumi.runtime.test
    def program() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    program()


def test_load_stack_names_file_field_and_fix(pulumi_mocks_for: Callable[[str], "Recorder"], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from components.stack_config import load_stack

    rec = pulumi_mocks_for("dev")
    path = _broken_env(tmp_path)
    _set_config(monkeypatch, environment=str(path))
    with pytest.raises(pulumi.RunError) as info:
        load_stack(str(ROOT))
    message = str(info.value)
    assert f"{path}: tenants[0].tier: unknown tier 'gold' (fix: use one of the tiers declared under 'tiers'" in message
    assert f"{path}: tenants[0].kv_buckets[0].ttl: 'forever' is not a duration (fix: " in message
    assert rec.registration_count() == 0

    missing = tmp_path / "nowhere.yaml"
    _set_config(monkeypatch, environment=str(missing))
    with pytest.raises(pulumi.RunError) as info:
        load_stack(str(ROOT))
    assert str(missing) in str(info.value) and "fix: create" in str(info.value)


def test_program_with_a_broken_environment_registers_nothing(pulumi_mocks_for: Callable[[str], "Recorder"],
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = pulumi_mocks_for("dev")
    _set_config(monkeypatch, environment=str(_broken_env(tmp_path)))
    with pytest.raises(pulumi.RunError, match=r"broken\.yaml: tenants\[0\]\.tier"):
        _run_program(rec)
    assert rec.registration_count() == 0


def test_program_with_the_dev_environment_registers_the_estate(pulumi_mocks_for: Callable[[str], "Recorder"],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Same program, good file: the control for the test above."""
    rec = pulumi_mocks_for("dev")
    _set_config(monkeypatch, environment="environments/dev.yaml")
    _run_program(rec)
    assert dict(Counter(r.typ for r in rec.registrations())) == DEV_COUNTS


def test_extra_users_and_rotation_generations_reach_the_resources(pulumi_mocks_for: Callable[[str], "Recorder"],
                                                                  tmp_path: Path) -> None:
    """``users`` of a tenant become User resources with their role's permissions and creds outputs;
    ``credentials`` numbers reach the signing key and the users, and the grace period both."""
    text = (ROOT / "environments" / "dev.yaml").read_text()
    dev_credentials = "      grace_period: 1h\n      signing_key: 1\n      users: {service: 1}\n"
    assert dev_credentials in text
    text = text.replace(dev_credentials, "      grace_period: 90m\n      signing_key: 3\n      users: {etl: 2}\n", 1)
    text = text.replace("  - id: acme\n    name: ACME Corporation\n",
                        "  - id: acme\n    name: ACME Corporation\n"
                        "    users: [{name: etl, role: service}, {name: ops, role: backup}]\n", 1)
    assert "name: etl" in text
    env = load_environment_text(text, "environments/dev.yaml", stack="dev")
    b = build(pulumi_mocks_for("dev"), env, stack_settings("dev", {}), tmp_path)
    etl, ops = b.get(DYN + "User", "acme-etl"), b.get(DYN + "User", "acme-ops")
    assert etl.inputs["generation"] == 2 and ops.inputs["generation"] == 1
    assert etl.inputs["grace_period_s"] == 90 * 60
    assert "acme.>" in etl.inputs["claims"]["nats"]["pub"]["allow"]
    assert ops.inputs["claims"]["nats"]["pub"]["allow"] == list(JS_BACKUP)
    assert etl.inputs["claims"]["nats"]["issuer_account"] == fake_key("A", "acme-account-key")
    assert b.get(DYN + "Nkey", "acme-signing-key").inputs["generation"] == 3
    assert b.get(DYN + "Account", "acme-account").inputs["grace_period_s"] == 90 * 60
    assert b.get(DYN + "User", "globex-service").inputs["grace_period_s"] == 24 * 3600
    creds = b.outputs["tenants"]["acme"]["creds"]
    assert set(creds) == {"service", "reader", "leaf", "etl", "ops"}
    assert creds["etl"] == fake_creds("acme-etl")
