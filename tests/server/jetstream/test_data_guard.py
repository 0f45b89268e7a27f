"""The data guard and the pre-loss backup against a real nats-server in operator mode.

The guard reads a removed object's state through the system account and refuses an unacknowledged
loss; a stream's delete with a recorded ``backup_dir`` leaves a snapshot that ``nats stream
restore`` (natscli) and ``components.ops.backup`` both read back with every message.
"""
from __future__ import annotations

import asyncio
import glob
import os
import subprocess
from typing import Iterator

import pytest

from components.model.identity.account import AccountSpec
from components.model.identity.roles import tenant_backup_user, tenant_provisioning_user, tenant_service_user
from components.nats_io.errors import StreamNotFound, api_error
from components.providers.data_guard import DataGuardProvider
from components.providers.stream import StreamProvider
from tests.support.creds_checks import js_publish, js_request
from tests.support.operator_mode import OperatorSetup
from tests.support.pulumi_cli import ROOT

NATS_CLI = os.path.join(ROOT, ".tools", "natscli-v0.5.0", "bin", "nats")
G = DataGuardProvider()
P = StreamProvider()


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    setup, server = OperatorSetup.create(str(tmp_path_factory.mktemp("guard")))
    try:
        account, _ = setup.add_account(AccountSpec(name="acme"))
        yield {"url": server.url, "system": setup.system_creds, "key": account.public_key,
               "provisioning": setup.user_creds(account, tenant_provisioning_user("acme")),
               "service": setup.user_creds(account, tenant_service_user("acme")),
               "backup": setup.user_creds(account, tenant_backup_user("acme"))}
    finally:
        server.stop()


def _stream(acme: dict, name: str, messages: int, deny_delete: bool = False, **extra) -> tuple[str, dict]:
    inputs = P.check({}, {"name": name, "subjects": [f"acme.events.{name.lower()}.>"], "deny_delete": deny_delete,
                          "server_url": acme["url"], "creds": acme["provisioning"], "account_label": "acme",
                          "prevent_destroy": False, **extra}).inputs
    made = P.create(inputs)
    if messages:
        asyncio.run(js_publish(acme["url"], acme["service"], f"acme.events.{name.lower()}.x", messages, name))
    return made.id, made.outs


def _guard(acme: dict, *streams: str, allow: tuple[str, ...] = ()) -> dict:
    return {"server_url": acme["url"], "system_creds": acme["system"], "expect_servers": 1,
            "objects": [{"account": "acme", "account_key": acme["key"], "kind": "stream", "name": s, "stream": s}
                        for s in streams],
            "allow_data_loss": list(allow), "backup_dir": "", "file": "environments/test.yaml"}


def test_guard_refuses_removing_a_stream_with_data_until_acknowledged(acme, capfd):
    _stream(acme, "GUARDED", 4)
    _stream(acme, "EMPTY", 0)
    with pytest.raises(RuntimeError) as err:
        G.diff("data-guard", _guard(acme, "GUARDED", "EMPTY", "NEVER_MADE"), _guard(acme))
    text = str(err.value)
    assert "stream GUARDED (account acme)" in text and "holds 4 messages" in text
    assert "add to environments/test.yaml" in text and "allow_data_loss: [GUARDED]" in text
    assert "EMPTY" not in text.split("allow_data_loss")[1], "an empty stream needs no acknowledgement"
    printed = capfd.readouterr().err
    assert "stream EMPTY (account acme)" in printed and "empty, allowed" in printed
    assert "stream NEVER_MADE (account acme)" in printed and "nothing to lose" in printed

    d = G.diff("data-guard", _guard(acme, "GUARDED", "EMPTY"), _guard(acme, allow=("GUARDED",)))
    assert d.changes and not d.replaces
    assert "losing 4 messages" in capfd.readouterr().err
    assert not G.diff("data-guard", _guard(acme, "GUARDED"), _guard(acme, "GUARDED")).changes


def test_guard_refuses_removing_a_kv_bucket_with_a_value(acme):
    from components.providers.kv_bucket import KvBucketProvider

    kv = KvBucketProvider()
    made = kv.create(kv.check({}, {"bucket": "acme_carts", "server_url": acme["url"], "creds": acme["provisioning"],
                                   "account_label": "acme", "prevent_destroy": False}).inputs)
    bucket = {"account": "acme", "account_key": acme["key"], "kind": "key-value bucket", "name": "acme_carts",
              "stream": made.id}
    olds = {**_guard(acme), "objects": [bucket]}
    # Empty, and deny_delete like every bucket: the removal passes (and is recorded).
    assert G.diff("data-guard", olds, _guard(acme)).changes
    asyncio.run(js_request(acme["url"], acme["service"], "$KV.acme_carts.cart-1", b"{}"))
    with pytest.raises(RuntimeError, match=r"(?s)key-value bucket acme_carts \(account acme\).*holds 1 messages"):
        G.diff("data-guard", olds, _guard(acme))
    assert G.diff("data-guard", olds, _guard(acme, allow=("KV_acme_carts",))).changes


