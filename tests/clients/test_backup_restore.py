"""Back up, destroy, restore with the standard tool (``nats stream backup|restore``) and the backup
role's context; every message comes back with its sequence, subject, headers and data. Backups made
by ``components.ops.backup`` restore with natscli, and natscli's with the tool."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Iterator

import pytest
from nats.js.errors import NotFoundError

from tests.clients import natscli
from tests.clients.tenancy import Tenancy

STREAM = "ACME_AUDIT_LIVE"
SUBJECT = "acme.events.audit"
MESSAGES = 300


def _api(t: Tenancy, who: str, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    async def go(nc: Any) -> dict[str, Any]:
        msg = await nc.request(f"$JS.API.{subject}", json.dumps(body or {}).encode() if body is not None else b"",
                               timeout=5)
        return json.loads(msg.data)
    return t.run(who, go)


def _messages(t: Tenancy, stream: str) -> list[tuple[int, str, str, str]]:
    """(seq, subject, headers, data) of every message, read with the provisioning user."""
    async def go(nc: Any) -> list[tuple[int, str, str, str]]:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                m = await js.get_msg(stream, seq)
            except NotFoundError:  # a deleted message: the gap is part of what must come back
                continue
            out.append((m.seq, m.subject, json.dumps(m.headers or {}, sort_keys=True), (m.data or b"").decode()))
        return out
    return t.run("acme.provisioning", go)


@pytest.fixture
def filled(tenants: Tenancy) -> Iterator[list[tuple[int, str, str, str]]]:
    created = _api(tenants, "acme.provisioning", f"STREAM.CREATE.{STREAM}",
                   {"name": STREAM, "subjects": [f"{SUBJECT}.>"], "storage": "file"})
    assert "error" not in created, created

    async def fill(nc: Any) -> None:
        js = nc.jetstream()
        for i in range(MESSAGES):
            await js.publish(f"{SUBJECT}.e{i % 7}", f"event-{i}".encode() * 20, headers={"Nats-Msg-Id": f"id-{i}"})
    tenants.run("acme.service", fill)
    _api(tenants, "acme.provisioning", f"STREAM.MSG.DELETE.{STREAM}", {"seq": 10})  # a gap survives too
    before = _messages(tenants, STREAM)
    assert len(before) == MESSAGES - 1
    yield before
    _api(tenants, "acme.provisioning", f"STREAM.DELETE.{STREAM}")


def _nats(t: Tenancy, *args: str) -> str:
    res = natscli.run(t.context_file("acme.ops"), *args, timeout=60)
    out = natscli.text(res)
    assert res.returncode == 0, f"nats {' '.join(args)}: {out}"
    return out


def _tool(t: Tenancy, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "components.ops.backup", *args[:1], "--url", t.url,
                           "--creds", t.creds_file("acme.ops"), *args[1:]],
                          cwd=natscli.ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _natscli_built() -> None:
    if natscli.missing():
        pytest.skip(natscli.missing())


def test_natscli_backup_destroy_restore_brings_every_message_back(tenants: Tenancy, filled: list[Any],
                                                                  tmp_path: Any) -> None:
    out = str(tmp_path / "audit")
    _nats(tenants, "stream", "backup", STREAM, out)
    _nats(tenants, "stream", "rm", STREAM, "-f")
    gone = _api(tenants, "acme.provisioning", f"STREAM.INFO.{STREAM}")
    assert gone.get("error", {}).get("err_code") == 10059, gone
    _nats(tenants, "stream", "restore", out)
    assert _messages(tenants, STREAM) == filled


def test_natscli_restores_a_kv_bucket_through_its_stream(tenants: Tenancy, tmp_path: Any) -> None:
    async def put(nc: Any) -> list[bytes]:
        kv = await nc.jetstream().key_value("acme_settings")
        for v in (b"red", b"green", b"blue"):
            await kv.put("backup-colour", v)
        return [e.value for e in await kv.history("backup-colour")]
    history = tenants.run("acme.service", put)
    out = str(tmp_path / "kv")
    _nats(tenants, "stream", "backup", "KV_acme_settings", out)
    _nats(tenants, "stream", "rm", "KV_acme_settings", "-f")
    _nats(tenants, "stream", "restore", out)

    async def read(nc: Any) -> list[bytes]:
        kv = await nc.jetstream().key_value("acme_settings")
        return [e.value for e in await kv.history("backup-colour")]
    assert tenants.run("acme.service", read) == history == [b"red", b"green", b"blue"]


def test_tool_backup_restores_with_natscli(tenants: Tenancy, filled: list[Any], tmp_path: Any) -> None:
    res = _tool(tenants, "backup", "--stream", STREAM, "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    _nats(tenants, "stream", "rm", STREAM, "-f")
    _nats(tenants, "stream", "restore", str(tmp_path / STREAM))
    assert _messages(tenants, STREAM) == filled


def test_natscli_backup_restores_with_the_tool(tenants: Tenancy, filled: list[Any], tmp_path: Any) -> None:
    out = tmp_path / "natscli"
    _nats(tenants, "stream", "backup", STREAM, str(out))
    res = _tool(tenants, "restore", "--from", str(out), "--replace")
    assert res.returncode == 0, res.stderr
    assert f"restored stream {STREAM}: {MESSAGES - 1} messages" in res.stdout, res.stdout
    assert _messages(tenants, STREAM) == filled
