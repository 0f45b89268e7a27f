"""No data lost by surprise, through the real CLI: a replace or an offboarding that would destroy
stored messages is refused in preview and up (nothing changes on the server) until the environment
acknowledges it; the preview shows what is lost; WORM-like streams are refused even when empty; a
backup taken before the loss restores every message with ``nats stream restore``.
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import subprocess
import textwrap

import pytest

from components.model.identity.jwt_codec import decode
from components.nats_io.resolver import lookup_account_jwt
from tests.e2e.conftest import small_environment
from tests.support.creds_checks import js_publish, js_request
from tests.support.pulumi_cli import ROOT, PulumiProject

NATS_CLI = os.path.join(ROOT, ".tools", "natscli-v0.5.0", "bin", "nats")


def _acme(orders_storage: str = "file", audit_storage: str = "file") -> str:
    """acme with an ordinary stream (orders, deny_delete off), a WORM-like one (audit) and a backup user."""
    return textwrap.dedent(f"""
      - id: acme
        name: Acme Inc
        tier: small
        users: [{{name: ops, role: backup}}]
        domains:
          orders:
            live: {{storage: {orders_storage}, deny_delete: false, max_bytes: 1MiB}}
          audit:
            live: {{storage: {audit_storage}, deny_delete: true, max_bytes: 1MiB}}
        kv_buckets:
          - name: settings
    """)


def _env(project: PulumiProject, tenants: tuple[str, ...] = (), protection: str = "", **acme: str) -> str:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    text = small_environment(client, monitor, leaf, tenants=tenants, extra_tenant_yaml=_acme(**acme))
    return text + (f"data_protection: {protection}\n" if protection else "")


def _messages(url: str, creds: str, stream: str) -> dict:
    info = asyncio.run(js_request(url, creds, f"$JS.API.STREAM.INFO.{stream}"))
    assert "error" not in info, info
    return {"messages": info["state"]["messages"], "storage": info["config"]["storage"]}


def _show(title: str, output: str) -> None:
    """What the preview said, in the test log (``pytest -s``): the texts users see."""
    keep = [line for line in output.splitlines() if "data impact:" in line]
    if "data loss refused" in output:
        start = output.index("data loss refused")
        keep.append(output[start:output.index("or revert the change.", start) + len("or revert the change.")])
    print(f"\n--- {title}\n" + "\n".join(keep))


def _refused(project: PulumiProject, *names: str) -> str:
    """Preview and up both fail naming the objects; returns the preview's output."""
    preview = project.preview(check=False)
    _show(f"refused: {', '.join(names)}", preview.output)
    assert preview.returncode != 0, preview.output
    assert "data loss refused" in preview.output, preview.output[-3000:]
    up = project.up(check=False)
    assert up.returncode != 0 and "data loss refused" in up.output, up.output[-3000:]
    for name in names:
        assert name in preview.output and name in up.output
    return preview.output


def _refusal(output: str) -> str:
    """The refusal error alone (the CLI prints the diagnostics around it in no fixed order)."""
    start = output.index("data loss refused")
    return output[start:output.index("or revert the change.", start)]


def _platform_imports(url: str, out: dict) -> list:
    token = lookup_account_jwt([url], out["system"]["creds"], out["platform"]["accounts"][0])
    assert token, "the platform account is on the resolver"
    return decode(token)["nats"].get("imports") or []


def _impact_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if "data impact:" in line]


