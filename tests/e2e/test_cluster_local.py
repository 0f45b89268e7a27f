"""A ``replicas: 3`` local stack through the real CLI: three routed nats-servers, the resolver push
on all three, R3 streams, ``sync_interval`` in the preview and on the running servers, a rolling
restart by ``pulumi up`` while a client publishes (0 acked lost), and a server killed with SIGKILL
during ``up`` (the ``up`` finishes or fails with a clear message, and the next ``up`` converges).
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import signal
import subprocess
import textwrap
import time
import urllib.request
from typing import Any, Iterator

import pytest

from components.providers import nats_process
from tests.e2e.test_faults import stream_infos
from tests.server.cluster.cluster_support import free_port_bases
from tests.server.cluster.publisher import Publisher, drained_ids
from tests.support.pulumi_cli import PulumiProject, missing_toolchain

MEMBERS = 3


def cluster_environment(ports: list[int], sync_interval: str, tenants: tuple[str, ...] = ("acme",)) -> str:
    client, monitor, leaf, cluster = ports
    tenant_yaml = "".join(textwrap.dedent(f"""\
        - id: {t}
          name: {t.title()} Inc
          tier: small
          domains:
            orders:
              live:
                consumers:
                  - name: worker
                    kind: pull
                    dead_letter: true
          kv_buckets:
            - name: settings
        """) for t in tenants)
    return textwrap.dedent(f"""\
        version: 1
        servers:
          mode: local
          host: 127.0.0.1
          replicas: {MEMBERS}
          client_port: {client}
          monitor_port: {monitor}
          leafnode_port: {leaf}
          cluster_port: {cluster}
          data_dir: .state/test/nats
        jetstream:
          max_memory: 64MiB
          max_file: 1GiB
          sync_interval: {sync_interval}
        tiers:
          small:
            max_streams: 10
            max_consumers: 20
            max_bytes: 64MiB
            max_memory: 8MiB
            max_connections: 50
            retention_days: 7
            max_ack_pending: 500
        platform:
          shards: 1
          consumers:
            - name: log-archiver
              class: logs
              filter: "*.logs.>"
        tenants:
        """) + textwrap.indent(tenant_yaml, "  ")


def member_pid(proj: PulumiProject, i: int) -> int:
    path = os.path.join(proj.project_dir, ".state", "test", "nats", f"test-{i}", "nats.pid")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="ascii") as f:
        return int(f.read().strip() or 0)


def monitor(port: int, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def cluster_project(tmp_path) -> Iterator[PulumiProject]:
    reason = missing_toolchain()
    if reason:
        pytest.skip(reason)
    proj = PulumiProject(str(tmp_path), stack="test")
    proj.ports = free_port_bases(MEMBERS)  # type: ignore[attr-defined]
    yield proj
    for i in range(MEMBERS):   # whatever a failed test left running, by the recorded PIDs
        pid = member_pid(proj, i)
        if pid:
            nats_process.stop(pid)


def assert_r3_streams(outputs: dict[str, Any]) -> None:
    """Every tenant stream and KV bucket exists with a leader and two more replicas, seen with the
    tenant's creds."""
    for tid, t in outputs["tenants"].items():
        names = list(t["streams"]) + [f"KV_{b}" for b in t["kv_buckets"]]
        infos = stream_infos(outputs["nats_url"].split(",")[0], t["creds"]["service"], names)
        for name, info in infos.items():
            assert "error" not in info, f"{tid} {name}: {info}"
            assert info["config"]["num_replicas"] == MEMBERS, name
            cl = info["cluster"]
            assert cl.get("leader") and len(cl.get("replicas") or []) == MEMBERS - 1, f"{name}: {cl}"


