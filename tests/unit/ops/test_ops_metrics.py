"""Pure mapping from monitoring JSON (captured from nats-server 2.15.1) to the metric contract."""
from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest

from components.model import ops_metrics as om

CAPTURE = os.path.join(os.path.dirname(__file__), "monitoring_capture.json")


@pytest.fixture()
def cap() -> dict[str, Any]:
    with open(CAPTURE, encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


def _samples(cap: dict[str, Any], **kw: Any) -> list[om.Sample]:
    return om.samples(cap["jsz"], cap["accstatz"], cap["details"], cap["system_account"], **kw)


def _one(samples: list[om.Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.label(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_consumer_lag_ack_pending_and_redeliveries_of_acme_only(cap: dict[str, Any]) -> None:
    s = _samples(cap)
    con = dict(tenant="acme", stream="ACME_LOGS", consumer="WORKER", account=cap["acme"])
    assert _one(s, "nats_tenant_consumer_num_pending", **con) == 6
    assert _one(s, "nats_tenant_consumer_num_ack_pending", **con) == 4
    assert _one(s, "nats_tenant_consumer_num_redelivered", **con) == 2
    assert {x.label("tenant") for x in s if x.name.startswith("nats_tenant_consumer_")} == {"acme"}


def test_streams_connections_and_usage(cap: dict[str, Any]) -> None:
    s = _samples(cap)
    assert _one(s, "nats_tenant_stream_messages", tenant="acme", stream="ACME_LOGS") == 10
    assert _one(s, "nats_tenant_stream_bytes", tenant="globex", stream="GLOBEX_EVENTS") == 48
    assert _one(s, "nats_tenant_connections", tenant="acme") == 1
    assert _one(s, "nats_tenant_connections", tenant="globex") == 0
    assert _one(s, "nats_tenant_streams", tenant="acme") == 1
    assert _one(s, "nats_tenant_consumers", tenant="acme") == 1
    assert _one(s, "nats_tenant_consumers", tenant="globex") == 0


def test_quota_ratios_use_binding_jwt_limits_only(cap: dict[str, Any]) -> None:
    s = _samples(cap)
    assert _one(s, "nats_tenant_quota_used_ratio", tenant="acme", resource="streams") == pytest.approx(1 / 5)
    assert _one(s, "nats_tenant_quota_used_ratio", tenant="acme", resource="consumers") == pytest.approx(1 / 10)
    assert _one(s, "nats_tenant_quota_used_ratio", tenant="acme", resource="disk") == pytest.approx(540 / 10_000_000)
    # globex: streams/consumers unlimited (absent in the JWT) and memory 0 (off): no ratio at all.
    globex = {x.label("resource") for x in s
              if x.name == "nats_tenant_quota_used_ratio" and x.label("tenant") == "globex"}
    assert globex == {"disk"}


def test_system_and_global_accounts_are_never_tenants(cap: dict[str, Any]) -> None:
    accounts = {x.label("account") for x in _samples(cap)}
    assert accounts == {cap["acme"], cap["globex"]}
    assert cap["system_account"] in {a["acc"] for a in cap["accstatz"]["account_statz"]}  # present in input


def test_name_falls_back_to_the_key_and_overrides_win(cap: dict[str, Any]) -> None:
    anon = copy.deepcopy(cap)
    for acc in anon["jsz"]["account_details"]:
        acc["name"] = acc["id"]          # what the server shows for an account JWT without a name
    for acc in anon["accstatz"]["account_statz"]:
        acc["name"] = acc["acc"]
    for detail in anon["details"].values():
        detail["decoded_jwt"].pop("name")
        detail.pop("name_tag", None)
    s = _samples(anon)
    assert {x.label("tenant") for x in s} == {cap["acme"], cap["globex"]}
    s = _samples(anon, overrides={cap["acme"]: "acme-corp"})
    assert {x.label("tenant") for x in s} == {"acme-corp", cap["globex"]}


def test_tiered_limits_are_summed_and_unlimited_tiers_unbind() -> None:
    detail = {"decoded_jwt": {"nats": {"limits": {"tiered_limits": {
        "R1": {"disk_storage": 100, "streams": 2, "consumer": -1},
        "R3": {"disk_storage": 300, "streams": 1, "consumer": 5}}}}}}
    assert om.jwt_limits(detail) == {"disk_storage": 400, "streams": 3}


def test_output_is_sorted_and_deterministic(cap: dict[str, Any]) -> None:
    shuffled = copy.deepcopy(cap)
    shuffled["jsz"]["account_details"].reverse()
    shuffled["accstatz"]["account_statz"].reverse()
    assert _samples(shuffled) == _samples(cap)
    assert set(om.by_name(_samples(cap))) == set(om.METRIC_BY_NAME)


def test_every_sample_has_exactly_the_declared_labels(cap: dict[str, Any]) -> None:
    declared = {m.name: m.labels for m in om.METRICS}
    for x in _samples(cap):
        assert tuple(k for k, _ in x.labels) == declared[x.name]


def test_empty_documents_give_no_samples() -> None:
    assert om.samples({}, {}, {}) == []


@pytest.mark.parametrize("doc, expected", [
    ({"AKEY": "acme"}, {"AKEY": "acme"}),
    ({"acme": {"account_public_key": "AKEY", "creds": "[secret]"}}, {"AKEY": "acme"}),
])
def test_tenant_map_shapes(doc: Any, expected: dict[str, str]) -> None:
    assert om.tenant_map(doc) == expected


@pytest.mark.parametrize("doc", [[], {"acme": {"creds": "x"}}, {"acme": 3}])
def test_tenant_map_rejects_other_shapes(doc: Any) -> None:
    with pytest.raises(ValueError):
        om.tenant_map(doc)


def test_delivered_and_subscriptions_series(cap: dict[str, Any]) -> None:
    s = _samples(cap)
    assert _one(s, "nats_tenant_consumer_delivered", tenant="acme", consumer="WORKER") == 6   # consumer_seq
    assert _one(s, "nats_tenant_subscriptions", tenant="globex") == 6
    assert _one(s, "nats_tenant_subscriptions", tenant="acme") > 0


def test_tenant_ids_map_layout_account_names_and_keep_the_jwt_name_aside(cap: dict[str, Any]) -> None:
    s = _samples(cap, tenant_ids={"acme": "acme_corp"})
    assert {x.label("tenant") for x in s} == {"acme_corp", "globex"}
    assert {dict(x.extra)["account_name"] for x in s if x.label("tenant") == "acme_corp"} == {"acme"}
    # an override by key still wins over the tenant id of the JWT name
    s = _samples(cap, tenant_ids={"acme": "acme_corp"}, overrides={cap["acme"]: "from-map"})
    assert "from-map" in {x.label("tenant") for x in s}
