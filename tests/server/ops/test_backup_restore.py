"""Backup and restore with the real command line against a real server: every message, sequence
and header survives, gaps included, and an existing stream is never overwritten by accident."""
from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any

import nats
import pytest
from nats.aio.client import RawCredentials

from components.nats_io import messaging
from tests.server.ops.conftest import Estate, js, run_tool

STREAM = "ACME_EVENTS_ORDERS"
TOTAL = 30
DELETED = (5, 6, 7, 19)


async def _messages(nc: Any, stream: str) -> list[dict[str, Any]]:
    """Every stored message by sequence (gaps skipped), with raw headers and timestamps."""
    info = await js(nc, f"STREAM.INFO.{stream}")
    out = []
    for seq in range(info["state"]["first_seq"], info["state"]["last_seq"] + 1):
        msg = await nc.request(f"$JS.API.STREAM.MSG.GET.{stream}", json.dumps({"seq": seq}).encode(), timeout=5)
        reply = json.loads(msg.data)
        if "error" in reply:
            assert reply["error"]["err_code"] == 10037, reply
            continue
        out.append(reply["message"])
    return out


@pytest.fixture(scope="module")
def filled(estate: Estate) -> list[dict[str, Any]]:
    async def fill(nc: Any) -> list[dict[str, Any]]:
        await js(nc, f"STREAM.CREATE.{STREAM}", {"name": STREAM, "subjects": ["acme.events.orders.>"],
                                                 "storage": "file"})
        for i in range(1, TOTAL + 1):
            # ~600 bytes per message, so a 1 KiB chunk size gives many acked chunks.
            await nc.request(f"acme.events.orders.{'created' if i % 2 else 'paid'}", (f"order {i} ".encode() * 60),
                             headers={"Order-Id": str(i), "Trace": f"t-{i}"}, timeout=5)
        for seq in DELETED:
            await js(nc, f"STREAM.MSG.DELETE.{STREAM}", {"seq": seq})
        await js(nc, f"CONSUMER.CREATE.{STREAM}.BILLING", {"stream_name": STREAM, "config": {
            "durable_name": "BILLING", "ack_policy": "explicit"}, "action": "create"})
        return await _messages(nc, STREAM)

    return estate.run("acme", fill)


def _backup(estate: Estate, out: str, stream: str = STREAM) -> Any:
    return run_tool("components.ops.backup", "backup", "--url", estate.server.url, "--creds",
                    estate.creds_files["acme"], "--stream", stream, "--out", out, "--chunk-size", "1024")


def _restore(estate: Estate, src: str, *extra: str) -> Any:
    return run_tool("components.ops.backup", "restore", "--url", estate.server.url, "--creds",
                    estate.creds_files["acme"], "--from", src, "--chunk-size", "1024", *extra)


def test_backup_delete_restore_is_identical(estate: Estate, filled: list[dict[str, Any]], tmp_path: Any) -> None:
    assert [m["seq"] for m in filled] == [s for s in range(1, TOTAL + 1) if s not in DELETED]
    assert all(m.get("hdrs") for m in filled)

    res = _backup(estate, str(tmp_path))
    assert res.returncode == 0, res.stderr
    folder = tmp_path / STREAM
    assert sorted(os.listdir(folder)) == ["backup.json", "config.json", "manifest.json", "snapshot.bin", "state.json",
                                          "stream.arc.s2"]   # the last two: what nats stream restore reads
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["chunks"] > 1 and manifest["messages"] == TOTAL - len(DELETED)
    assert json.loads((folder / "config.json").read_text())["name"] == STREAM
    assert json.loads((folder / "state.json").read_text())["num_deleted"] == len(DELETED)

    estate.run("acme", lambda nc: js(nc, f"STREAM.DELETE.{STREAM}"))
    res = _restore(estate, str(tmp_path), "--stream", STREAM)
    assert res.returncode == 0, res.stderr
    assert f"restored stream {STREAM}" in res.stdout

    restored = estate.run("acme", lambda nc: _messages(nc, STREAM))
    assert restored == filled  # subject, seq, data, raw headers and time of every message
    heads = [base64.b64decode(m["hdrs"]).decode() for m in restored]
    assert "Order-Id: 8" in heads[4] and "Trace: t-8" in heads[4]
    consumer = estate.run("acme", lambda nc: js(nc, f"CONSUMER.INFO.{STREAM}.BILLING"))
    assert consumer["config"]["durable_name"] == "BILLING"


