"""Faults around ``pulumi up`` on the dev stack, with the real CLI and real nats-server processes.

- the server cannot come up during ``up`` (its client port is taken): a clear error naming the
  port, and once the port is free a later ``up`` converges;
- the server is stopped between two ``up`` runs: ``up`` starts it again and accounts (resolver
  directory) and streams (store) come back unchanged;
- ``up`` is killed mid-way: the stack is recovered the way a user would (unlock, refresh clearing
  pending creates, up) and nothing is lost;
- an in-place stream update (``max_age``) keeps the stored messages.
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import socket
import subprocess
import time
from typing import Any

from components.ops.state_repair import drop_empty_metadata
from components.providers import nats_process
from tests.e2e.conftest import server_pid, small_environment
from tests.support.creds_checks import connect, js_publish
from tests.support.processes import kill_session, session_members
from tests.support.pulumi_cli import PulumiProject


async def _stream_infos(url: str, creds: str, names: list[str]) -> dict[str, Any]:
    """stream name -> STREAM.INFO response (an ``error`` entry when the stream is missing)."""
    nc = await connect(url, creds)
    try:
        out = {}
        for name in names:
            msg = await nc.request(f"$JS.API.STREAM.INFO.{name}", b"", timeout=3)
            out[name] = json.loads(msg.data)
        return out
    finally:
        await nc.close()


def stream_infos(url: str, creds: str, names: list[str]) -> dict[str, Any]:
    return asyncio.run(_stream_infos(url, creds, names))


def assert_all_streams(outputs: dict[str, Any]) -> None:
    """Every stream and KV bucket of every tenant is on the server, seen with the tenant's own creds."""
    for tid, t in outputs["tenants"].items():
        names = list(t["streams"]) + [f"KV_{b}" for b in t["kv_buckets"]]
        infos = stream_infos(outputs["nats_url"], t["creds"]["service"], names)
        missing = {n: i["error"] for n, i in infos.items() if "error" in i}
        assert not missing, f"tenant {tid}: streams missing on the server: {missing}"


def test_server_cannot_start_during_up_then_recovers(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf))
    project.init()
    project.up()
    pid = server_pid(project)
    assert nats_process.stop(pid) and not nats_process.pid_alive(pid)

    # Someone else now listens on the client port; a quota change needs the server.
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", client))
        squatter.listen(8)
        project.write_environment(small_environment(client, monitor, leaf, connections={"acme": 9}))
        res = project.up(check=False)
        assert res.returncode != 0, "up must fail while the client port is taken"
        assert f"127.0.0.1:{client}" in res.output and "already in use" in res.output, res.output[-3000:]
        assert not nats_process.port_in_use("127.0.0.1", monitor), "no server may have started"
    finally:
        squatter.close()

    project.up()
    new_pid = server_pid(project)
    assert new_pid != pid and nats_process.pid_alive(new_pid)
    project.preview("--expect-no-changes")
    outputs = project.outputs(show_secrets=True)
    assert_all_streams(outputs)


def test_server_restart_between_ups_restores_accounts_and_streams(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf))
    project.init()
    project.up()
    outputs = project.outputs(show_secrets=True)
    acme = outputs["tenants"]["acme"]
    before = stream_infos(outputs["nats_url"], acme["creds"]["service"], ["ACME_ORDERS_LIVE"])["ACME_ORDERS_LIVE"]

    pid = server_pid(project)
    assert nats_process.stop(pid)
    # With the server down, the preview reports the LocalServer (and only it) to start again.
    steps = [s for s in json.loads(project.run("preview", "--stack", project.stack, "--json").stdout)["steps"]
             if s.get("op") != "same"]
    assert [s["urn"].rsplit("::", 1)[-1] for s in steps] == ["dev-0"], steps

    project.up()
    new_pid = server_pid(project)
    assert new_pid != pid and nats_process.pid_alive(new_pid)
    # Accounts come back from the resolver directory, streams from the store: nothing to change.
    project.refresh("--expect-no-changes")
    project.preview("--expect-no-changes")
    assert_all_streams(outputs)
    after = stream_infos(outputs["nats_url"], acme["creds"]["service"], ["ACME_ORDERS_LIVE"])["ACME_ORDERS_LIVE"]
    assert after["created"] == before["created"], "the stream was re-created, not restored from the store"


