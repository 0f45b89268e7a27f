"""Table of broken environment files: each must name the file, the exact field path, and a fix."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest
import yaml

from components.model.environment.load import MonitoringSpec, load_environment_text
from components.model.errors import SpecError

LABEL = "environments/test.yaml"

TIER = {"max_streams": 20, "max_consumers": 50, "max_bytes": "1GiB", "max_memory": "64MiB",
        "max_connections": 100, "retention_days": 90, "max_ack_pending": 1000}


def base() -> dict[str, Any]:
    return {
        "version": 1,
        "servers": {"mode": "local", "client_port": 14222, "monitor_port": 18222, "leafnode_port": 17422},
        "tiers": {"standard": dict(TIER)},
        "tenants": [
            {"id": "acme", "tier": "standard",
             "domains": {"billing": {"live": {"consumers": [{"name": "worker"}]}, "replay": {}}},
             "kv_buckets": [{"name": "carts"}]},
            {"id": "globex", "tier": "standard", "domains": {"orders": {}}},
            {"id": "initech", "tier": "standard",
             "domains": {"billing": {"live": {"max_age": "240h"}}}},
        ],
        "platform": {"shards": 1, "consumers": [{"name": "archiver", "class": "logs", "filter": "*.logs.>"}]},
        "leafnodes": [{"customer": "acme-edge", "tenant": "acme"}],
    }


def kubernetes(doc: dict[str, Any]) -> None:
    doc["servers"] = {"mode": "kubernetes", "namespace": "nats", "replicas": 3, "image": "nats:2.11-alpine"}


@dataclass(frozen=True)
class Case:
    id: str
    field: str
    reason: str                                   # a substring of the reason
    change: Optional[Callable[[dict[str, Any]], None]] = None
    text: Optional[str] = None                    # raw YAML instead of a change to base()
    label: str = LABEL


def setter(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return apply


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        for c in changes:
            c(doc)
    return apply


def drop(*path: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return apply


ACME_LIVE = ("tenants", 0, "domains", "billing", "live")
T0L = "tenants[0].domains.billing.live"

CASES = [
    Case("version-missing", "version", "missing", drop("version")),
    Case("version-unsupported", "version", "unsupported version 2", setter("version", value=2)),
    Case("id-uppercase", "tenants[0].id", "'Acme' is not valid", setter("tenants", 0, "id", value="Acme")),
    Case("id-wildcard", "tenants[0].id", "'acme.*' is not valid", setter("tenants", 0, "id", value="acme.*")),
    Case("id-gt", "tenants[1].id", "'globex>' is not valid", setter("tenants", 1, "id", value="globex>")),
    Case("id-dot", "tenants[2].id", "'ini.tech' is not valid", setter("tenants", 2, "id", value="ini.tech")),
    Case("id-underscore", "tenants[2].id", "'ini_tech' is not valid", setter("tenants", 2, "id", value="ini_tech")),
    Case("id-duplicate", "tenants[1].id", "duplicate tenant id 'acme'", setter("tenants", 1, "id", value="acme")),
    Case("unknown-top-key", "tenant", "did you mean 'tenants'", setter("tenant", value=[])),
    Case("unknown-servers-key", "servers.clinet_port", "did you mean 'client_port'",
         setter("servers", "clinet_port", value=1)),
    Case("unknown-class-key", f"{T0L}.max_agee", "did you mean 'max_age'", setter(*ACME_LIVE, "max_agee", value="1h")),
    Case("unknown-consumer-key", f"{T0L}.consumers[0].filtr", "did you mean 'filter'",
         setter(*ACME_LIVE, "consumers", 0, "filtr", value="events.billing.>")),
    Case("unknown-domain-key", "tenants[0].domains.billing.archive", "allowed keys: live, replay",
         setter("tenants", 0, "domains", "billing", "archive", value={})),
    Case("unknown-kv-key", "tenants[0].kv_buckets[0].histroy", "did you mean 'history'",
         setter("tenants", 0, "kv_buckets", 0, "histroy", value=3)),
    Case("port-not-int", "servers.client_port", "expected a whole number, got 'abc'",
         setter("servers", "client_port", value="abc")),
    Case("tenants-not-list", "tenants", "expected a list", setter("tenants", value={"acme": {}})),
    Case("bool-as-string", f"{T0L}.deny_delete", "expected true or false, got 'yes'",
         setter(*ACME_LIVE, "deny_delete", value="yes")),
    Case("bad-size", "tiers.standard.max_bytes", "'1GX' is not a size",
         setter("tiers", "standard", "max_bytes", value="1GX")),
    Case("bad-duration", f"{T0L}.max_age", "'-1h' is not a duration", setter(*ACME_LIVE, "max_age", value="-1h")),
    Case("zero-duration", f"{T0L}.consumers[0].ack_wait", "must be greater than zero",
         setter(*ACME_LIVE, "consumers", 0, "ack_wait", value="0s")),
    Case("negative-quota", "tiers.standard.max_streams", "-1 is out of range",
         setter("tiers", "standard", "max_streams", value=-1)),
    Case("zero-size", "tenants[0].kv_buckets[0].max_bytes", "must be greater than zero",
         setter("tenants", 0, "kv_buckets", 0, "max_bytes", value=0)),
    Case("unknown-tier", "tenants[1].tier", "unknown tier 'gold'", setter("tenants", 1, "tier", value="gold")),
    Case("tier-typo", "tenants[1].tier", "did you mean 'standard'", setter("tenants", 1, "tier", value="standrad")),
    Case("tier-incomplete", "tiers.standard.max_ack_pending", "missing", drop("tiers", "standard", "max_ack_pending")),
    Case("history-65", "tenants[0].kv_buckets[0].history", "65 is out of range",
         setter("tenants", 0, "kv_buckets", 0, "history", value=65)),
    Case("leaf-unknown-tenant", "leafnodes[0].tenant", "unknown tenant 'umbrella'",
         setter("leafnodes", 0, "tenant", value="umbrella")),
    Case("leaf-typo-tenant", "leafnodes[0].tenant", "did you mean 'acme'",
         setter("leafnodes", 0, "tenant", value="acmee")),
    Case("unknown-key-typo", "servers.clinet", "did you mean 'client_port'", setter("servers", "clinet", value=1)),
    Case("leaf-bad-url", "leafnodes[0].hub_url", "not a leaf-node URL",
         setter("leafnodes", 0, "hub_url", value="http://hub:7422")),
    Case("overlapping-streams", "tenants[0].domains.all.live.subjects", "overlaps 'acme.events.billing.>'",
         setter("tenants", 0, "domains", "all", value={"live": {"subjects": [">"]}})),
    Case("stream-name-collision", "tenants[3].domains.billing.live", "collides",
         both(setter("tenants", 0, "domains", "corp-billing", value={}),
              lambda d: d["tenants"].append({"id": "acme-corp", "tier": "standard", "domains": {"billing": {}}}))),
    Case("duplicate-consumer", f"{T0L}.consumers[1].name", "duplicate consumer 'worker'",
         setter(*ACME_LIVE, "consumers", value=[{"name": "worker"}, {"name": "worker", "kind": "push"}])),
    Case("duplicate-bucket", "tenants[0].kv_buckets[1].name", "duplicate KV bucket 'carts'",
         setter("tenants", 0, "kv_buckets", value=[{"name": "carts"}, {"name": "carts"}])),
    Case("filter-outside-stream", f"{T0L}.consumers[0].filter", "outside the stream's subjects",
         setter(*ACME_LIVE, "consumers", 0, "filter", value="events.shipping.>")),
    Case("rate-limit-on-pull", f"{T0L}.consumers[0].rate_limit", "pull consumer",
         setter(*ACME_LIVE, "consumers", 0, "rate_limit", value=1000)),
    Case("dead-letter-unlimited", f"{T0L}.consumers[0].max_deliver", "-1 is out of range",
         both(setter(*ACME_LIVE, "consumers", 0, "dead_letter", value=True),
              setter(*ACME_LIVE, "consumers", 0, "max_deliver", value=-1))),
    Case("replicas-above-servers", f"{T0L}.replicas", "the servers run 1", setter(*ACME_LIVE, "replicas", value=3)),
    Case("max-age-over-retention", "tenants[2].domains.billing.live.max_age", "retention_days (5 days)",
         setter("tenants", 2, "quotas", value={"retention_days": 5})),
    Case("tls-12-kubernetes", "tls.min_version", "below 1.3",
         both(kubernetes, setter("tls", value={"min_version": "1.2", "secret_name": "nats-tls"}))),
    Case("tls-12-prod-stack", "tls.min_version", "below 1.3",
         setter("tls", value={"min_version": "1.2", "cert_file": "c.pem", "key_file": "k.pem"}),
         label="environments/prod.yaml"),
    Case("tls-local-missing-cert", "tls.cert_file", "missing", setter("tls", value={"key_file": "k.pem"})),
    Case("host-not-loopback", "servers.host", "'0.0.0.0' is not a loopback address",
         setter("servers", "host", value="0.0.0.0")),
    Case("port-collision", "servers.monitor_port", "already used by servers.client_port",
         setter("servers", "monitor_port", value=14222)),
    Case("kubernetes-key-in-local", "servers.namespace", "does not apply to mode local",
         setter("servers", "namespace", value="nats")),
    Case("bad-mode", "servers.mode", "'docker' not in local|kubernetes", setter("servers", "mode", value="docker")),
    Case("kubernetes-replicas-2", "servers.replicas", "2 not in 1|3|5",
         both(kubernetes, setter("servers", "replicas", value=2))),
    Case("exporter-image-missing-kubernetes", "monitoring.exporter_image", "missing: with monitoring enabled",
         both(kubernetes, setter("monitoring", value={"enabled": True}))),
    Case("exporter-image-bad", "monitoring.exporter_image", "'my exporter' is not valid",
         both(kubernetes, setter("monitoring", value={"enabled": True, "exporter_image": "my exporter"}))),
    Case("exporter-image-in-local", "monitoring.exporter_image", "does not apply to mode local",
         setter("monitoring", value={"enabled": True, "exporter_image": "exporter:1"})),
    Case("monitoring-port-collision", "monitoring.port", "already used by servers.monitor_port",
         setter("monitoring", value={"enabled": True, "port": 18222})),
    Case("monitoring-enabled-not-bool", "monitoring.enabled", "expected true or false, got 'on'",
         setter("monitoring", value={"enabled": "on"})),
    Case("bad-prefix", "subject_prefix", "'a.b' is not valid", setter("subject_prefix", value="a.b")),
    Case("platform-filter-outside-class", "platform.consumers[0].filter", "not a subject under *.logs.>",
         setter("platform", "consumers", 0, "filter", value="*.events.>")),
    Case("too-many-streams", "tenants[0].quotas.max_streams", "needs 3 streams",
         setter("tenants", 0, "quotas", value={"max_streams": 2})),
    Case("quota-above-server", "tenants[0].quotas.max_bytes", "more than the servers' jetstream.max_file",
         both(setter("jetstream", value={"max_file": "1GiB"}),
              setter("tenants", 0, "quotas", value={"max_bytes": "2GiB"}))),
    # each tenant fits, but the server reserves every account's quota: 3 x 64MiB > 128MiB
    Case("quotas-sum-above-server", "jetstream.max_memory", "add up to",
         setter("jetstream", value={"max_memory": "128MiB", "max_file": "10GiB"})),
    Case("duplicate-yaml-key", "line 3, column 1", "duplicate key 'version'",
         text="version: 1\nservers: {mode: local}\nversion: 1\n"),
    Case("credentials-unknown-user", "tenants[0].credentials.users.etl", "no user 'etl'",
         setter("tenants", 0, "credentials", value={"users": {"etl": 2}})),
    Case("credentials-generation-zero", "tenants[0].credentials.users.service", "out of range",
         setter("tenants", 0, "credentials", value={"users": {"service": 0}})),
    Case("credentials-bad-grace", "tenants[0].credentials.grace_period", "not a duration",
         setter("tenants", 0, "credentials", value={"grace_period": "a while"})),
    Case("credentials-signing-key-text", "tenants[0].credentials.signing_key", "expected a whole number",
         setter("tenants", 0, "credentials", value={"signing_key": "2"})),
    Case("credentials-users-list", "tenants[0].credentials.users", "must be a mapping",
         setter("tenants", 0, "credentials", value={"users": ["service"]})),
    Case("credentials-unknown-key", "tenants[0].credentials.rotate", "unknown",
         setter("tenants", 0, "credentials", value={"rotate": True})),
    Case("bad-yaml", "line 2, column 10", "not valid YAML", text="version: 1\n  servers: [\n"),
    Case("not-a-mapping", "", "expected a mapping", text="- just\n- a list\n"),
]


def render(case: Case) -> str:
    if case.text is not None:
        return case.text
    doc = copy.deepcopy(base())
    assert case.change is not None
    case.change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def test_base_is_valid() -> None:
    env = load_environment_text(yaml.safe_dump(base(), sort_keys=False), LABEL)
    assert [t.id for t in env.tenants] == ["acme", "globex", "initech"]


def test_kubernetes_base_is_valid() -> None:
    doc = base()
    kubernetes(doc)
    doc["tls"] = {"min_version": "1.3", "secret_name": "nats-tls"}
    env = load_environment_text(yaml.safe_dump(doc), LABEL)
    assert env.servers.replicas == 3 and env.tls is not None


def test_missing_exporter_image_names_file_field_and_fix() -> None:
    doc = base()
    kubernetes(doc)
    doc["tls"] = {"min_version": "1.3", "secret_name": "nats-tls"}
    doc["monitoring"] = {"enabled": True, "port": 7777}
    with pytest.raises(SpecError) as err:
        load_environment_text(yaml.safe_dump(doc), "environments/prod.yaml")
    assert str(err.value) == (
        "environments/prod.yaml: monitoring.exporter_image: missing: with monitoring enabled, kubernetes mode "
        "runs the exporter from a container image (fix: build deploy/exporter/Dockerfile, push it to a registry "
        "the cluster pulls from, and set exporter_image: <registry>/nats-tenancy-exporter:<tag>; or set "
        "enabled: false)")


def test_exporter_image_is_needed_only_when_it_is_used() -> None:
    doc = base()
    kubernetes(doc)
    doc["tls"] = {"min_version": "1.3", "secret_name": "nats-tls"}
    doc["monitoring"] = {"enabled": False}
    assert load_environment_text(yaml.safe_dump(doc), LABEL).monitoring.exporter_image is None
    pinned = "registry.example.com/exporter@sha256:" + "a" * 64
    doc["monitoring"] = {"enabled": True, "exporter_image": pinned}
    env = load_environment_text(yaml.safe_dump(doc), LABEL)
    assert env.monitoring.enabled and env.monitoring.exporter_image == pinned
    local = base()
    local["monitoring"] = {"enabled": True, "port": 17777}
    assert load_environment_text(yaml.safe_dump(local), LABEL).monitoring == MonitoringSpec(True, 17777, None)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_environment(case: Case) -> None:
    with pytest.raises(SpecError) as err:
        load_environment_text(render(case), case.label)
    problems = err.value.problems
    matching = [p for p in problems if p.field == case.field]
    assert matching, f"no problem at {case.field!r}; got:\n{err.value}"
    p = next((p for p in matching if case.reason in str(p)), None)
    assert p is not None, f"no reason containing {case.reason!r} at {case.field}; got:\n{err.value}"
    assert p.file == case.label
    assert p.fix, f"no fix suggested: {p}"
    line = str(p)
    where = f"{case.label}: {case.field}: " if case.field else f"{case.label}: "
    assert line.startswith(where) and line.endswith(")") and "(fix: " in line
    assert str(p) in str(err.value).splitlines()
    for other in problems:     # every problem, not only the expected one, suggests a fix
        assert other.fix, f"no fix suggested: {other}"


def test_message_format_matches_the_documented_example() -> None:
    doc = base()
    doc["tenants"][2]["domains"]["billing"]["live"]["max_age"] = "-1h"
    with pytest.raises(SpecError) as err:
        load_environment_text(yaml.safe_dump(doc), "environments/prod.yaml")
    assert str(err.value) == ("environments/prod.yaml: tenants[2].domains.billing.live.max_age: '-1h' is not a "
                              "duration (fix: use a positive duration like 720h, 30m, 90s or 1h30m)")


def test_all_problems_are_reported_at_once() -> None:
    doc = base()
    doc["tenants"][0]["id"] = "Bad"
    doc["tenants"][1]["tier"] = "gold"
    doc["tenants"][0]["kv_buckets"][0]["history"] = 100
    doc["servers"]["host"] = "10.0.0.1"
    doc["leafnodes"][0]["tenant"] = "nobody"
    with pytest.raises(SpecError) as err:
        load_environment_text(yaml.safe_dump(doc), LABEL)
    fields = {p.field for p in err.value.problems}
    assert {"tenants[0].id", "tenants[1].tier", "tenants[0].kv_buckets[0].history", "servers.host",
            "leafnodes[0].tenant"} <= fields
    assert len(str(err.value).splitlines()) == len(err.value.problems)


def test_unknown_tenant_does_not_hide_leaf_of_a_broken_tenant() -> None:
    # tenant 0 has a bad tier; its leaf node must not also be reported as naming an unknown tenant
    doc = base()
    doc["tenants"][0]["tier"] = "gold"
    with pytest.raises(SpecError) as err:
        load_environment_text(yaml.safe_dump(doc), LABEL)
    assert [p.field for p in err.value.problems] == ["tenants[0].tier"]