def test_replace_is_refused_until_acknowledged_worm_always_and_backup_restores(project: PulumiProject) -> None:
    if not os.access(NATS_CLI, os.X_OK):
        pytest.skip("natscli is not built: run `make setup` first (scripts/setup.sh builds .tools/natscli-v0.5.0)")
    project.write_environment(_env(project))
    project.init()
    project.up()
    out = project.outputs(show_secrets=True)
    url, creds = out["nats_url"], out["tenants"]["acme"]["creds"]
    asyncio.run(js_publish(url, creds["service"], "acme.events.orders.web.created", 5, "ACME_ORDERS_LIVE"))

    # 1. A replace of a stream holding 5 messages is refused, with 5 in the message; nothing changes.
    project.write_environment(_env(project, orders_storage="memory"))
    text = _refused(project, "ACME_ORDERS_LIVE")
    assert "holds 5 messages" in text and "allow_data_loss: [ACME_ORDERS_LIVE]" in text
    assert _messages(url, creds["service"], "ACME_ORDERS_LIVE") == {"messages": 5, "storage": "file"}

    # 2. Acknowledged, the preview shows the 5 messages and up replaces the stream.
    project.write_environment(_env(project, orders_storage="memory",
                                   protection="{allow_data_loss: [ACME_ORDERS_LIVE]}"))
    preview = project.preview()
    _show("acknowledged replace", preview.output)
    lines = _impact_lines(preview.output)
    assert any("ACME_ORDERS_LIVE" in line and "losing 5 messages" in line and "acknowledged" in line
               for line in lines), preview.output[-3000:]
    project.up()
    assert _messages(url, creds["service"], "ACME_ORDERS_LIVE") == {"messages": 0, "storage": "memory"}

    # 3. A WORM-like stream (deny_delete) is refused even when empty.
    project.write_environment(_env(project, orders_storage="memory", audit_storage="memory"))
    text = _refused(project, "ACME_AUDIT_LIVE")
    assert "WORM-protected (deny_delete)" in text and "holds 0 messages" in text

    # 4. With backup_before_loss (recorded by an up of its own), the acknowledged replace snapshots
    #    the stream first; `nats stream restore` brings back all 7 messages.
    backups = ".state/backups"
    project.write_environment(_env(project, orders_storage="memory", protection=f"{{backup_before_loss: {backups}}}"))
    project.up()
    asyncio.run(js_publish(url, creds["service"], "acme.events.audit.login", 7, "ACME_AUDIT_LIVE"))
    project.write_environment(_env(project, orders_storage="memory", audit_storage="memory",
                                   protection=f"{{allow_data_loss: [ACME_AUDIT_LIVE], backup_before_loss: {backups}}}"))
    preview = project.preview()
    _show("acknowledged replace with backup", preview.output)
    assert any("ACME_AUDIT_LIVE" in line and "losing 7 messages" in line and "snapshot is written to" in line
               for line in _impact_lines(preview.output)), preview.output[-3000:]
    project.up()
    assert _messages(url, creds["service"], "ACME_AUDIT_LIVE") == {"messages": 0, "storage": "memory"}
    snapshots = glob.glob(os.path.join(project.project_dir, backups, "ACME_AUDIT_LIVE", "*"))
    assert len(snapshots) == 1, snapshots
    with open(os.path.join(snapshots[0], "backup.json"), encoding="utf-8") as f:
        assert json.load(f)["state"]["messages"] == 7

    creds_file = os.path.join(project.workdir, "ops.creds")
    with open(creds_file, "w", encoding="utf-8") as f:
        f.write(creds["ops"])
    nats = [NATS_CLI, "--server", url, "--creds", creds_file]
    env = {**os.environ, "HOME": project.workdir}   # no nats contexts of the machine's user
    subprocess.run([*nats, "stream", "rm", "ACME_AUDIT_LIVE", "-f"], check=True, capture_output=True, timeout=60,
                   env=env)
    restored = subprocess.run([*nats, "stream", "restore", "--no-progress", snapshots[0]], capture_output=True,
                              text=True, timeout=120, env=env, check=False)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _messages(url, creds["service"], "ACME_AUDIT_LIVE") == {"messages": 7, "storage": "file"}
    assert "SUAC" not in project.all_cli_output() and "BEGIN USER NKEY SEED" not in project.all_cli_output()


def test_offboarding_with_data_is_refused_then_acknowledged(project: PulumiProject) -> None:
    project.write_environment(_env(project, tenants=("globex",)))
    project.init()
    project.up()
    out = project.outputs(show_secrets=True)
    url, globex = out["nats_url"], out["tenants"]["globex"]
    asyncio.run(js_publish(url, globex["creds"]["service"], "globex.events.orders.web.created", 3,
                           "GLOBEX_ORDERS_LIVE"))

    # Offboarding globex: refused in preview and up; the stream keeps its messages, the account stays.
    project.write_environment(_env(project))
    text = _refused(project, "GLOBEX_ORDERS_LIVE")
    assert "holds 3 messages" in text and "WORM-protected (deny_delete)" in text
    assert "globex_settings" not in _refusal(text), "an empty bucket needs no acknowledgement"
    assert _messages(url, globex["creds"]["service"], "GLOBEX_ORDERS_LIVE")["messages"] == 3
    assert lookup_account_jwt([url], out["system"]["creds"], globex["account_public_key"]) is not None
    # The platform account, which waits for the guard, still imports globex's subjects.
    assert "globex." in json.dumps(_platform_imports(url, out)), "the refused up changed the platform account"

    # A backup asked for in the same change as the delete can't be taken (the delete sees only the
    # recorded state): refused with that reason.
    backups = ".state/backups"
    both = f"{{allow_data_loss: [GLOBEX_ORDERS_LIVE], backup_before_loss: {backups}}}"
    project.write_environment(_env(project, protection=both))
    preview = project.preview(check=False)
    assert preview.returncode != 0 and "backup_before_loss is new in this change" in preview.output

    # Recorded first (an up with globex still there), then acknowledged: the preview lists the loss
    # and the snapshot, up snapshots and deletes the tenant.
    project.write_environment(_env(project, tenants=("globex",), protection=f"{{backup_before_loss: {backups}}}"))
    project.up()
    project.write_environment(_env(project, protection=both))
    preview = project.preview()
    _show("acknowledged offboarding with backup", preview.output)
    lines = _impact_lines(preview.output)
    assert any("GLOBEX_ORDERS_LIVE" in line and "losing 3 messages" in line and "acknowledged" in line
               and "snapshot is written to" in line for line in lines), preview.output[-3000:]
    assert any("globex_settings" in line and "empty, allowed" in line for line in lines), lines
    project.up()
    assert lookup_account_jwt([url], out["system"]["creds"], globex["account_public_key"]) is None
    assert "globex." not in json.dumps(_platform_imports(url, out))
    [snapshot] = glob.glob(os.path.join(project.project_dir, backups, "GLOBEX_ORDERS_LIVE", "*"))
    with open(os.path.join(snapshot, "backup.json"), encoding="utf-8") as f:
        assert json.load(f)["state"]["messages"] == 3
    assert not glob.glob(os.path.join(project.project_dir, backups, "KV_globex_settings")), "empty: no snapshot"
