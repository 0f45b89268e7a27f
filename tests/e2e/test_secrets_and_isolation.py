"""Secrets stay secret and tenants stay apart, on a real 2-tenant dev stack.

After one ``up``: no nkey seed, creds block or signing seed appears in the exported state, in
anything the CLI printed (except commands run with ``--show-secrets``), in the server's log or in
the config file the LocalServer rendered. Then, using only the stack outputs: tenant A's service
user cannot read B's subjects nor publish outside its own tree, the leaf creds are refused for a
normal client connection, and the platform consumer receives both tenants' logs but cannot publish
into a tenant's subjects.
"""
from __future__ import annotations

import asyncio
import os
from typing import Any, Iterator

import nats
import pytest
from nats.aio.client import RawCredentials

from components.providers import nats_process
from tests.e2e.conftest import server_pid, small_environment
from tests.support.creds_checks import SEED
from tests.support.pulumi_cli import PulumiProject, missing_toolchain

CREDS_BLOCK = "BEGIN USER NKEY SEED"
QUIET = 0.7  # seconds to wait for a message that must not arrive


class Client:
    """A NATS connection that records async errors (permission violations arrive there)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: Any = None

    async def connect(self, url: str, creds: str) -> "Client":
        async def on_error(e: Exception) -> None:
            self.errors.append(str(e))

        self.nc = await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                                     max_reconnect_attempts=0, connect_timeout=3, error_cb=on_error)
        return self

    async def inbox(self, subject: str) -> list[Any]:
        got: list[Any] = []

        async def cb(msg: Any) -> None:
            got.append(msg)

        await self.nc.subscribe(subject, cb=cb)
        await self.nc.flush()
        return got

    def violations(self, kind: str, subject: str) -> list[str]:
        return [e for e in self.errors if "permissions violation" in e.lower() and kind in e.lower() and subject in e]

    async def close(self) -> None:
        if self.nc and not self.nc.is_closed:
            await self.nc.close()


async def settle() -> None:
    await asyncio.sleep(QUIET)


async def until(done: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    """One 2-tenant stack for the whole module (one ``up``), destroyed at the end."""
    reason = missing_toolchain()
    if reason:
        pytest.skip(reason)
    proj = PulumiProject(str(tmp_path_factory.mktemp("secrets")), stack="dev")
    client, monitor, leaf = (nats_process.free_port() for _ in range(3))
    proj.write_environment(small_environment(client, monitor, leaf, tenants=("acme", "globex")))
    proj.init()
    try:
        proj.up()
        yield proj
        proj.destroy()
    finally:
        pid = server_pid(proj)
        if pid:
            nats_process.stop(pid)


def test_no_secret_in_state_output_or_server_files(stack: PulumiProject) -> None:
    stack.outputs()  # the plain output listing is part of "all CLI output" too
    stack.preview("--expect-no-changes")
    places = {
        "exported state": stack.export_state(),
        "CLI output": stack.all_cli_output(),
    }
    data_dir = os.path.join(stack.project_dir, ".state", "test", "nats")
    for name in ("nats.log", "nats.conf"):
        path = os.path.join(data_dir, name)
        assert os.path.exists(path), f"{name} not found in {data_dir}: {os.listdir(data_dir)}"
        with open(path, encoding="utf-8", errors="replace") as f:
            places[name] = f.read()
    assert places["nats.log"].strip(), "the server log is empty: the check would prove nothing"
    for where, text in places.items():
        seed = SEED.search(text)
        assert not seed, f"a seed ({seed.group(0)[:4]}…) is in the {where}"
        assert CREDS_BLOCK not in text, f"a creds file is in the {where}"
    # Sanity: the secrets do exist, so the scan above looked for something real.
    secret_outputs = stack.outputs(show_secrets=True)
    assert CREDS_BLOCK in secret_outputs["tenants"]["acme"]["creds"]["service"]
    assert SEED.search(secret_outputs["tenants"]["acme"]["creds"]["service"])


def test_tenants_are_isolated_using_only_stack_outputs(stack: PulumiProject) -> None:
    out = stack.outputs(show_secrets=True)
    url = out["nats_url"]
    acme, globex = out["tenants"]["acme"], out["tenants"]["globex"]
    platform_creds = out["platform"]["creds"]["consumer"][0]
    assert acme["subjects"]["logs"].startswith("acme.") and globex["subjects"]["logs"].startswith("globex.")

    async def scenario() -> None:
        a, b, a2, plat = Client(), Client(), Client(), Client()
        await a.connect(url, acme["creds"]["service"])
        await b.connect(url, globex["creds"]["service"])
        await a2.connect(url, acme["creds"]["service"])
        await plat.connect(url, platform_creds)
        try:
            # A cannot subscribe to B's subjects (nor to everything); B's traffic never reaches A.
            a_on_b = await a.inbox("globex.>")
            a_on_all = await a.inbox(">")
            b_own = await b.inbox("globex.>")
            a_own = await a2.inbox("acme.>")
            plat_logs = await plat.inbox("*.logs.>")
            await b.nc.publish("globex.events.orders.created", b"b-event")
            await b.nc.publish("globex.logs.app.info", b"b-log")
            await b.nc.flush()
            # A publishes inside its tree (allowed) and outside it (refused, nothing arrives).
            await a.nc.publish("acme.logs.app.info", b"a-log")
            await a.nc.publish("globex.events.orders.created", b"a-forged-event")
            await a.nc.publish("globex.logs.app.info", b"a-forged-log")
            await a.nc.publish("elsewhere.x", b"a-outside")
            await a.nc.flush()
            # The platform consumer may not publish into a tenant's log subjects.
            await plat.nc.publish("acme.logs.x", b"platform-forged")
            await plat.nc.flush()
            # Wait for what must arrive (a loaded machine may be slow), then a quiet period for
            # anything that must not.
            await until(lambda: len(plat_logs) >= 2 and len(b_own) >= 2 and len(a_own) >= 1)
            await settle()

            assert a.violations("subscription", "globex.>"), a.errors
            assert a.violations("subscription", '">"') or a.violations("subscription", " >"), a.errors
            assert not a_on_b and not a_on_all, [m.subject for m in a_on_b + a_on_all]
            for subject in ("globex.events.orders.created", "globex.logs.app.info", "elsewhere.x"):
                assert a.violations("publish", subject), (subject, a.errors)
            assert [m.data for m in b_own] == [b"b-event", b"b-log"], "A's forged messages reached B"
            assert [m.data for m in a_own] == [b"a-log"]

            # The platform gets both tenants' logs, and nothing forged.
            got = sorted((m.subject, m.data) for m in plat_logs)
            assert got == [("acme.logs.app.info", b"a-log"), ("globex.logs.app.info", b"b-log")], got
            assert plat.violations("publish", "acme.logs.x"), plat.errors
            assert not b.errors and not a2.errors, (b.errors, a2.errors)
        finally:
            for c in (a, b, a2, plat):
                await c.close()

    asyncio.run(scenario())


def test_leaf_creds_refused_for_client_connections(stack: PulumiProject) -> None:
    out = stack.outputs(show_secrets=True)
    leaf_creds = out["tenants"]["acme"]["creds"]["leaf"]
    assert CREDS_BLOCK in leaf_creds

    async def attempt() -> list[str]:
        errors: list[str] = []

        async def on_error(e: Exception) -> None:
            errors.append(str(e))

        with pytest.raises(Exception) as info:
            nc = await nats.connect(out["nats_url"], user_credentials=RawCredentials(leaf_creds),
                                    allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3,
                                    error_cb=on_error)
            await nc.close()
        return errors + [str(info.value)]

    errors = asyncio.run(attempt())
    assert any("authorization violation" in e.lower() for e in errors), errors
