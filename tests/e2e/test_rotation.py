"""Rotating creds and signing keys (docs/runbooks/rotation.md), against a real nats-server.

- `pulumi up --replace <urn>`: the new user is created first, then the old one is deleted, which
  revokes its key at once.
- `credentials.users.<name>` raised in the environment file: the user gets a new key and creds in
  place; the old ones keep working for `credentials.grace_period`, and the first `up` after that
  revokes them (the preview lists that update first).
- `credentials.signing_key` raised: the account gets a new signing key, every user is re-issued
  with it, and the old key stays in the account JWT for the grace period.
In every case the new creds work, the old ones end up refused, and the server is never restarted.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from components.model.identity.jwt_codec import decode
from components.nats_io.resolver import lookup_account_jwt
from tests.e2e.conftest import server_pid, small_environment
from tests.support.creds_checks import REFUSED, accepted_within, refused_within, try_connect
from tests.support.pulumi_cli import PulumiProject

SERVICE_URN = ("urn:pulumi:dev::nats-tenancy::nats-tenancy:index:Estate$nats-tenancy:index:Tenant"
               "$pulumi-python:dynamic/nats:User::acme-service")


def test_replace_rotates_creds_and_revokes_the_old_ones(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf, tenants=("acme",)))
    project.init()
    project.up()
    before = project.outputs(show_secrets=True)
    url, old = before["nats_url"], before["tenants"]["acme"]["creds"]["service"]
    pid = server_pid(project)
    assert pid, "the stack records the PID of its server"
    assert asyncio.run(accepted_within(url, old, seconds=10)) == "ok"

    project.up("--replace", SERVICE_URN)
    new = project.outputs(show_secrets=True)["tenants"]["acme"]["creds"]["service"]
    assert new != old
    assert asyncio.run(accepted_within(url, new, seconds=10)) == "ok"
    assert REFUSED in asyncio.run(refused_within(url, old, seconds=10))
    assert server_pid(project) == pid, "rotation must not restart the server"
    project.up("--expect-no-changes")


# Long enough that the first checks after `up` run inside it on a slow machine; the tests then wait
# for the exact time recorded in the state, so it does not make them flaky.
GRACE = "25s"


def _outputs(project: PulumiProject, name: str) -> dict[str, Any]:
    """The state outputs of one resource (by name); secrets stay encrypted, the rest is readable."""
    state = json.loads(project.export_state())
    found = [r for r in state["deployment"]["resources"] if r["urn"].endswith(f"::{name}")]
    assert len(found) == 1, name
    return found[0].get("outputs", {})


def _wait_until(unix_time: float) -> None:
    time.sleep(max(0.0, unix_time - time.time() + 1.0))


def _changed_names(project: PulumiProject) -> list[str]:
    return sorted(f"{s['op']} {s['urn'].rsplit('::', 1)[-1]}" for s in project.preview_steps())


def _signing_keys(url: str, system_creds: str, account: str) -> list[str]:
    held = lookup_account_jwt([url], system_creds, account, timeout=5)
    assert held, "the account is not in the resolver"
    return [k if isinstance(k, str) else k["key"] for k in decode(held)["nats"].get("signing_keys", [])]


def _environment(project: PulumiProject, credentials: str) -> str:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    return small_environment(client, monitor, leaf, tenants=("acme",), credentials={"acme": credentials})


def test_user_rotation_keeps_old_creds_for_the_grace_period(project: PulumiProject) -> None:
    project.write_environment(_environment(project, f"{{grace_period: {GRACE}}}"))
    project.init()
    project.up()
    before = project.outputs(show_secrets=True)
    url, old = before["nats_url"], before["tenants"]["acme"]["creds"]["service"]
    old_reader = before["tenants"]["acme"]["creds"]["reader"]
    pid = server_pid(project)
    assert pid, "the stack records the PID of its server"

    project.write_environment(_environment(project, f"{{grace_period: {GRACE}, users: {{service: 2}}}}"))
    # the user and the tenant's client files (its creds file and natscli context), nothing else
    assert _changed_names(project) == ["update acme-service", "update client-files-acme"]
    project.up()
    after = project.outputs(show_secrets=True)["tenants"]["acme"]["creds"]
    new = after["service"]
    assert new != old
    assert after["reader"] == old_reader, "only the rotated user gets new creds"
    retiring = _outputs(project, "acme-service")["retiring_keys"]
    assert len(retiring) == 1
    revoke_at = float(next(iter(retiring.values())))
    # Inside the grace period both work and nothing is pending.
    assert asyncio.run(accepted_within(url, new, seconds=10)) == "ok"
    assert asyncio.run(try_connect(url, old)) == "ok"
    if time.time() < revoke_at - 5:
        assert _changed_names(project) == []

    _wait_until(revoke_at)
    # (the client files follow: the user's outputs are unknown in the preview of its update)
    assert _changed_names(project) == ["update acme-service", "update client-files-acme"], \
        "the due revocation must show in the preview"
    project.up()
    assert REFUSED in asyncio.run(refused_within(url, old, seconds=10))
    assert asyncio.run(try_connect(url, new)) == "ok"
    assert asyncio.run(try_connect(url, old_reader)) == "ok"
    assert _outputs(project, "acme-service")["retiring_keys"] == {}
    assert server_pid(project) == pid, "rotation must not restart the server"
    project.up("--expect-no-changes")


def test_user_rotation_without_grace_revokes_at_once(project: PulumiProject) -> None:
    project.write_environment(_environment(project, "{grace_period: 0s}"))
    project.init()
    project.up()
    before = project.outputs(show_secrets=True)
    url, old = before["nats_url"], before["tenants"]["acme"]["creds"]["leaf"]

    project.write_environment(_environment(project, "{grace_period: 0s, users: {leaf: 2}}"))
    project.up()
    new = project.outputs(show_secrets=True)["tenants"]["acme"]["creds"]["leaf"]
    assert new != old
    assert REFUSED in asyncio.run(refused_within(url, old, seconds=10))
    project.up("--expect-no-changes")


def test_signing_key_rotation_reissues_every_user_and_retires_the_old_key(project: PulumiProject) -> None:
    project.write_environment(_environment(project, f"{{grace_period: {GRACE}}}"))
    project.init()
    project.up()
    before = project.outputs(show_secrets=True)
    url = before["nats_url"]
    system = before["system"]["creds"]
    account = before["tenants"]["acme"]["account_public_key"]
    old = before["tenants"]["acme"]["creds"]
    old_keys = _signing_keys(url, system, account)
    assert len(old_keys) == 1
    pid = server_pid(project)
    assert pid, "the stack records the PID of its server"

    project.write_environment(_environment(project, f"{{grace_period: {GRACE}, signing_key: 2}}"))
    planned = _changed_names(project)
    assert {"update acme-account", "update acme-service", "update acme-provisioning", "update leaf-edge-1"} \
        <= set(planned), planned
    assert any(p.endswith(" acme-signing-key") and p.split()[0] in ("replace", "create-replacement")
               for p in planned), planned
    # Only the tenant's own resources: its identity, its JetStream objects (new provisioning creds
    # in their state), its client files and its customer's leaf bundle.
    assert all(p.split()[1].lower().startswith(("acme", "leaf-edge-1", "client-files-acme")) for p in planned), planned
    project.up()
    after = project.outputs(show_secrets=True)["tenants"]["acme"]
    assert after["account_public_key"] == account, "the account keeps its identity"
    new = after["creds"]
    assert set(new) == set(old) and all(new[u] != old[u] for u in old), "every user is re-issued"
    keys = _signing_keys(url, system, account)
    assert len(keys) == 2 and old_keys[0] in keys, "the old key stays during the grace period"
    for user in ("service", "reader"):
        assert asyncio.run(accepted_within(url, new[user], seconds=10)) == "ok"
        assert asyncio.run(try_connect(url, old[user])) == "ok"

    retiring = _outputs(project, "acme-account")["retiring_signing_keys"]
    assert list(retiring) == old_keys
    _wait_until(float(retiring[old_keys[0]]))
    assert _changed_names(project) == ["update acme-account"]
    project.up()
    assert _signing_keys(url, system, account) == [k for k in keys if k != old_keys[0]]
    for user in ("service", "reader"):
        assert REFUSED in asyncio.run(refused_within(url, old[user], seconds=10))
        assert asyncio.run(try_connect(url, new[user])) == "ok"
    assert server_pid(project) == pid, "rotation must not restart the server"
    project.up("--expect-no-changes")
