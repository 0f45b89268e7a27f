"""Series mappings per environment: the seed contracts come out exactly, bad mappings are refused
with the file, the field and the fix, and the default leaves today's series as they were."""
from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest

from components.model import exporter_config, platform_lag
from components.model import metrics_series as ms
from components.model import ops_metrics as om
from components.model.environment.load import load_environment, load_environment_text
from components.model.errors import SpecError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CAPTURE = os.path.join(os.path.dirname(__file__), "monitoring_capture.json")


def example(name: str) -> Any:
    return load_environment(os.path.join(ROOT, "environments", "examples", f"{name}.yaml"), name)


@pytest.fixture()
def cap() -> dict[str, Any]:
    with open(CAPTURE, encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


def _exposed(mapping: ms.SeriesMapping, cap: dict[str, Any], tenant_ids: dict[str, str]) -> dict[str, ms.Family]:
    found = om.samples(cap["jsz"], cap["accstatz"], cap["details"], cap["system_account"], tenant_ids=tenant_ids)
    return {f.name: f for f in ms.families(mapping, found)}


def _as_jwt_names(cap: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The capture with its accounts renamed as a layout names them (``acme`` -> ``xorb-acme``)."""
    out = copy.deepcopy(cap)
    for acc in out["jsz"]["account_details"]:
        acc["name"] = names.get(acc["name"], acc["name"])
    for acc in out["accstatz"]["account_statz"]:
        acc["name"] = names.get(acc["name"], acc["name"])
    for detail in out["details"].values():
        detail["decoded_jwt"]["name"] = names.get(detail["decoded_jwt"]["name"], detail["decoded_jwt"]["name"])
        detail.pop("name_tag", None)
    return out


def test_default_mapping_emits_todays_series_unchanged(cap: dict[str, Any]) -> None:
    fams = _exposed(ms.SeriesMapping(), cap, {})
    assert set(fams) == set(om.METRIC_BY_NAME)
    for m in om.METRICS:
        assert fams[m.name].labels == m.labels
    lag = fams["nats_tenant_consumer_num_pending"]
    assert lag.samples == ((("acme", cap["acme"], "ACME_LOGS", "WORKER"), 6.0),)


def test_seed_002_contract_exactly(cap: dict[str, Any]) -> None:
    env = example("xorb")
    renamed = _as_jwt_names(cap, {"acme": "xorb-acme"})
    fams = _exposed(env.monitoring.metrics, renamed, {"xorb-acme": "acme"})
    assert {n: f.labels for n, f in fams.items()} == {
        "nats_jetstream_stream_messages": ("stream",),
        "nats_jetstream_stream_bytes": ("stream",),
        "nats_jetstream_consumer_ack_pending": ("consumer",),
        "nats_jetstream_consumer_delivered": ("consumer",),
        "nats_account_connections": ("account",),
        "nats_account_subscriptions": ("account",),
    }
    assert fams["nats_jetstream_consumer_ack_pending"].samples == ((("WORKER",), 4.0),)
    assert fams["nats_jetstream_consumer_delivered"].samples == ((("WORKER",), 6.0),)   # consumer_seq
    assert dict(fams["nats_account_connections"].samples) == {("xorb-acme",): 1.0, ("globex",): 0.0}
    assert dict(fams["nats_account_subscriptions"].samples)[("globex",)] == 6.0
    assert dict(fams["nats_jetstream_stream_messages"].samples) == {("ACME_LOGS",): 10.0, ("GLOBEX_EVENTS",): 1.0}


def test_seed_004_contract_exactly(cap: dict[str, Any]) -> None:
    env = example("venture")
    renamed = _as_jwt_names(cap, {"acme": "TENANT_acme_corp", "globex": "TENANT_globex"})
    ids = dict(exporter_config.exporter_config(env).tenant_ids)
    assert ids == {"TENANT_acme_corp": "acme_corp", "TENANT_globex": "globex"}
    fams = _exposed(env.monitoring.metrics, renamed, ids)
    assert {n: f.labels for n, f in fams.items()} == {
        "nats_stream_messages_total": ("tenant_id", "stream"),
        "nats_stream_bytes_total": ("tenant_id", "stream"),
        "nats_consumer_pending": ("tenant_id", "consumer"),
        "nats_consumer_ack_pending": ("tenant_id", "consumer"),
    }
    assert fams["nats_consumer_pending"].samples == ((("acme_corp", "WORKER"), 6.0),)
    assert dict(fams["nats_stream_bytes_total"].samples)[("globex", "GLOBEX_EVENTS")] == 48.0


def test_dropped_labels_merge_counts_by_sum_and_ratios_by_max(cap: dict[str, Any]) -> None:
    mapping = ms.SeriesMapping(labels=(("account", None), ("stream", None), ("resource", None)))
    fams = _exposed(mapping, cap, {})
    assert dict(fams["nats_tenant_stream_messages"].samples)[("acme",)] == 10.0
    ratios = [s.value for s in om.samples(cap["jsz"], cap["accstatz"], cap["details"], cap["system_account"])
              if s.name == "nats_tenant_quota_used_ratio" and s.label("tenant") == "acme"]
    assert dict(fams["nats_tenant_quota_used_ratio"].samples)[("acme",)] == max(ratios)


def test_document_round_trip_and_hand_written_names() -> None:
    mapping = example("xorb").monitoring.metrics
    assert ms.from_document(ms.to_document(mapping)) == mapping
    short = ms.from_document({"series": {"nats_tenant_streams": "streams_total"}})
    assert short.series == (ms.SeriesRename("nats_tenant_streams", "streams_total"),)
    with pytest.raises(ValueError, match=r"series\.series\.nats_tenant_nope: unknown series"):
        ms.from_document({"series": {"nats_tenant_nope": "x"}})


MONITORING = """version: 1
servers: {mode: local, client_port: 41222, monitor_port: 41822, leafnode_port: 41422}
tiers: {t: {max_streams: 1, max_consumers: 1, max_bytes: 1MiB, max_memory: 1MiB, max_connections: 1,
            retention_days: 1, max_ack_pending: 1}}
tenants: []
monitoring:
  enabled: true
  port: 41777
  metrics:
%s
"""


@pytest.mark.parametrize("section, field, reason, fix", [
    ("    series: {nats_tenant_stream_mesages: x}", "monitoring.metrics.series.nats_tenant_stream_mesages",
     "unknown series", "nats_tenant_stream_messages"),
    ("    labels: {tennant: tenant_id}", "monitoring.metrics.labels.tennant", "unknown label", "use one of tenant"),
    ("    series: {nats_tenant_streams: {labels: {consumer: c}}}",
     "monitoring.metrics.series.nats_tenant_streams.labels.consumer", "unknown label", "use one of tenant, account"),
    ("    series: {nats_tenant_streams: 9lives}", "monitoring.metrics.series.nats_tenant_streams.name",
     "not a Prometheus series name", "letters, digits"),
    ("    labels: {tenant: __t}", "monitoring.metrics.labels.tenant", "not a Prometheus label name", "'__'"),
    ("    labels: {account_name: account}", "monitoring.metrics.labels", "would all be exported as label 'account'",
     "account: null"),
    ("    series: {nats_tenant_streams: a, nats_tenant_consumers: a}",
     "monitoring.metrics.series.nats_tenant_consumers", "exported as 'a'", "its own name"),
    ("    unlisted: some", "monitoring.metrics.unlisted", "'some' not in keep|drop", "keep or drop"),
])
def test_bad_mappings_name_file_field_and_fix(section: str, field: str, reason: str, fix: str) -> None:
    with pytest.raises(SpecError) as err:
        load_environment_text(MONITORING % section, "environments/m.yaml", stack="m")
    text = str(err.value)
    line = next((x for x in text.splitlines() if field in x), "")
    assert line.startswith("environments/m.yaml: " + field), text
    assert reason in line and fix in line, line


def test_platform_lag_targets_per_tenant_from_the_layout() -> None:
    env = example("serviceradar")
    targets = platform_lag.lag_targets(env)
    assert [(t.account, t.stream, t.consumer, t.tenants) for t in targets] == [
        ("platform", "logs", "serviceradar-zen", (("acme", "acme.logs.>"), ("globex", "globex.logs.>"))),
        ("platform", "events", "event-writer", (("acme", "acme.events.>"), ("globex", "globex.events.>"))),
    ]
    doc = json.loads(exporter_config.series_document(env))
    assert exporter_config.from_document(doc) == exporter_config.exporter_config(env)


@pytest.mark.parametrize("shared, index, tenant, expected", [
    ("*.events.>", 0, "acme", "acme.events.>"),
    ("xorb.*.scan.>", 1, "t-qa", "xorb.t-qa.scan.>"),
    ("acme.events.>", 0, "acme", "acme.events.>"),
    ("acme.events.>", 0, "globex", None),
    ("*.events.orders.*", 0, "acme", "acme.events.orders.*"),
])
def test_tenant_filter(shared: str, index: int, tenant: str, expected: str) -> None:
    assert platform_lag.tenant_filter(shared, index, tenant) == expected


def test_exporter_args_for_the_sidecar_and_the_local_process() -> None:
    args = exporter_config.exporter_args("http://127.0.0.1:8222", "0.0.0.0:7777", "/etc/exporter/series.json",
                                         leader_only=True)
    assert args == ["--monitor-url", "http://127.0.0.1:8222", "--listen", "0.0.0.0:7777",
                    "--series", "/etc/exporter/series.json", "--leader-only"]
    with pytest.raises(ValueError):
        exporter_config.exporter_args("http://x:8222", "h:1", platform_creds={"platform": "/p.creds"})


def test_with_leader_only_lag_is_probed_only_where_the_stream_is_led() -> None:
    targets = platform_lag.lag_targets(example("serviceradar"))
    jsz = {"account_details": [{"id": "APLATFORM", "stream_detail": [{"name": "events"}]},
                               {"id": "AACME", "stream_detail": [{"name": "logs"}]}]}
    led = platform_lag.led_here(targets, jsz, {"APLATFORM": "platform", "AACME": "acme"})
    assert [(t.account, t.stream) for t in led] == [("platform", "events")]
