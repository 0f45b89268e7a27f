"""Checks across an environment file: YAML anchors and merge keys, one report per broken tier,
every listener on its own port, and an account's objects against its storage quotas."""
from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from components.model.environment.checks import StorageClaim, check_account_storage
from components.model.environment.load import load_environment_text
from components.model.environment.schema import Reader, parse_yaml
from components.model.errors import Problems, SpecError

ROOT = pathlib.Path(__file__).resolve().parents[3]
LABEL = "environments/test.yaml"
TIER = {"max_streams": 20, "max_consumers": 50, "max_bytes": "1GiB", "max_memory": "64MiB",
        "max_connections": 100, "retention_days": 90, "max_ack_pending": 1000}


def _doc() -> dict[str, Any]:
    return {
        "version": 1,
        "servers": {"mode": "local", "client_port": 14222, "monitor_port": 18222, "leafnode_port": 17422},
        "tiers": {"standard": dict(TIER)},
        "tenants": [{"id": "acme", "tier": "standard", "domains": {"billing": {}}}],
    }


def _problems(doc: Any) -> list[Any]:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    with pytest.raises(SpecError) as err:
        load_environment_text(text, LABEL, "dev")
    return list(err.value.problems)


# -- YAML ---------------------------------------------------------------------------------------
ANCHORED = """
version: 1
x-tier: &tier
  max_streams: 20
  max_consumers: 50
  max_bytes: 1GiB
  max_memory: 64MiB
  max_connections: 100
  retention_days: 90
  max_ack_pending: 1000
servers: {mode: local, client_port: 14222, monitor_port: 18222, leafnode_port: 17422}
tiers:
  standard: *tier
  gold:
    <<: *tier
    max_bytes: 2GiB
tenants:
  - id: acme
    tier: gold
    domains:
      billing: &domain {live: {max_age: 240h}}
  - {id: globex, tier: standard, domains: {orders: *domain}}
"""
PLAIN = """
version: 1
servers: {mode: local, client_port: 14222, monitor_port: 18222, leafnode_port: 17422}
tiers:
  standard: {max_streams: 20, max_consumers: 50, max_bytes: 1GiB, max_memory: 64MiB, max_connections: 100,
             retention_days: 90, max_ack_pending: 1000}
  gold: {max_streams: 20, max_consumers: 50, max_bytes: 2GiB, max_memory: 64MiB, max_connections: 100,
         retention_days: 90, max_ack_pending: 1000}
tenants:
  - {id: acme, tier: gold, domains: {billing: {live: {max_age: 240h}}}}
  - {id: globex, tier: standard, domains: {orders: {live: {max_age: 240h}}}}
"""


def test_anchors_and_merge_keys_load_like_the_written_out_file():
    anchored = load_environment_text(ANCHORED, LABEL, "dev")
    assert anchored == load_environment_text(PLAIN, LABEL, "dev")
    gold = next(t for t in anchored.tiers if t.name == "gold")
    assert gold.quotas.max_bytes == 2 * 1024**3 and gold.quotas.max_streams == 20


def test_merge_of_a_list_of_anchors_and_local_override():
    p = Problems(LABEL)
    doc = parse_yaml("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 9\n", p)
    assert p.items == [] and doc["c"] == {"x": 9, "y": 1, "z": 2}


@pytest.mark.parametrize("text,reason", [
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("b: &b {k: 1}\nx:\n  <<: *b\n  <<: *b\n", "duplicate key '<<'"),
    ("x:\n  <<: *nowhere\n", "nowhere"),
])
def test_duplicates_and_unknown_aliases_are_still_refused(text, reason):
    p = Problems(LABEL)
    assert parse_yaml(text, p) is None
    assert len(p.items) == 1 and reason in p.items[0].reason


def test_extension_keys_hold_anchors_only_at_the_top_level():
    p = Problems(LABEL)
    doc = parse_yaml("x-d: &d {k: 1}\nkeep:\n  x-inner: *d\n", p)
    assert doc == {"keep": {"x-inner": {"k": 1}}}
    problems = _problems(ANCHORED.replace("gold:\n    <<: *tier", "gold:\n    x-note: 1\n    <<: *tier"))
    assert [p.field for p in problems] == ["tiers.gold.x-note"]


# -- tiers --------------------------------------------------------------------------------------
def test_an_error_inside_a_tier_is_not_reported_again_as_unknown_tier():
    doc = _doc()
    doc["tiers"]["standard"]["max_bytes"] = "lots"
    doc["tenants"][0]["domains"]["billing"] = {"live": {"max_age": "forever"}}
    problems = _problems(doc)
    fields = [p.field for p in problems]
    assert "tiers.standard.max_bytes" in fields
    assert not any("unknown tier" in p.reason for p in problems), [str(p) for p in problems]
    assert "tenants[0].domains.billing.live.max_age" in fields  # the tenant is still checked
    assert len(problems) == 2, [str(p) for p in problems]


