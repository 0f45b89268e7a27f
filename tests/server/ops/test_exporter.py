"""The exporter as a real process against a real operator-mode server: a consumer's lag shows up
for its tenant and for no other, with quota ratios from the account JWT."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from components.providers.nats_process import free_port, pid_alive
from tests.server.ops.conftest import CONSUMERS, DISK, ROOT, STREAMS, Estate, js
from tests.support.operator_mode import connect

PUBLISHED = 12
FETCHED = 5


class Exporter:
    def __init__(self, monitor_url: str, *extra: str):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "components.ops.exporter", "--monitor-url", monitor_url,
             "--listen", f"127.0.0.1:{self.port}", "--timeout", "2", *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"exporter exited: {self.proc.communicate()}"
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise AssertionError("exporter did not start listening")

    def scrape(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        out: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(text):
            out[family.name] = [(dict(s.labels), s.value) for s in family.samples]
        return out

    def stop(self) -> int:
        """SIGTERM by PID; the exit code (the process must end on its own within 10 s)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("exporter ignored SIGTERM")


def _value(metrics: dict[str, Any], name: str, **labels: str) -> float:
    found = [v for lab, v in metrics[name] if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, f"{name} {labels}: {metrics.get(name)}"
    return found[0]


@pytest.fixture(scope="module")
def exporter(estate: Estate) -> Iterator[Exporter]:
    exp = Exporter(estate.server.monitor_url)
    try:
        yield exp
    finally:
        exp.stop()


def test_lag_is_reported_for_that_tenant_and_no_other(estate: Estate, exporter: Exporter) -> None:
    async def scenario() -> dict[str, Any]:
        acme = await connect(estate.server.url, estate.creds("acme"))
        globex = await connect(estate.server.url, estate.creds("globex"))
        try:
            nc = acme.nc
            await js(nc, "STREAM.CREATE.ACME_LOGS", {"name": "ACME_LOGS", "subjects": ["acme.logs.>"]})
            await js(nc, "CONSUMER.CREATE.ACME_LOGS.WORKER", {"stream_name": "ACME_LOGS", "action": "create", "config": {
                "durable_name": "WORKER", "ack_policy": "explicit", "ack_wait": 600_000_000_000}})
            for i in range(PUBLISHED):
                await nc.request("acme.logs.api.line", b"line %d" % i, timeout=5)
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish("$JS.API.CONSUMER.MSG.NEXT.ACME_LOGS.WORKER",
                             json.dumps({"batch": FETCHED, "expires": 2_000_000_000}).encode(), reply=inbox)
            for _ in range(FETCHED):  # received, never acked
                await sub.next_msg(timeout=5)
            await js(globex.nc, "STREAM.CREATE.GLOBEX_EVENTS", {"name": "GLOBEX_EVENTS", "subjects": ["globex.events.>"]})
            for i in range(3):
                await globex.nc.request("globex.events.crm.created", b"x", timeout=5)
            # Both connections stay open while the exporter is scraped.
            return await asyncio.get_running_loop().run_in_executor(None, exporter.scrape)
        finally:
            await acme.close()
            await globex.close()

    m = asyncio.run(scenario())
    assert _value(m, "nats_tenant_exporter_scrape_success") == 1
    con = dict(tenant="acme", stream="ACME_LOGS", consumer="WORKER")
    assert _value(m, "nats_tenant_consumer_num_pending", **con) == PUBLISHED - FETCHED
    assert _value(m, "nats_tenant_consumer_num_ack_pending", **con) == FETCHED
    assert _value(m, "nats_tenant_consumer_num_redelivered", **con) == 0
    for name in ("nats_tenant_consumer_num_pending", "nats_tenant_consumer_num_ack_pending"):
        assert {lab["tenant"] for lab, _ in m[name]} == {"acme"}, m[name]
        assert all(lab["account"] == estate.accounts["acme"].public_key for lab, _ in m[name])

    assert _value(m, "nats_tenant_stream_messages", tenant="acme", stream="ACME_LOGS") == PUBLISHED
    assert _value(m, "nats_tenant_stream_messages", tenant="globex", stream="GLOBEX_EVENTS") == 3
    assert _value(m, "nats_tenant_connections", tenant="acme") == 1
    assert _value(m, "nats_tenant_connections", tenant="globex") == 1

    assert _value(m, "nats_tenant_quota_limit", tenant="acme", resource="streams") == STREAMS
    assert _value(m, "nats_tenant_quota_used_ratio", tenant="acme", resource="streams") == 1 / STREAMS
    assert _value(m, "nats_tenant_quota_used_ratio", tenant="acme", resource="consumers") == 1 / CONSUMERS
    assert _value(m, "nats_tenant_quota_used_ratio", tenant="globex", resource="consumers") == 0
    stored = _value(m, "nats_tenant_jetstream_storage_bytes", tenant="acme")
    assert stored > 0
    assert _value(m, "nats_tenant_quota_used_ratio", tenant="acme", resource="disk") == pytest.approx(stored / DISK)
    # The system account is never a tenant.
    assert estate.setup.system_account.public_key not in {lab["account"] for lab, _ in m["nats_tenant_streams"]}


def test_unreachable_server_gives_scrape_success_zero_and_sigterm_stops(estate: Estate) -> None:
    exp = Exporter(f"http://127.0.0.1:{free_port()}")
    try:
        m = exp.scrape()
        assert _value(m, "nats_tenant_exporter_scrape_success") == 0
        assert "nats_tenant_consumer_num_pending" not in m
    finally:
        code = exp.stop()
    assert code == 0
    assert not pid_alive(exp.proc.pid)
