"""The dev stack through the real Pulumi CLI: preview, up, a no-op up, refresh, destroy.

Checks real outcomes on the real nats-server the stack starts: the stream exists after ``up`` (seen
through the tenant's own creds from the stack outputs), a second ``up`` and a ``refresh`` change
nothing, and after ``destroy`` the stream is gone from the server's store and the server is stopped.
"""
from __future__ import annotations

import asyncio
import json
import os
import re

import nats
from nats.aio.client import RawCredentials

from components.providers import nats_process
from tests.e2e.conftest import small_environment
from tests.support.pulumi_cli import PulumiProject

SEED = re.compile(r"S[OAU]A[A-Z2-7]{50,}")


async def _stream_names(url: str, creds: str) -> list[str]:
    nc = await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                            max_reconnect_attempts=0, connect_timeout=3)
    try:
        msg = await nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=3)
        return sorted(json.loads(msg.data).get("streams") or [])
    finally:
        await nc.close()


def test_preview_up_noop_refresh_destroy(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf))
    project.init()

    preview = project.preview()
    assert "nats-tenancy:index:Estate" in preview.output
    assert re.search(r"\+ \d+ to create", preview.output), preview.output[-2000:]
    assert not nats_process.port_in_use("127.0.0.1", client), "preview must not start the server"

    project.up()
    outputs = project.outputs(show_secrets=True)
    assert outputs["nats_url"] == f"nats://127.0.0.1:{client}"
    acme = outputs["tenants"]["acme"]
    assert acme["streams"] == ["ACME_ORDERS_LIVE", "ACME_DEAD_LETTERS"]
    names = asyncio.run(_stream_names(outputs["nats_url"], acme["creds"]["service"]))
    assert "ACME_ORDERS_LIVE" in names and "KV_acme_settings" in names

    # Idempotent: the second up and a refresh change nothing.
    project.up("--expect-no-changes")
    project.refresh("--expect-no-changes")
    project.preview("--expect-no-changes")

    # Secrets never in plaintext: state, CLI output.
    state = project.export_state()
    assert not SEED.search(state), "a seed is in the state file in plaintext"
    assert "BEGIN NATS USER JWT" not in state
    assert not SEED.search(project.all_cli_output())

    # The store keeps each account's streams under <store_dir>/jetstream/<account key>/streams.
    store = os.path.join(project.project_dir, ".state", "test", "nats", "jetstream")
    acct_dir = os.path.join(store, "jetstream", acme["account_public_key"], "streams")
    assert os.path.isdir(os.path.join(acct_dir, "ACME_ORDERS_LIVE")), os.listdir(store)
    pid = int(open(os.path.join(project.project_dir, ".state", "test", "nats", "nats.pid")).read())
    assert nats_process.pid_alive(pid)

    project.destroy()
    assert not os.path.exists(os.path.join(acct_dir, "ACME_ORDERS_LIVE")), "stream still in the store"
    assert not nats_process.pid_alive(pid), "destroy must stop the server it started"
