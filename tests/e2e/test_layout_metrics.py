"""The metrics contracts of seeds 002 and 004, read from the exporter a layout example's stack runs
(real CLI, real server): exactly the seed's series, each with exactly the seed's labels, and values
that follow what a tenant publishes."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from components.model import exporter_config
from components.providers import nats_process
from tests.e2e.layout_support import bring_up, monitor
from tests.support.creds_checks import connect, js_publish
from tests.support.pulumi_cli import ROOT, PulumiProject

HEALTH = {"nats_tenant_exporter_scrape_success", "nats_tenant_exporter_scrape_duration_seconds"}
Metrics = dict[str, list[tuple[dict[str, str], float]]]


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


def test_xorb_emits_the_seed_002_series(project: PulumiProject) -> None:
    out = bring_up(project, "xorb")
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
        project.destroy()


def test_venture_emits_the_seed_004_series(project: PulumiProject) -> None:
    out = bring_up(project, "venture")
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
        project.destroy()


#: What the tenants publish, in order; the platform stream ``events`` sees them in this order.
PUBLISHES = (("acme", 5), ("globex", 3), ("acme", 2))
FETCHED, ACKED = 6, 5     # event-writer gets sequences 1-6 and acknowledges 1-5


async def _consume(url: str, creds: str) -> None:
    nc = await connect(url, creds)
    try:
        sub = await nc.jetstream().pull_subscribe_bind("event-writer", "events")
        msgs = await sub.fetch(FETCHED, timeout=5)
        assert len(msgs) == FETCHED
        for msg in msgs[:ACKED]:
            await msg.ack_sync()
    finally:
        await nc.close()


def _platform_stream_messages(outputs: dict[str, Any]) -> int:
    doc = monitor(outputs, "/jsz?accounts=true&streams=true")
    key = outputs["accounts"]["platform"]["public_key"]
    for acc in doc.get("account_details") or ():
        if acc["id"] == key:
            return sum(int(s["state"]["messages"]) for s in acc.get("stream_detail") or () if s["name"] == "events")
    return 0


def test_serviceradar_platform_lag_per_tenant(project: PulumiProject, tmp_path: Any) -> None:
    """Seed 001 §2.2.3 on the stack as built: tenants publish through their own accounts, the
    platform imports the copies into its ``events`` stream, the shared ``event-writer`` consumer
    takes some; the exporter, given the stack's series document and the platform consumer creds
    from the ``accounts`` output, reports each tenant's share of what is left."""
    out = bring_up(project, "serviceradar")
    proc = None
    try:
        url = out["nats_url"]
        for tenant, n in PUBLISHES:
            asyncio.run(js_publish(url, out["tenants"][tenant]["creds"]["service"], f"{tenant}.events.netflow.flow",
                                   n, f"{tenant.upper()}_NETFLOW_LIVE"))
        total = sum(n for _, n in PUBLISHES)
        deadline = time.monotonic() + 20
        while _platform_stream_messages(out) < total and time.monotonic() < deadline:
            time.sleep(0.2)   # imported copies are stored without publish acks
        assert _platform_stream_messages(out) == total
        platform_creds = out["accounts"]["platform"]["creds"]["platform-consumer-0"]
        asyncio.run(_consume(url, platform_creds))

        creds_file = tmp_path / "platform.creds"
        creds_file.write_text(platform_creds)
        creds_file.chmod(0o600)
        series = os.path.join(project.project_dir, ".state", "test", "nats", exporter_config.SERIES_FILE)
        port = nats_process.free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "components.ops.exporter", "--monitor-url", out["monitor_url"],
             "--listen", f"127.0.0.1:{port}", "--series", series, "--nats-url", url,
             "--platform-creds", f"platform={creds_file}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        nats_process.wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc.pid, "exporter", os.devnull)
        m = scrape(f"http://127.0.0.1:{port}/metrics")
        assert one(m, "nats_tenant_exporter_platform_lag_success") == 1

        seqs = [t for t, n in PUBLISHES for _ in range(n)]   # stream sequence i+1 belongs to seqs[i]

        def left(after: int) -> dict[str, float]:
            return {t: float(sum(1 for s, o in enumerate(seqs, 1) if o == t and s > after)) for t in ("acme", "globex")}

        def by_tenant(name: str) -> dict[str, float]:
            return {lab["tenant"]: v for lab, v in m[name] if lab["consumer"] == "event-writer"}

        assert by_tenant("nats_tenant_platform_consumer_unacked") == left(ACKED) == {"acme": 2, "globex": 3}
        assert by_tenant("nats_tenant_platform_consumer_num_pending") == left(FETCHED) == {"acme": 2, "globex": 2}
        # zen's stream got nothing: no lag for anyone
        zen = {lab["tenant"]: v for lab, v in m["nats_tenant_platform_consumer_num_pending"]
               if lab["consumer"] == "serviceradar-zen"}
        assert zen == {"acme": 0, "globex": 0}
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            outs, err = proc.communicate(timeout=20)
            secret = [line for line in platform_creds.splitlines() if line.startswith(("SU", "eyJ"))]
            assert secret and not any(line in outs + err for line in secret)
        project.destroy()
