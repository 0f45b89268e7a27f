"""One operator-mode nats-server per test module with two tenant accounts, ``acme`` and ``globex``.

The operations tools run as real subprocesses (``python -m components.ops.…``) against it; every
process started here is stopped by its PID.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterator, Optional, TypeVar

import pytest

from components.model.identity.account import AccountLimits, AccountSpec, JetStreamLimits
from components.model.identity.keys import KeyPair
from components.model.identity.permissions import Permission, UserPermissions
from components.model.identity.user import UserSpec
from tests.support.nats_server import RunningServer
from tests.support.operator_mode import OperatorSetup, connect

T = TypeVar("T")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

#: Quotas of both tenants; the exporter's ratios are checked against these numbers.
DISK = 50_000_000
STREAMS = 4
CONSUMERS = 8


def ops_user(tenant: str) -> UserSpec:
    """What the backup tool needs: the JetStream API, the snapshot ack/restore subjects, its inbox;
    plus the tenant tree and KV subjects so tests can fill streams."""
    return UserSpec(
        name=f"{tenant}-ops",
        permissions=UserPermissions(
            pub=Permission(allow=("$JS.API.>", "$JS.SNAPSHOT.>", f"{tenant}.>", "$KV.>")),
            sub=Permission(allow=("_INBOX.>",)),
        ),
    )


@dataclass
class Estate:
    setup: OperatorSetup
    server: RunningServer
    accounts: dict[str, KeyPair]
    creds_files: dict[str, str]

    def creds(self, tenant: str) -> str:
        with open(self.creds_files[tenant], encoding="utf-8") as f:
            return f.read()

    def run(self, tenant: str, fn: Callable[[Any], Awaitable[T]]) -> T:
        """``fn(nc)`` on a connection of the tenant's ops user, in a fresh event loop."""

        async def main() -> T:
            client = await connect(self.server.url, self.creds(tenant))
            try:
                return await fn(client.nc)
            finally:
                await client.close()

        return asyncio.run(main())


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    workdir = str(tmp_path_factory.mktemp("ops"))
    setup, server = OperatorSetup.create(workdir)
    try:
        limits = AccountLimits(jetstream=JetStreamLimits(disk_storage=DISK, mem_storage=1_000_000,
                                                         streams=STREAMS, consumer=CONSUMERS))
        accounts, files = {}, {}
        for tenant in ("acme", "globex"):
            kp, _ = setup.add_account(AccountSpec(name=tenant, limits=limits))
            accounts[tenant] = kp
            path = os.path.join(workdir, f"{tenant}.creds")
            with open(path, "w", encoding="utf-8") as f:
                f.write(setup.user_creds(kp, ops_user(tenant)))
            os.chmod(path, 0o600)
            files[tenant] = path
        yield Estate(setup, server, accounts, files)
    finally:
        server.stop()


async def js(nc: Any, subject: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """A raw ``$JS.API`` request that fails the test on an error reply."""
    payload = json.dumps(body).encode() if body is not None else b""
    msg = await nc.request(f"$JS.API.{subject}", payload, timeout=5)
    reply: dict[str, Any] = json.loads(msg.data)
    assert "error" not in reply, f"{subject}: {reply['error']}"
    return reply


def run_tool(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m components.ops.<tool> …`` from the project root and wait for it."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