def test_restore_refuses_existing_stream_without_replace(estate: Estate, filled: list[dict[str, Any]],
                                                          tmp_path: Any) -> None:
    assert _backup(estate, str(tmp_path)).returncode == 0
    # Change the live stream so an overwrite would be visible.
    estate.run("acme", lambda nc: nc.request("acme.events.orders.late", b"late", timeout=5))
    before = estate.run("acme", lambda nc: _messages(nc, STREAM))
    assert len(before) == len(filled) + 1

    res = _restore(estate, str(tmp_path / STREAM))
    assert res.returncode == 1
    assert "exists" in res.stderr and "--replace" in res.stderr
    res = _restore(estate, str(tmp_path / STREAM), "--stream", "OTHER", "--replace")
    assert res.returncode == 1 and "only under its own name" in res.stderr
    assert estate.run("acme", lambda nc: _messages(nc, STREAM)) == before

    res = _restore(estate, str(tmp_path / STREAM), "--replace")
    assert res.returncode == 0, res.stderr
    assert estate.run("acme", lambda nc: _messages(nc, STREAM)) == filled


def test_kv_bucket_backs_up_like_a_stream(estate: Estate, tmp_path: Any) -> None:
    async def make(nc: Any) -> None:
        kv = await nc.jetstream().create_key_value(bucket="acme_settings", history=3)
        await kv.put("colour", b"blue")
        await kv.put("colour", b"green")
        await kv.put("size", b"xl")
        await kv.delete("size")

    estate.run("acme", make)
    res = _backup(estate, str(tmp_path), "KV_acme_settings")
    assert res.returncode == 0, res.stderr
    before = estate.run("acme", lambda nc: _messages(nc, "KV_acme_settings"))
    estate.run("acme", lambda nc: js(nc, "STREAM.DELETE.KV_acme_settings"))
    assert _restore(estate, str(tmp_path)).returncode == 0

    async def read(nc: Any) -> tuple[bytes, list[int]]:
        kv = await nc.jetstream().key_value("acme_settings")
        entry = await kv.get("colour")
        return entry.value, [e.revision for e in await kv.history("colour")]

    assert estate.run("acme", lambda nc: _messages(nc, "KV_acme_settings")) == before
    value, revisions = estate.run("acme", read)
    assert value == b"green" and revisions == [1, 2]


def test_restore_refuses_a_tampered_snapshot(estate: Estate, filled: list[dict[str, Any]], tmp_path: Any) -> None:
    assert _backup(estate, str(tmp_path)).returncode == 0
    snap = tmp_path / STREAM / "snapshot.bin"
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snap.write_bytes(bytes(data))
    res = _restore(estate, str(tmp_path), "--replace")
    assert res.returncode == 1 and "does not match its manifest" in res.stderr
    assert estate.run("acme", lambda nc: _messages(nc, STREAM))[: len(filled)] == filled


def test_the_backup_role_backs_up_and_restores_but_touches_no_data(estate: Estate, filled: list[dict[str, Any]],
                                                                   tmp_path: Any) -> None:
    """The least-privilege ``backup`` role an environment file can give a tenant user
    (``users: [{name: ops, role: backup}]``) is enough for the tool, and for nothing else."""
    from components.model.identity.roles import tenant_backup_user

    creds = tmp_path / "acme-backup.creds"
    creds.write_text(estate.setup.user_creds(estate.accounts["acme"], tenant_backup_user("acme")))
    os.chmod(creds, 0o600)
    out = tmp_path / "backup"
    res = run_tool("components.ops.backup", "backup", "--url", estate.server.url, "--creds", str(creds),
                   "--stream", STREAM, "--out", str(out), "--chunk-size", "1024")
    assert res.returncode == 0, res.stderr
    estate.run("acme", lambda nc: js(nc, f"STREAM.DELETE.{STREAM}"))
    res = run_tool("components.ops.backup", "restore", "--url", estate.server.url, "--creds", str(creds),
                   "--from", str(out), "--stream", STREAM, "--chunk-size", "1024")
    assert res.returncode == 0, res.stderr
    assert estate.run("acme", lambda nc: _messages(nc, STREAM)) == filled

    async def publish_and_subscribe() -> list[str]:
        errors: list[str] = []

        async def on_error(e: Exception) -> None:
            errors.append(str(e))

        nc = await nats.connect(estate.server.url, user_credentials=RawCredentials(creds.read_text()),
                                allow_reconnect=False, max_reconnect_attempts=1, connect_timeout=3, error_cb=on_error)
        try:
            await nc.publish("acme.events.orders.created", b"forged")
            await nc.subscribe("acme.events.>")
            await messaging.flush(nc)
            await asyncio.sleep(0.5)
        finally:
            await nc.close()
        return errors

    errors = asyncio.run(publish_and_subscribe())
    assert any("publish" in e.lower() and "acme.events.orders.created" in e for e in errors), errors
    assert any("subscription" in e.lower() and "acme.events.>" in e for e in errors), errors
