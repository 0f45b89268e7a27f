"""The dev stack runs the tenant metrics exporter itself (``monitoring.enabled``), with the real CLI.

- ``up`` starts the exporter beside the server and exports ``metrics_url``; messages published with
  one tenant's service creds show up as that tenant's consumer lag and not as another's; ``destroy``
  stops the exporter process;
- a port already taken fails ``up`` with a message naming it; an exporter killed by hand is seen by
  ``refresh`` (its PID reads back as 0), ``preview`` plans to start it again and ``up`` does.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
import urllib.request
from typing import Any, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from components.providers import local_exporter, nats_process
from tests.e2e.conftest import small_environment
from tests.support.creds_checks import connect, js_publish
from tests.support.pulumi_cli import PulumiProject

EXPORTER_TYPE = "pulumi-python:dynamic/nats:LocalExporter"
PUBLISHED = 7
FETCHED = 3
Metrics = dict[str, list[tuple[dict[str, str], float]]]


def monitored_environment(project: PulumiProject) -> str:
    """``small_environment`` with the exporter on its own free loopback port."""
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    return small_environment(client, monitor, leaf) + (
        f"monitoring:\n  enabled: true\n  port: {project.metrics_port}\n")  # type: ignore[attr-defined]


def pid_file(project: PulumiProject) -> str:
    return os.path.join(project.project_dir, ".state", "test", "nats", local_exporter.PID_FILE)


@pytest.fixture
def monitored(project: PulumiProject) -> Iterator[PulumiProject]:
    project.metrics_port = nats_process.free_port()  # type: ignore[attr-defined]
    yield project
    # Whatever a failed test left running: the exporter this stack started, by its recorded PID (and
    # only while that PID still is this exporter on this port).
    if os.path.exists(pid_file(project)):
        with open(pid_file(project), encoding="ascii") as f:
            pid = int(f.read().strip() or 0)
        local_exporter.stop({"pid": pid, "host": "127.0.0.1", "port": project.metrics_port})  # type: ignore[attr-defined]


def exporter_state(project: PulumiProject) -> dict[str, Any]:
    """Outputs of the LocalExporter resource in the stack's state."""
    deployment = json.loads(project.export_state())["deployment"]
    found = [r for r in deployment.get("resources") or () if r.get("type") == EXPORTER_TYPE]
    assert len(found) == 1, [r.get("type") for r in deployment.get("resources") or ()]
    outputs: dict[str, Any] = found[0]["outputs"]
    return outputs


