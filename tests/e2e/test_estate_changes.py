"""Changing the environment file: the preview shows exactly what changes, and the servers follow.

One stack goes through: a quota edit (only that tenant's account changes, live, no restart), a new
tenant (its own resources plus its platform shard's account), a leaf node carrying a customer's
messages into the tenant's stream and nothing else, a consumer project reading the stack outputs
through a StackReference, and offboarding (the preview lists the deletes; the account leaves the
resolver, its users are refused).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil

import nats

from components.model.identity.jwt_codec import decode
from components.nats_io import messaging
from components.nats_io.resolver import lookup_account_jwt
from components.providers import nats_process
from tests.e2e.conftest import small_environment
from tests.support.creds_checks import REFUSED, connect, js_request, refused_within
from tests.support.pulumi_cli import ROOT, PulumiProject


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


async def _stream_messages(url: str, creds: str, stream: str) -> int:
    return int((await js_request(url, creds, f"$JS.API.STREAM.INFO.{stream}"))["state"]["messages"])


def test_changes_preview_and_apply_exactly(project: PulumiProject, tmp_path) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    leaf_listen = nats_process.free_port()
    env = lambda **kw: small_environment(client, monitor, leaf, leaf_listen_port=leaf_listen, **kw)  # noqa: E731
    project.write_environment(env())
    project.init()
    project.up()
    out = project.outputs(show_secrets=True)
    url = out["nats_url"]
    pid_file = os.path.join(project.project_dir, ".state", "test", "nats", "nats.pid")
    pid = int(open(pid_file).read())

    # 1. One tenant's quota: exactly that account changes, pushed live (same server PID).
    project.write_environment(env(connections={"acme": 7}))
    steps = project.preview_steps()
    assert [(s["op"], _name(s["urn"])) for s in steps] == [("update", "acme-account")], steps
    project.up()
    held = lookup_account_jwt([url], out["system"]["creds"], out["tenants"]["acme"]["account_public_key"])
    assert held and decode(held)["nats"]["limits"]["conn"] == 7
    assert int(open(pid_file).read()) == pid and nats_process.pid_alive(pid)

    # 2. A new tenant: its own resources plus its platform shard's account, nothing else changes.
    project.write_environment(env(tenants=("acme", "globex", "hooli"), connections={"acme": 7}))
    steps = project.preview_steps()
    updates = sorted(_name(s["urn"]) for s in steps if s["op"] == "update")
    creates = [_name(s["urn"]) for s in steps if s["op"] == "create"]
    # The data guard records the new tenant's streams and buckets (no server change).
    assert updates == ["data-guard", "platform-ingest-0"], steps
    assert "hooli-account" in creates and all("hooli" in c.lower() for c in creates), creates
    project.up()
    out = project.outputs(show_secrets=True)

    # 3. The leaf bundle: a customer's leaf server carries its messages into the tenant's stream.
    bundle = out["leafnodes"]["edge-1"]["directory"]
    assert os.path.exists(out["leafnodes"]["edge-1"]["archive"])
    leaf_dir = tmp_path / "leaf"
    shutil.copytree(bundle, leaf_dir)
    conf = leaf_dir / "leafnode.conf"
    log = str(leaf_dir / "leaf.log")
    leaf_pid = None
    try:
        leaf_pid = nats_process.start_detached(str(conf), log, cwd=str(leaf_dir))  # as the bundle's README says
        asyncio.run(_wait_port(leaf_listen))
        acme = out["tenants"]["acme"]
        before = asyncio.run(_stream_messages(url, acme["creds"]["service"], "ACME_ORDERS_LIVE"))
        local = f"nats://127.0.0.1:{leaf_listen}"
        asyncio.run(_publish_when_linked(local, url, acme["creds"]["service"], "acme.events.orders.web.created"))
        after = asyncio.run(_stream_messages(url, acme["creds"]["service"], "ACME_ORDERS_LIVE"))
        assert after >= before + 1
        # Nothing else: a publish at the leaf on another tenant's subject never reaches that tenant.
        glob = out["tenants"]["globex"]
        g_before = asyncio.run(_stream_messages(url, glob["creds"]["service"], "GLOBEX_ORDERS_LIVE"))
        asyncio.run(_publish_plain(local, "globex.events.orders.web.created"))
        asyncio.run(asyncio.sleep(0.5))
        assert asyncio.run(_stream_messages(url, glob["creds"]["service"], "GLOBEX_ORDERS_LIVE")) == g_before
    finally:
        if leaf_pid:
            nats_process.stop(leaf_pid)
            try:
                os.waitpid(leaf_pid, 0)
            except ChildProcessError:
                pass

    # 4. Another deployment reads the outputs through a StackReference.
    consumer = _consumer_project(project, tmp_path)
    consumer_out = json.loads(consumer.run("stack", "output", "--stack", "dev", "--json").stdout)
    assert consumer_out["nats_url"] == url
    assert consumer_out["acme_events"] == "acme.events.>"
    assert consumer_out["tenant_count"] == 3

    # 5. Offboarding: the preview lists the tenant's deletes; after up the account is gone and its
    #    users are refused.
    # hooli's live stream is WORM-like (deny_delete, the class default): offboarding must name it.
    acknowledged = "data_protection: {allow_data_loss: [HOOLI_ORDERS_LIVE]}\n"
    project.write_environment(env(tenants=("acme", "globex"), connections={"acme": 7}) + acknowledged)
    steps = project.preview_steps()
    deletes = {_name(s["urn"]) for s in steps if s["op"] == "delete"}
    assert {"hooli-account", "hooli-service", "HOOLI_ORDERS_LIVE", "HOOLI_ORDERS_LIVE_WORKER"} <= deletes, deletes
    assert sorted(_name(s["urn"]) for s in steps if s["op"] == "update") == ["data-guard", "platform-ingest-0"]
    hooli = out["tenants"]["hooli"]
    project.up()
    assert lookup_account_jwt([url], out["system"]["creds"], hooli["account_public_key"]) is None
    # The server drops a deleted account asynchronously: within seconds its users must be refused.
    assert REFUSED in asyncio.run(refused_within(url, hooli["creds"]["service"], seconds=10)), \
        "an offboarded tenant's user can still connect"


async def _wait_port(port: int, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if nats_process.port_in_use("127.0.0.1", port):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"leaf server did not listen on {port}")


async def _publish_plain(url: str, subject: str) -> None:
    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1, connect_timeout=3)
    try:
        await nc.publish(subject, b"from the leaf")
        await messaging.flush(nc)
    finally:
        await nc.close()


async def _publish_when_linked(local: str, hub: str, hub_creds: str, subject: str) -> None:
    """Publish at the leaf until the hub sees it (the leaf link takes a moment to come up)."""
    hub_nc = await connect(hub, hub_creds)
    try:
        sub = await hub_nc.subscribe(subject)
        for _ in range(50):
            await _publish_plain(local, subject)
            try:
                await sub.next_msg(timeout=0.2)
                return
            except nats.errors.TimeoutError:
                continue
        raise AssertionError("nothing published at the leaf reached the hub")
    finally:
        await hub_nc.close()


def _consumer_project(project: PulumiProject, tmp_path) -> PulumiProject:
    """The example consumer project, run against the same backend as the estate."""
    consumer = PulumiProject(str(tmp_path / "consumer"), stack="dev",
                             program_dir=os.path.join(ROOT, "examples", "consumer"), backend_dir=project.backend_dir)
    consumer.init(config={"estateStack": "organization/nats-tenancy/dev"})
    consumer.up()
    return consumer
