"""Rotating a user's creds with `pulumi up --replace <urn>` (docs/runbooks/rotation.md).

The replacement creates the new user first and only then deletes the old one, which revokes the
old key on the resolver: new creds work, old creds are refused, the server is not restarted.
"""
from __future__ import annotations

import asyncio
import os

import nats
from nats.aio.client import RawCredentials

from tests.e2e.conftest import small_environment
from tests.support.pulumi_cli import PulumiProject

SERVICE_URN = ("urn:pulumi:dev::nats-tenancy::nats-tenancy:index:Estate$nats-tenancy:index:Tenant"
               "$pulumi-python:dynamic/nats:User::acme-service")


async def _connects(url: str, creds: str) -> str:
    try:
        nc = await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                                max_reconnect_attempts=1, connect_timeout=3)
    except Exception as e:  # nats-py raises several types; the message says which
        return str(e)
    await nc.close()
    return "ok"


async def _refused_within(url: str, creds: str, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    result = "ok"
    while loop.time() < deadline:
        result = await _connects(url, creds)
        if "Authorization Violation" in result:
            return result
        await asyncio.sleep(0.2)
    return result


async def _ok_within(url: str, creds: str, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    result = ""
    while loop.time() < deadline:
        result = await _connects(url, creds)
        if result == "ok":
            return result
        await asyncio.sleep(0.2)
    return result


def test_replace_rotates_creds_and_revokes_the_old_ones(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf, tenants=("acme",)))
    project.init()
    project.up()
    before = project.outputs(show_secrets=True)
    url, old = before["nats_url"], before["tenants"]["acme"]["creds"]["service"]
    pid_file = os.path.join(project.project_dir, ".state", "test", "nats", "nats.pid")
    pid = open(pid_file).read()
    assert asyncio.run(_ok_within(url, old, seconds=10)) == "ok"

    project.up("--replace", SERVICE_URN)
    new = project.outputs(show_secrets=True)["tenants"]["acme"]["creds"]["service"]
    assert new != old
    assert asyncio.run(_ok_within(url, new, seconds=10)) == "ok"
    assert "Authorization Violation" in asyncio.run(_refused_within(url, old, seconds=10))
    assert open(pid_file).read() == pid, "rotation must not restart the server"
    project.up("--expect-no-changes")
