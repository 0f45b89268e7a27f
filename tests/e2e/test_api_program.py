"""``examples/api_program`` through the real Pulumi CLI: a program of its own that builds an operator,
a nats-server, two tenants, an account with an import and a user, a stream, a consumer and a KV
bucket with ``components.api`` alone, and nothing of the environment-file program.

The checks are on the server the program started: the stream, consumer and bucket live in their
tenants' accounts (``/jsz``), the tenant's service creds store a message in the stream, the ops
account's user receives acme's events through the import, a second preview changes nothing, and
``destroy`` stops the server. ``PYTHONPATH`` stands in for ``pip install`` of the package into the
program's virtualenv (the program and its dynamic providers import ``components`` by name either
way); the install itself is proven on a clean virtualenv apart.
"""
from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from typing import Any

import pytest

from components.providers import nats_process
from tests.support.operator_mode import connect
from tests.support.pulumi_cli import ROOT, PulumiProject, missing_toolchain

pytestmark = pytest.mark.skipif(missing_toolchain() is not None, reason=str(missing_toolchain()))


def _jsz(monitor_url: str) -> dict[str, dict[str, Any]]:
    """Account public key -> {stream name: stream detail} as the server reports it."""
    url = f"{monitor_url}/jsz?accounts=true&streams=true&consumers=true"
    with urllib.request.urlopen(url, timeout=5) as resp:
        jsz = json.loads(resp.read())
    accounts = jsz.get("account_details") or []
    return {acc["id"]: {s["name"]: s for s in acc.get("stream_detail") or []} for acc in accounts}


async def _publish_and_receive(url: str, creds: dict[str, str]) -> tuple[int, bytes]:
    """Publish one order as acme's service user; the stream acks it, and ops' reader gets it through
    the import. Returns the stream sequence and what the reader received."""
    reader = await connect(url, creds["ops_reader"])
    service = await connect(url, creds["acme_service"])
    try:
        sub = await reader.nc.subscribe("acme.events.>")
        await reader.nc.flush()
        ack = await service.nc.jetstream().publish("acme.events.orders.created", b"order-1")
        msg = await sub.next_msg(timeout=5)
        return ack.seq, msg.data
    finally:
        await service.close()
        await reader.close()


def test_api_program_builds_tenants_and_a_stream_on_a_real_server(tmp_path) -> None:
    client_port, monitor_port = nats_process.free_port(), nats_process.free_port()
    project = PulumiProject(str(tmp_path), stack="dev", program_dir=os.path.join(ROOT, "examples", "api_program"))
    project.extra_env["PYTHONPATH"] = ROOT
    project.init(config={"clientPort": str(client_port), "monitorPort": str(monitor_port),
                         "dataDir": str(tmp_path / "nats")})
    try:
        project.up()
        out = project.outputs(show_secrets=True)
        assert out["nats_url"] == f"nats://127.0.0.1:{client_port}" and out["stream"] == "ACME_ORDERS"
        accounts = out["accounts"]
        assert len({accounts["acme"], accounts["globex"], accounts["ops"]}) == 3

        by_account = _jsz(out["monitor_url"])
        assert set(by_account[accounts["acme"]]) == {"ACME_ORDERS"}
        assert set(by_account[accounts["globex"]]) == {"KV_settings"}
        orders = by_account[accounts["acme"]]["ACME_ORDERS"]
        assert [c["name"] for c in orders.get("consumer_detail") or []] == ["worker"]

        seq, data = asyncio.run(_publish_and_receive(out["nats_url"], out["creds"]))
        assert (seq, data) == (1, b"order-1")
        assert _jsz(out["monitor_url"])[accounts["acme"]]["ACME_ORDERS"]["state"]["messages"] == 1

        project.preview("--expect-no-changes")
        state = project.export_state()
        for secret in out["creds"].values():
            assert secret.split("-----BEGIN USER NKEY SEED-----")[1].split("------END")[0].strip() not in state
    finally:
        project.destroy(check=False)
    assert not nats_process.port_in_use("127.0.0.1", client_port)