def test_a_tier_missing_a_quota_is_reported_once():
    doc = _doc()
    del doc["tiers"]["standard"]["max_streams"]
    problems = _problems(doc)
    assert [p.field for p in problems] == ["tiers.standard.max_streams"]


def test_an_undeclared_tier_is_still_unknown():
    doc = _doc()
    doc["tenants"][0]["tier"] = "standrad"
    (problem,) = _problems(doc)
    assert problem.field == "tenants[0].tier" and "unknown tier" in problem.reason and "standard" in problem.fix


# -- ports --------------------------------------------------------------------------------------
@pytest.mark.parametrize("servers,monitoring,field", [
    ({"monitor_port": 14222}, None, "servers.monitor_port"),
    ({"leafnode_port": 14222}, None, "servers.leafnode_port"),
    ({"leafnode_port": 18222}, None, "servers.leafnode_port"),
    ({"cluster_port": 17422}, None, "servers.cluster_port"),
    ({}, {"enabled": True, "port": 18222}, "monitoring.port"),
    ({}, {"enabled": True, "port": 17422}, "monitoring.port"),
])
def test_equal_ports_are_refused(servers, monitoring, field):
    doc = _doc()
    doc["servers"].update(servers)
    if monitoring:
        doc["monitoring"] = monitoring
    problems = [p for p in _problems(doc) if "already used" in p.reason]
    assert [p.field for p in problems] == [field]


def test_local_cluster_members_do_not_share_ports():
    doc = _doc()
    doc["servers"].update({"replicas": 3, "cluster_port": 16222, "client_port": 14222, "monitor_port": 14224})
    problems = [p for p in _problems(doc) if "already used" in p.reason]
    # member 2's client port (14222 + 2) is member 0's monitor port
    assert [(p.field, "servers.monitor_port" in p.reason) for p in problems] == [("servers.client_port", True)]


def test_distinct_ports_pass():
    doc = _doc()
    doc["servers"]["cluster_port"] = 16222
    doc["monitoring"] = {"enabled": True, "port": 17777}
    env = load_environment_text(yaml.safe_dump(doc), LABEL, "dev")
    assert env.servers.cluster_port == 16222 and env.monitoring.port == 17777


# -- account storage --------------------------------------------------------------------------
MiB = 1024**2


def _check(claims: list[StorageClaim], max_bytes: int = 1024 * MiB, max_memory: int = 64 * MiB) -> list[Any]:
    r = Reader(Problems(LABEL))
    check_account_storage(r, "acme", claims, max_bytes, max_memory, "tenants[0].quotas")
    return list(r.problems.items)


def _claim(name: str, max_bytes: int, replicas: int = 1, storage: str = "file") -> StorageClaim:
    return StorageClaim(name, storage, max_bytes, replicas, f"tenants[0].streams.{name}")


def test_objects_that_fit_together_pass():
    assert _check([_claim("A", 512 * MiB), _claim("B", 256 * MiB), _claim("C", 256 * MiB)]) == []  # exactly full
    assert _check([_claim("A", 512 * MiB, replicas=2)]) == []


def test_each_fits_alone_but_not_together():
    # xorb (seed 002): 4 x 512MB + 4 x 1GB stream classes in a 512MB account
    claims = [_claim(f"L{i}", 512 * 10**6) for i in range(4)] + [_claim(f"R{i}", 10**9) for i in range(4)]
    (problem,) = _check(claims, max_bytes=512 * MiB)
    assert problem.field == "tenants[0].quotas.max_bytes"
    assert "reserve 6048000000 bytes" in problem.reason and "10047" in problem.reason
    assert "L1 (tenants[0].streams.L1) is the first that does not fit" in problem.reason
    assert "at least 6048000000" in problem.fix


def test_replicas_multiply_the_reservation():
    (problem,) = _check([_claim("A", 400 * MiB, replicas=3)])
    assert "A 419430400 × 3" in problem.reason


def test_unlimited_objects_need_one_byte_left():
    assert _check([_claim("U", -1)]) == []
    (problem,) = _check([_claim("A", 1024 * MiB), _claim("U", -1)])
    assert "1 unlimited" in problem.reason and f"at least {1024 * MiB + 1}" in problem.fix


def test_memory_counts_against_max_memory_only():
    claims = [_claim("M", 48 * MiB, storage="memory"), _claim("N", 32 * MiB, storage="memory"), _claim("F", 900 * MiB)]
    (problem,) = _check(claims)
    assert problem.field == "tenants[0].quotas.max_memory" and "10028" in problem.reason


def test_unlimited_quota_is_not_checked():
    assert _check([_claim("A", 10**15)], max_bytes=-1) == []
