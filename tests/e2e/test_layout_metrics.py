"""The metrics contracts of seeds 002 and 004, read from the exporter a layout example's stack runs
(real CLI, real server): exactly the seed's series, each with exactly the seed's labels, and values
that follow what a tenant publishes."""
from __future__ import annotations

import asyncio
import os
import urllib.request
from typing import Any, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from components.providers import local_exporter
from tests.e2e.layout_support import bring_up
from tests.support.creds_checks import js_publish
from tests.support.pulumi_cli import PulumiProject

HEALTH = {"nats_tenant_exporter_scrape_success", "nats_tenant_exporter_scrape_duration_seconds"}
Metrics = dict[str, list[tuple[dict[str, str], float]]]


@pytest.fixture
def stack(project: PulumiProject) -> Iterator[PulumiProject]:
    yield project
    # Whatever a failed test left running: the exporter this stack started, by its recorded PID (and
    # only while that PID is still this exporter).
    path = os.path.join(project.project_dir, ".state", "test", "nats", local_exporter.PID_FILE)
    if os.path.exists(path):
        with open(path, encoding="ascii") as f:
            pid = int(f.read().strip() or 0)
        if pid:
            argv = local_exporter.nats_process.process_argv(pid)
            listen = argv[argv.index("--listen") + 1] if "--listen" in argv else ""
            if listen:
                host, _, port = listen.rpartition(":")
                local_exporter.stop({"pid": pid, "host": host, "port": int(port)})


def scrape(url: str) -> Metrics:
    with urllib.request.urlopen(url, timeout=20) as resp:
        text = resp.read().decode()
    return {f.name: [(dict(s.labels), s.value) for s in f.samples] for f in text_string_to_metric_families(text)}


def labels_of(metrics: Metrics) -> dict[str, set[frozenset[str]]]:
    return {name: {frozenset(lab) for lab, _ in samples} for name, samples in metrics.items() if name not in HEALTH}


def one(metrics: Metrics, name: str, **labels: str) -> float:
    found = [v for lab, v in metrics[name] if lab == labels]
    assert len(found) == 1, (name, labels, metrics[name])
    return found[0]


def test_xorb_emits_the_seed_002_series(stack: PulumiProject) -> None:
    out = bring_up(stack, "xorb")
    try:
        user = out["accounts"]["xorb-t-qa"]["creds"]["xorb-t-qa-user"]
        asyncio.run(js_publish(out["nats_url"], user, "xorb.t-qa.scan.nmap.created", 3, "xorb-t-qa-scan-live"))
        m = scrape(out["metrics_url"])
        assert one(m, "nats_tenant_exporter_scrape_success") == 1
        assert labels_of(m) == {
            "nats_jetstream_stream_messages": {frozenset({"stream"})},
            "nats_jetstream_stream_bytes": {frozenset({"stream"})},
            "nats_jetstream_consumer_ack_pending": {frozenset({"consumer"})},
            "nats_jetstream_consumer_delivered": {frozenset({"consumer"})},
            "nats_account_connections": {frozenset({"account"})},
            "nats_account_subscriptions": {frozenset({"account"})},
        }
        assert one(m, "nats_jetstream_stream_messages", stream="xorb-t-qa-scan-live") == 3
        assert one(m, "nats_jetstream_stream_messages", stream="xorb-t-demo-scan-live") == 0
        assert one(m, "nats_jetstream_stream_bytes", stream="xorb-t-qa-scan-live") > 0
        # 002's consumers are push consumers with deliver_policy last and nobody subscribed yet
        assert one(m, "nats_jetstream_consumer_ack_pending", consumer="xorb-t-qa-scan-live-consumer") == 0
        assert {lab["account"] for lab, _ in m["nats_account_connections"]} == {"xorb-t-qa", "xorb-t-demo"}
        assert one(m, "nats_account_subscriptions", account="xorb-t-qa") > 0
    finally:
        stack.destroy()


def test_venture_emits_the_seed_004_series(stack: PulumiProject) -> None:
    out = bring_up(stack, "venture")
    try:
        user = out["accounts"]["TENANT_acme_corp"]["creds"]["service_user"]
        asyncio.run(js_publish(out["nats_url"], user, "VENTURE.acme_corp.task.dispatch", 4, "EVENTS_acme_corp"))
        m: Any = scrape(out["metrics_url"])
        assert one(m, "nats_tenant_exporter_scrape_success") == 1
        assert labels_of(m) == {
            "nats_stream_messages_total": {frozenset({"tenant_id", "stream"})},
            "nats_stream_bytes_total": {frozenset({"tenant_id", "stream"})},
            "nats_consumer_pending": {frozenset({"tenant_id", "consumer"})},
            "nats_consumer_ack_pending": {frozenset({"tenant_id", "consumer"})},
        }
        assert one(m, "nats_stream_messages_total", tenant_id="acme_corp", stream="EVENTS_acme_corp") == 4
        assert one(m, "nats_stream_messages_total", tenant_id="globex", stream="EVENTS_globex") == 0
        # VENTURE.acme_corp.task.> is what orchestrator_<tenant> reads; the artifact worker sees none
        assert one(m, "nats_consumer_pending", tenant_id="acme_corp", consumer="orchestrator_acme_corp") == 4
        assert one(m, "nats_consumer_pending", tenant_id="acme_corp", consumer="artifact_worker_acme_corp") == 0
        assert {lab["tenant_id"] for lab, _ in m["nats_consumer_pending"]} == {"acme_corp", "globex"}
    finally:
        stack.destroy()