def test_guard_refuses_an_empty_worm_stream_and_an_unreachable_server(acme):
    _stream(acme, "EVIDENCE", 0, deny_delete=True)
    with pytest.raises(RuntimeError, match=r"(?s)WORM-protected \(deny_delete\) and holds 0 messages"):
        G.diff("data-guard", _guard(acme, "EVIDENCE"), _guard(acme))
    gone = {**_guard(acme, "EVIDENCE"), "server_url": "nats://127.0.0.1:1"}
    with pytest.raises(RuntimeError, match="unknown number of messages"):
        G.diff("data-guard", gone, _guard(acme))


def test_guard_reads_an_account_the_server_has_not_loaded_since_a_restart(tmp_path):
    """After a restart nothing of the account is loaded until asked for: the guard's request must
    still see the stream's messages on disk, not an empty account."""
    setup, server = OperatorSetup.create(str(tmp_path))
    try:
        account, _ = setup.add_account(AccountSpec(name="acme"))
        acme = {"url": server.url, "system": setup.system_creds, "key": account.public_key,
                "provisioning": setup.user_creds(account, tenant_provisioning_user("acme")),
                "service": setup.user_creds(account, tenant_service_user("acme"))}
        _stream(acme, "DURABLE", 2)
        server.restart()
        with pytest.raises(RuntimeError, match="holds 2 messages"):
            G.diff("data-guard", _guard(acme, "DURABLE"), _guard(acme))
        with pytest.raises(RuntimeError, match="unknown number of messages"):
            G.diff("data-guard", {**_guard(acme, "DURABLE"), "system_creds": acme["service"]}, _guard(acme))
    finally:
        server.stop()


def test_replacement_is_refused_with_the_count_then_allowed(acme):
    id_, outs = _stream(acme, "REPLACED", 6)
    news = P.check({}, {**{k: v for k, v in outs.items() if k not in ("config", "created", "messages", "bytes")},
                        "storage": "memory"}).inputs
    with pytest.raises(RuntimeError, match=r"(?s)replaces it.*holds 6 messages.*allow_data_loss: \[REPLACED\]"):
        P.diff(id_, outs, news)
    assert P.diff(id_, outs, {**news, "data_protection": {"allow_data_loss": True}}).replaces == ["storage"]
    with pytest.raises(RuntimeError, match="backup_before_loss is new in this change"):
        P.diff(id_, outs, {**news, "data_protection": {"allow_data_loss": True, "backup_dir": "/tmp/x"}})


def test_delete_with_recorded_backup_dir_leaves_a_restorable_snapshot(acme, tmp_path):
    if not os.access(NATS_CLI, os.X_OK):
        pytest.skip("natscli is not built: run `make setup` first (scripts/setup.sh builds .tools/natscli-v0.5.0)")
    backups = str(tmp_path / "backups")
    id_, outs = _stream(acme, "BACKED", 9, data_protection={"backup_dir": backups})
    assert outs["data_protection"] == {"backup_dir": backups}, "the setting is recorded in the state"
    P.delete(id_, outs)
    gone = asyncio.run(js_request(acme["url"], acme["service"], "$JS.API.STREAM.INFO.BACKED"))
    assert isinstance(api_error(gone["error"]), StreamNotFound), gone
    [snapshot] = glob.glob(os.path.join(backups, "BACKED", "*"))
    assert {"backup.json", "stream.arc.s2", "manifest.json", "snapshot.bin"} <= set(os.listdir(snapshot))

    creds = tmp_path / "backup.creds"
    creds.write_text(acme["backup"])
    restored = subprocess.run([NATS_CLI, "--server", acme["url"], "--creds", str(creds), "stream", "restore",
                               "--no-progress", snapshot], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "HOME": str(tmp_path)}, check=False)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    info = asyncio.run(js_request(acme["url"], acme["service"], "$JS.API.STREAM.INFO.BACKED"))
    assert info["state"]["messages"] == 9