def test_three_servers_resolver_r3_and_a_rolling_restart(cluster_project: PulumiProject) -> None:
    proj = cluster_project
    ports = proj.ports  # type: ignore[attr-defined]
    client, mon = ports[0], ports[1]
    proj.write_environment(cluster_environment(ports, "always"))
    proj.init()
    proj.up()
    out = proj.outputs(show_secrets=True)
    assert out["nats_url"] == ",".join(f"nats://127.0.0.1:{client + i}" for i in range(MEMBERS))
    pids = [member_pid(proj, i) for i in range(MEMBERS)]
    assert all(nats_process.pid_alive(p) for p in pids), pids
    acme = out["tenants"]["acme"]["account_public_key"]
    for i in range(MEMBERS):
        assert {r["remote_name"] for r in monitor(mon + i, "/routez")["routes"]} == \
            {f"test-{j}" for j in range(MEMBERS) if j != i}
        assert monitor(mon + i, "/varz")["jetstream"]["config"].get("sync_always") is True
        # the push reached every server's own resolver directory
        jwt_file = os.path.join(proj.project_dir, ".state", "test", "nats", f"test-{i}", "resolver", f"{acme}.jwt")
        assert os.path.exists(jwt_file), f"server {i} has no JWT for acme"
    assert_r3_streams(out)
    # every stream of every account (dead letters and platform ingest included) on every server
    held = [monitor(mon + i, "/jsz")["streams"] for i in range(MEMBERS)]
    assert held[0] > 0 and held == [held[0]] * MEMBERS, f"streams held per server: {held}"
    assert proj.preview_steps() == [], "a second preview must be clean"

    # durability change: shown in the preview, applied by a rolling restart while a client publishes
    proj.write_environment(cluster_environment(ports, "30s"))
    diff = proj.preview().output
    assert '"always" => "30s"' in diff, diff[-3000:]
    stream = next(iter(out["tenants"]["acme"]["streams"]))
    urls = out["nats_url"].split(",")
    creds = out["tenants"]["acme"]["creds"]["service"]
    subject = "acme.events.orders.placed"
    pub = Publisher(urls, creds, subject).start()
    try:
        pub.wait_acked(100)
        proj.up()
        pub.wait_acked(pub.acked() + 100)
    finally:
        counts = pub.stop()
    new_pids = [member_pid(proj, i) for i in range(MEMBERS)]
    assert all(a != b for a, b in zip(pids, new_pids)), "every server restarted with the new config"
    for i in range(MEMBERS):
        js = monitor(mon + i, "/varz")["jetstream"]["config"]
        assert js["sync_interval"] == 30 * 10**9 and not js.get("sync_always"), f"server {i}"
    durable = next(c for c in out["tenants"]["acme"]["consumers"] if c.upper().endswith("WORKER"))
    stored = asyncio.run(drained_ids(urls, creds, stream, durable))
    missing = counts.acked_ids - set(stored)
    print(f"rolling restart by pulumi up: published={counts.published} acked={counts.acked} "
          f"failed={counts.failed} stored={len(stored)} errors={counts.errors}")
    assert not missing, f"{len(missing)} acked messages lost"
    proj.destroy()
    assert not any(nats_process.pid_alive(p) for p in new_pids)


def test_server_killed_during_up_then_next_up_converges(cluster_project: PulumiProject) -> None:
    proj = cluster_project
    ports = proj.ports  # type: ignore[attr-defined]
    proj.write_environment(cluster_environment(ports, "always", tenants=("acme", "globex", "initech")))
    proj.init()
    cmd = ["pulumi", "up", *proj.stack_args(), "--yes", "--skip-preview", "--non-interactive", "--color", "never"]
    up = subprocess.Popen(cmd, cwd=proj.project_dir, env=proj.env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    victim = 1
    try:
        # once the first tenant account is pushed (a JWT beside the preloaded system account's in
        # the first server's resolver directory), accounts and streams are being created: kill one
        resolver = os.path.join(proj.project_dir, ".state", "test", "nats", "test-0", "resolver", "*.jwt")
        deadline = time.monotonic() + 300
        while len(glob.glob(resolver)) < 2:
            assert up.poll() is None, f"up ended before any account was pushed: {up.communicate()[0][-3000:]}"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        killed = member_pid(proj, victim)
        os.kill(killed, signal.SIGKILL)
        output, _ = up.communicate(timeout=600)
    finally:
        if up.poll() is None:
            up.kill()
    errors = [line.strip() for line in output.splitlines() if "error" in line.lower()][:4]
    print(f"up with server {victim} killed: exit {up.returncode}; {errors}")
    if up.returncode != 0:
        # failed clearly: a resource that names what it could not do, not a hang or a program crash
        assert "creating failed**" in output or "updating failed**" in output, output[-4000:]
    proj.up()
    assert nats_process.pid_alive(member_pid(proj, victim)) and member_pid(proj, victim) != killed
    out = proj.outputs(show_secrets=True)
    assert sorted(out["tenants"]) == ["acme", "globex", "initech"]
    assert_r3_streams(out)
    assert proj.preview_steps() == [], "converged: nothing left to change"
    proj.destroy()
