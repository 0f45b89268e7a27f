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

from components.nats_io import messaging
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
            worker = {"durable_name": "WORKER", "ack_policy": "explicit", "ack_wait": 600_000_000_000}
            await js(nc, "CONSUMER.CREATE.ACME_LOGS.WORKER",
                     {"stream_name": "ACME_LOGS", "action": "create", "config": worker})
            for i in range(PUBLISHED):
                await nc.request("acme.logs.api.line", b"line %d" % i, timeout=5)
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish("$JS.API.CONSUMER.MSG.NEXT.ACME_LOGS.WORKER",
                             json.dumps({"batch": FETCHED, "expires": 2_000_000_000}).encode(), reply=inbox)
            for _ in range(FETCHED):  # received, never acked
                await sub.next_msg(timeout=5)
            await js(globex.nc, "STREAM.CREATE.GLOBEX_EVENTS",
                     {"name": "GLOBEX_EVENTS", "subjects": ["globex.events.>"]})
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


# -- per-tenant lag on a shared platform consumer ----------------------------------------------

#: Publish order on the shared stream: sequence i+1 belongs to TENANT_ORDER[i].
TENANT_ORDER = ("acme", "acme", "globex", "acme", "globex", "initech", "acme", "globex", "acme", "initech")
SHARED_FETCHED = 6     # sequences 1-6 delivered to the shared consumer
SHARED_ACKED = 3       # of those, 1-3 acknowledged (ack floor 3)


def _platform_estate(estate: Estate, workdir: str) -> tuple[str, str]:
    """A platform account as the serviceradar example builds it: the stream ``events`` on
    ``*.events.>`` and its consumer user (the same permissions the stack gives it); returns the
    consumer's and a publisher's creds files. Two consumers at most: the durable and one probe."""
    from components.model.environment.load import load_environment
    from components.model.identity.account import AccountLimits, AccountSpec, JetStreamLimits
    from components.model.identity.permissions import Permission, UserPermissions
    from components.model.identity.user import UserSpec
    from components.model.tenant_plan import platform_user_specs

    env = load_environment(os.path.join(ROOT, "environments", "examples", "serviceradar.yaml"), "serviceradar")
    kp, _ = estate.setup.add_account(AccountSpec(name="platform", limits=AccountLimits(jetstream=JetStreamLimits(
        disk_storage=10_000_000, mem_storage=1_000_000, streams=2, consumer=2))))
    consumer = platform_user_specs(0, env=env)["consumer"]
    publisher = UserSpec(name="collector", permissions=UserPermissions(
        pub=Permission(allow=("*.events.>", "$JS.API.>")), sub=Permission(allow=("_INBOX.>",))))
    paths = []
    for user in (consumer, publisher):
        path = os.path.join(workdir, f"{user.name}.creds")
        with open(path, "w", encoding="utf-8") as f:
            f.write(estate.setup.user_creds(kp, user))
        os.chmod(path, 0o600)
        paths.append(path)
    return paths[0], paths[1]