def scrape(url: str) -> Metrics:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    out: Metrics = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = [(dict(s.labels), s.value) for s in family.samples]
    return out


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = [v for lab, v in metrics.get(name, []) if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, f"{name} {labels}: {metrics.get(name)}"
    return found[0]


async def _fetch_without_ack(url: str, creds: str, n: int) -> int:
    """Pull ``n`` messages from acme's declared consumer and leave them unacknowledged."""
    nc = await connect(url, creds)
    try:
        sub = await nc.jetstream().pull_subscribe_bind("ACME_ORDERS_LIVE_WORKER", "ACME_ORDERS_LIVE")
        msgs = await sub.fetch(n, timeout=5)
        return len(msgs)
    finally:
        await nc.close()


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while nats_process.pid_alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


def test_exporter_reports_one_tenants_lag_and_stops_on_destroy(monitored: PulumiProject) -> None:
    project = monitored
    port = project.metrics_port  # type: ignore[attr-defined]
    project.write_environment(monitored_environment(project))
    project.init()
    project.up()

    outputs = project.outputs(show_secrets=True)
    assert outputs["metrics_url"] == f"http://127.0.0.1:{port}/metrics"
    state = exporter_state(project)
    pid = int(state["pid"])
    assert nats_process.pid_alive(pid) and local_exporter.is_exporter(pid, f"127.0.0.1:{port}")
    assert open(pid_file(project), encoding="ascii").read().strip() == str(pid)
    _, monitor, _ = project.ports  # type: ignore[attr-defined]
    assert f"http://127.0.0.1:{monitor}" in nats_process.process_argv(pid)   # it reads this stack's server

    url, acme = outputs["nats_url"], outputs["tenants"]["acme"]
    asyncio.run(js_publish(url, acme["creds"]["service"], "acme.events.orders.web.created", PUBLISHED,
                           "ACME_ORDERS_LIVE"))

    metrics = scrape(outputs["metrics_url"])
    assert value(metrics, "nats_tenant_exporter_scrape_success") == 1
    worker = {"stream": "ACME_ORDERS_LIVE", "consumer": "ACME_ORDERS_LIVE_WORKER"}
    assert value(metrics, "nats_tenant_stream_messages", tenant="acme", stream="ACME_ORDERS_LIVE") == PUBLISHED
    assert value(metrics, "nats_tenant_consumer_num_pending", tenant="acme", **worker) == PUBLISHED
    assert value(metrics, "nats_tenant_consumer_num_ack_pending", tenant="acme", **worker) == 0
    assert value(metrics, "nats_tenant_consumer_num_pending", tenant="globex", stream="GLOBEX_ORDERS_LIVE",
                 consumer="GLOBEX_ORDERS_LIVE_WORKER") == 0
    assert value(metrics, "nats_tenant_stream_messages", tenant="globex", stream="GLOBEX_ORDERS_LIVE") == 0
    # the account label is the tenant's account from the stack outputs
    assert {lab["account"] for lab, _ in metrics["nats_tenant_consumer_num_pending"] if lab["tenant"] == "acme"} \
        == {acme["account_public_key"]}

    # Delivered but not acknowledged: the lag moves to ack-pending, nothing is lost from the count.
    assert asyncio.run(_fetch_without_ack(url, acme["creds"]["service"], FETCHED)) == FETCHED
    metrics = scrape(outputs["metrics_url"])
    assert value(metrics, "nats_tenant_consumer_num_pending", tenant="acme", **worker) == PUBLISHED - FETCHED
    assert value(metrics, "nats_tenant_consumer_num_ack_pending", tenant="acme", **worker) == FETCHED

    # A running exporter reads back unchanged: nothing to refresh, nothing to do.
    project.refresh("--expect-no-changes")
    project.preview("--expect-no-changes")

    project.destroy()
    wait_gone(pid)
    assert not nats_process.port_in_use("127.0.0.1", port), "the exporter's port is still open"
    assert not os.path.exists(pid_file(project))


def test_port_taken_then_killed_exporter_is_restarted(monitored: PulumiProject) -> None:
    project = monitored
    port = project.metrics_port  # type: ignore[attr-defined]
    project.write_environment(monitored_environment(project))
    project.init()

    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen(8)
        res = project.up(check=False)
        assert res.returncode != 0, "up must fail while the exporter's port is taken"
        assert f"port 127.0.0.1:{port} is already in use" in res.output, res.output[-3000:]
        assert "monitoring.port" in res.output
    finally:
        squatter.close()

    project.up()
    pid = int(exporter_state(project)["pid"])
    assert nats_process.pid_alive(pid)
    project.preview("--expect-no-changes")

    os.kill(pid, signal.SIGKILL)   # the exporter this stack started, by the PID in its state
    wait_gone(pid)
    refreshed = project.refresh()
    # refresh reports the exporter, and only it, as changed
    assert re.search(r"~ +pulumi-python:dynamic/nats:LocalExporter dev-exporter updated", refreshed.output), \
        refreshed.output[-3000:]
    assert re.search(r"~ 1 updated", refreshed.output), refreshed.output[-3000:]
    assert exporter_state(project)["pid"] == 0, "refresh must record that the exporter is not running"
    steps = [s for s in json.loads(project.run("preview", "--stack", project.stack, "--json").stdout)["steps"]
             if s.get("op") != "same"]
    assert [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in steps] == [("update", "dev-exporter")], steps

    project.up()
    new_pid = int(exporter_state(project)["pid"])
    assert new_pid != pid and nats_process.pid_alive(new_pid)
    metrics = scrape(project.outputs()["metrics_url"])
    assert value(metrics, "nats_tenant_exporter_scrape_success") == 1
    assert value(metrics, "nats_tenant_consumer_num_pending", tenant="acme", stream="ACME_ORDERS_LIVE",
                 consumer="ACME_ORDERS_LIVE_WORKER") == 0
    project.preview("--expect-no-changes")

    project.destroy()
    wait_gone(new_pid)


def test_environment_series_mapping_through_the_stack(monitored: PulumiProject) -> None:
    """``monitoring.metrics`` in the environment file: the exporter the stack runs emits the renamed
    series only, with the tenant id under its new label; the series document is in the data dir and
    an unchanged environment plans nothing."""
    from components.model import exporter_config
    from components.model.environment.load import load_environment

    project = monitored
    text = monitored_environment(project) + (
        "  metrics:\n"
        "    unlisted: drop\n"
        "    labels: {tenant: tenant_id, account: null}\n"
        "    series:\n"
        "      nats_tenant_stream_messages: nats_stream_messages_total\n"
        "      nats_tenant_consumer_num_pending: {name: nats_consumer_pending, labels: {stream: null}}\n")
    rel = project.write_environment(text)
    project.init()
    project.up()
    try:
        outputs = project.outputs(show_secrets=True)
        state = exporter_state(project)
        series_file = local_exporter.series_path(os.path.dirname(pid_file(project)))
        command = state["command"]
        assert command[command.index("--series") + 1] == series_file
        # the platform consumer's creds, for per-tenant lag: a file path, never the creds themselves
        creds_arg = command[command.index("--platform-creds") + 1]
        assert creds_arg.startswith("platform-ingest-0=") and "BEGIN NATS USER JWT" not in " ".join(command)
        env = load_environment(os.path.join(project.project_dir, rel), project.stack)
        with open(series_file, encoding="utf-8") as f:
            assert f.read() == exporter_config.series_document(env)

        url, acme = outputs["nats_url"], outputs["tenants"]["acme"]
        asyncio.run(js_publish(url, acme["creds"]["service"], "acme.events.orders.web.created", PUBLISHED,
                               "ACME_ORDERS_LIVE"))
        metrics = scrape(outputs["metrics_url"])
        # the mapped series only, beside the exporter's own health series (with the platform consumer's
        # creds it also reports whether the per-tenant lag probe succeeded)
        assert set(metrics) == {"nats_stream_messages_total", "nats_consumer_pending",
                                "nats_tenant_exporter_scrape_success", "nats_tenant_exporter_scrape_duration_seconds",
                                "nats_tenant_exporter_platform_lag_success"}
        assert value(metrics, "nats_tenant_exporter_platform_lag_success") == 1
        assert value(metrics, "nats_stream_messages_total", tenant_id="acme", stream="ACME_ORDERS_LIVE") == PUBLISHED
        worker = {"tenant_id": "acme", "consumer": "ACME_ORDERS_LIVE_WORKER"}
        assert value(metrics, "nats_consumer_pending", **worker) == PUBLISHED
        assert all(set(lab) == {"tenant_id", "consumer"} for lab, _ in metrics["nats_consumer_pending"])
        project.preview("--expect-no-changes")
    finally:
        project.destroy()