def _checkpoint_resources(project: PulumiProject) -> list[dict[str, Any]]:
    paths = glob.glob(os.path.join(project.backend_dir, ".pulumi", "stacks", "*", f"{project.stack}.json"))
    if not paths:
        return []
    try:
        with open(paths[0], encoding="utf-8") as f:
            return json.load(f).get("checkpoint", {}).get("latest", {}).get("resources") or []
    except (OSError, ValueError):
        return []  # being rewritten


def test_interrupted_up_converges_without_loss(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    tenants = ("acme", "globex", "initech", "hooli", "umbrella")
    project.write_environment(small_environment(client, monitor, leaf, tenants=tenants))
    project.init()

    cmd = ["pulumi", "up", "--stack", project.stack, "--yes", "--skip-preview", "--non-interactive",
           "--color", "never"]
    env = project.env()
    env.pop("PULUMI_SKIP_CHECKPOINTS", None)  # progress is watched in the per-step checkpoints
    log_path = os.path.join(project.workdir, "interrupted-up.log")
    log = open(log_path, "wb")  # a file, not a pipe: a full pipe would stall the CLI
    proc = subprocess.Popen(cmd, cwd=project.project_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    streams = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            streams = sum(1 for r in _checkpoint_resources(project) if r.get("type", "").endswith(":Stream"))
            if streams >= 2:
                break
            time.sleep(0.2)
        finished = proc.poll() is not None
    finally:
        # A crash: the CLI and its plugins die at once. The CLI leads its own session; its plugins run
        # in process groups of their own inside that session, so kill the whole session by PID (the
        # nats-server is started in a session of its own and keeps running).
        kill_session(proc.pid)
        proc.wait(timeout=30)
        log.close()
    assert not finished, "up finished before it could be interrupted: " + open(log_path).read()[-2000:]
    assert streams >= 2, "no stream was created within 240s"
    assert not session_members(proc.pid), "processes of the killed update are still running"
    created = len(_checkpoint_resources(project))

    # Recover like a user. The file backend keeps the dead CLI's lock: `up` refuses and says how to
    # clear it; `cancel` removes it; `refresh --clear-pending-creates` drops creates that never
    # reported back (objects that reached the server anyway are adopted by the next create).
    locked = project.up(check=False)
    if "failed to load checkpoint: EOF" in locked.output:
        # Killed while the file backend wrote a state file's metadata: the empty ``.attrs`` beside
        # it is unreadable; without it the state file itself (intact) is read
        # (docs/runbooks/interrupted-up.md).
        assert drop_empty_metadata(f"file://{project.backend_dir}", [project.stack])
        locked = project.up(check=False)
    assert locked.returncode != 0 and "locked" in locked.output and "pulumi cancel" in locked.output, \
        locked.output[-2000:]
    project.run("cancel", "--stack", project.stack, "--yes")
    project.refresh("--clear-pending-creates")
    project.up()
    project.preview("--expect-no-changes")
    assert len(_checkpoint_resources(project)) > created
    outputs = project.outputs(show_secrets=True)
    assert sorted(outputs["tenants"]) == sorted(tenants)
    assert_all_streams(outputs)


def test_messages_survive_in_place_stream_update(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf, live_max_age={"acme": "72h"}))
    project.init()
    project.up()
    outputs = project.outputs(show_secrets=True)
    url, creds = outputs["nats_url"], outputs["tenants"]["acme"]["creds"]["service"]
    n = 50
    asyncio.run(js_publish(url, creds, "acme.events.orders.created", n, "ACME_ORDERS_LIVE"))
    before = stream_infos(url, creds, ["ACME_ORDERS_LIVE"])["ACME_ORDERS_LIVE"]
    assert before["state"]["messages"] == n
    assert before["config"]["max_age"] == 72 * 3600 * 10**9

    project.write_environment(small_environment(client, monitor, leaf, live_max_age={"acme": "48h"}))
    steps = [s for s in json.loads(project.run("preview", "--stack", project.stack, "--json").stdout)["steps"]
             if s.get("op") != "same"]
    assert [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in steps] == [("update", "ACME_ORDERS_LIVE")], steps
    project.up()

    after = stream_infos(url, creds, ["ACME_ORDERS_LIVE"])["ACME_ORDERS_LIVE"]
    assert after["config"]["max_age"] == 48 * 3600 * 10**9, "the new max_age is not on the server"
    assert after["created"] == before["created"], "the stream was replaced, not updated in place"
    assert after["state"]["messages"] == n and after["state"]["first_seq"] == 1 and after["state"]["last_seq"] == n
    project.preview("--expect-no-changes")