def test_platform_consumer_lag_per_tenant(estate: Estate, tmp_path: Any) -> None:
    from components.model import exporter_config
    from components.model.platform_lag import LagTarget

    consumer_creds, publisher_creds = _platform_estate(estate, str(tmp_path))

    async def fill() -> dict[str, Any]:
        def read(path: str) -> str:
            with open(path, encoding="utf-8") as f:
                return f.read()

        pub = await connect(estate.server.url, read(publisher_creds))
        con = await connect(estate.server.url, read(consumer_creds))
        try:
            # no_ack as the stack creates it: the server refuses a leading wildcard otherwise (10052).
            await js(pub.nc, "STREAM.CREATE.events", {"name": "events", "subjects": ["*.events.>"], "no_ack": True})
            await js(con.nc, "CONSUMER.CREATE.events.event-writer", {"stream_name": "events", "action": "create",
                     "config": {"durable_name": "event-writer", "ack_policy": "explicit",
                                "ack_wait": 600_000_000_000, "filter_subject": "*.events.>"}})
            for i, tenant in enumerate(TENANT_ORDER):
                await pub.nc.publish(f"{tenant}.events.netflow.flow", b"%d" % i)
            await messaging.flush(pub.nc)
            for _ in range(50):   # no publish acks: wait until the stream holds them all
                state = (await js(pub.nc, "STREAM.INFO.events"))["state"]
                if state["messages"] == len(TENANT_ORDER):
                    break
                await asyncio.sleep(0.1)
            assert state["messages"] == len(TENANT_ORDER)
            inbox = con.nc.new_inbox()
            sub = await con.nc.subscribe(inbox)
            await con.nc.publish("$JS.API.CONSUMER.MSG.NEXT.events.event-writer",
                                 json.dumps({"batch": SHARED_FETCHED, "expires": 2_000_000_000}).encode(), reply=inbox)
            msgs = [await sub.next_msg(timeout=5) for _ in range(SHARED_FETCHED)]
            for msg in msgs[:SHARED_ACKED]:
                await con.nc.request(msg.reply, b"+ACK", timeout=5)   # acked in order: the floor moves
            return await js(con.nc, "CONSUMER.INFO.events.event-writer")
        finally:
            await pub.close()
            await con.close()

    shared = asyncio.run(fill())
    assert shared["ack_floor"]["stream_seq"] == SHARED_ACKED and shared["delivered"]["stream_seq"] == SHARED_FETCHED

    tenants = {t: f"{t}.events.>" for t in ("acme", "globex", "initech")}
    doc = exporter_config.to_document(exporter_config.ExporterConfig(
        platform_lag=(LagTarget("platform", "events", "event-writer", tuple(sorted(tenants.items()))),)))
    series = tmp_path / "series.json"
    series.write_text(json.dumps(doc))
    exp = Exporter(estate.server.monitor_url, "--series", str(series), "--nats-url", estate.server.url,
                   "--platform-creds", f"platform={consumer_creds}")
    try:
        m = exp.scrape()
        m_again = exp.scrape()   # the probes of the first scrape are gone: the limit of 2 consumers holds
    finally:
        exp.stop()
        out, err = exp.proc.communicate()

    def expected(after: int) -> dict[str, float]:
        return {t: float(sum(1 for seq, owner in enumerate(TENANT_ORDER, 1) if owner == t and seq > after))
                for t in tenants}

    for metrics in (m, m_again):
        assert _value(metrics, "nats_tenant_exporter_platform_lag_success") == 1
        unacked = {lab["tenant"]: v for lab, v in metrics["nats_tenant_platform_consumer_unacked"]}
        pending = {lab["tenant"]: v for lab, v in metrics["nats_tenant_platform_consumer_num_pending"]}
        assert unacked == expected(SHARED_ACKED) == {"acme": 3, "globex": 2, "initech": 2}
        assert pending == expected(SHARED_FETCHED) == {"acme": 2, "globex": 1, "initech": 1}
        # The per-tenant shares add up to the shared consumer's own lag.
        total = _value(metrics, "nats_tenant_consumer_num_pending", tenant="platform", consumer="event-writer")
        assert sum(pending.values()) == total == len(TENANT_ORDER) - SHARED_FETCHED
        assert {lab["account"] for lab, _ in metrics["nats_tenant_platform_consumer_unacked"]} == {
            next(lab["account"] for lab, _ in metrics["nats_tenant_streams"] if lab["tenant"] == "platform")}
    # Only the durable is left on the stream; the creds never reach the log.
    assert _value(m_again, "nats_tenant_consumers", tenant="platform") == 1
    with open(consumer_creds, encoding="utf-8") as f:
        secret_lines = [line for line in f.read().splitlines() if line.startswith(("SU", "eyJ"))]
    assert secret_lines and not any(line in out + err for line in secret_lines)


def test_series_mapping_of_a_layout_in_the_real_process(estate: Estate, tmp_path: Any) -> None:
    """004's names on a real server: ``nats_consumer_pending{tenant_id, consumer}`` with the tenant
    id for the account's JWT name, and nothing else."""
    from components.model import exporter_config, metrics_series
    from components.model.environment.load import load_environment

    venture = load_environment(os.path.join(ROOT, "environments", "examples", "venture.yaml"), "venture")
    cfg = exporter_config.ExporterConfig(venture.monitoring.metrics, (("globex", "globex_inc"),))
    series = tmp_path / "series.json"
    series.write_text(json.dumps(exporter_config.to_document(cfg)))

    async def fill() -> None:
        globex = await connect(estate.server.url, estate.creds("globex"))
        try:
            await js(globex.nc, "STREAM.CREATE.GLOBEX_ORDERS",
                     {"name": "GLOBEX_ORDERS", "subjects": ["globex.orders.>"]})
            await js(globex.nc, "CONSUMER.CREATE.GLOBEX_ORDERS.billing", {"stream_name": "GLOBEX_ORDERS",
                     "action": "create", "config": {"durable_name": "billing", "ack_policy": "explicit"}})
            for _ in range(4):
                await globex.nc.request("globex.orders.new", b"o", timeout=5)
        finally:
            await globex.close()

    asyncio.run(fill())
    exp = Exporter(estate.server.monitor_url, "--series", str(series))
    try:
        m = exp.scrape()
    finally:
        exp.stop()
    expected = {metrics_series.SeriesRename(s.canonical, s.name).name for s in venture.monitoring.metrics.series}
    assert set(m) - {"nats_tenant_exporter_scrape_success", "nats_tenant_exporter_scrape_duration_seconds"} == expected
    assert _value(m, "nats_consumer_pending", tenant_id="globex_inc", consumer="billing") == 4
    assert _value(m, "nats_stream_messages_total", tenant_id="globex_inc", stream="GLOBEX_ORDERS") == 4
    assert all(set(lab) == {"tenant_id", "consumer"} for lab, _ in m["nats_consumer_pending"])


def test_bad_series_file_is_refused_with_the_field(tmp_path: Any) -> None:
    series = tmp_path / "series.json"
    series.write_text(json.dumps({"version": 1, "series": {"nats_tenant_nope": "x"}}))
    res = subprocess.run([sys.executable, "-m", "components.ops.exporter", "--monitor-url", "http://127.0.0.1:1",
                          "--listen", f"127.0.0.1:{free_port()}", "--series", str(series)],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert res.returncode == 2
    assert f"--series {series}" in res.stderr and "series.nats_tenant_nope: unknown series" in res.stderr
