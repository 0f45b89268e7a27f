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
import json
import os
import subprocess
import sys
from typing import Any, Iterator

import nats
import pytest
from nats.aio.client import RawCredentials

from components.nats_io import messaging
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
        await messaging.flush(self.nc)
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
            await messaging.flush(b.nc)
            # A publishes inside its tree (allowed) and outside it (refused, nothing arrives).
            await a.nc.publish("acme.logs.app.info", b"a-log")
            await a.nc.publish("globex.events.orders.created", b"a-forged-event")
            await a.nc.publish("globex.logs.app.info", b"a-forged-log")
            await a.nc.publish("elsewhere.x", b"a-outside")
            await messaging.flush(a.nc)
            # The platform consumer may not publish into a tenant's log subjects.
            await plat.nc.publish("acme.logs.x", b"platform-forged")
            await messaging.flush(plat.nc)
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


def test_up_ends_with_a_summary_that_fits_a_screen(stack: PulumiProject) -> None:
    """Large values (producer templates) are files whose paths are outputs, and ``make up`` prints
    ``up --suppress-outputs`` then the short summary of ``components.ops.summary``."""
    from components.ops import summary

    up = next(r for r in stack.log if r.args and "up" in r.args)
    assert "receivers:" not in up.stdout and "[OUTPUT]" not in up.stdout
    assert "otel-collector.yaml" in up.stdout                     # the path, not the text
    quiet = stack.up("--suppress-outputs")
    assert "Outputs:" not in quiet.stdout and "Resources:" in quiet.stdout
    outputs = stack.outputs()
    text = summary.render(outputs, "dev")
    assert len(text.splitlines()) == len(outputs) + 2 <= 20, text
    tenants_line = next(line for line in text.splitlines() if line.strip().startswith("tenants"))
    assert "acme, globex" in tenants_line
    assert os.path.join(stack.project_dir, ".state", "dev", "tenants") in tenants_line
    assert "SEED" not in text and "BEGIN" not in text


def test_client_files_from_the_outputs_work_with_natscli(stack: PulumiProject) -> None:
    """Each tenant user's natscli context (a file the stack wrote, named in the outputs) connects
    with that user's creds and does what the role allows."""
    from tests.clients import natscli

    if natscli.missing():
        pytest.skip(natscli.missing())
    out = stack.outputs(show_secrets=True)
    acme = out["tenants"]["acme"]
    contexts = acme["contexts"]
    assert set(contexts) == {"service", "reader"}, contexts
    for path in (*contexts.values(), *acme["producer_templates"].values()):
        assert os.path.isfile(path), path
    service = contexts["service"]
    with open(service, encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["url"] == out["nats_url"] and os.stat(doc["creds"]).st_mode & 0o077 == 0
    with open(doc["creds"], encoding="utf-8") as f:
        assert f.read() == acme["creds"]["service"]

    check = natscli.run(service, "server", "check", "connection")
    assert check.returncode == 0 and "OK Connection" in natscli.text(check), natscli.text(check)
    stream = acme["streams"][0]
    info = natscli.run(service, "stream", "info", stream)
    assert info.returncode == 0 and stream in natscli.text(info), natscli.text(info)
    subject = "acme.logs.app.ctx"
    listener = natscli.Background(service, "sub", subject, "--count", "1",
                                  out_path=os.path.join(stack.project_dir, "ctx-sub.out"))
    try:
        listener.wait_for("Subscribing on")
        assert natscli.run(service, "pub", subject, "from-context").returncode == 0
        assert "from-context" in listener.finish()
    finally:
        listener.stop()
    bucket = acme["kv_buckets"][0]
    assert natscli.run(service, "kv", "put", bucket, "colour", "blue").returncode == 0
    got = natscli.run(service, "kv", "get", bucket, "colour", "--raw")
    assert natscli.text(got).strip() == "blue", natscli.text(got)
    denied = natscli.run(contexts["reader"], "pub", subject, "x")
    assert denied.returncode != 0 and natscli.PERMISSION_ERROR in natscli.text(denied), natscli.text(denied)


def test_service_context_watches_its_kv_bucket(stack: PulumiProject) -> None:
    from tests.clients import natscli

    if natscli.missing():
        pytest.skip(natscli.missing())
    acme = stack.outputs(show_secrets=True)["tenants"]["acme"]
    service, bucket = acme["contexts"]["service"], acme["kv_buckets"][0]
    assert natscli.run(service, "kv", "put", bucket, "shade", "teal").returncode == 0
    watch = natscli.Background(service, "kv", "watch", bucket,
                               out_path=os.path.join(stack.project_dir, "ctx-watch.out"))
    try:
        text = watch.wait_for("teal")
        assert natscli.PERMISSION_ERROR not in text, text
    finally:
        watch.stop()


def _verify(outputs: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-m", "components.ops.verify", "--stack", "dev", *args],
                          input=json.dumps(outputs), capture_output=True, text=True, cwd=root, timeout=300)


def test_verify_passes_on_the_live_stack_and_prints_no_secret(stack: PulumiProject) -> None:
    outputs = stack.outputs(show_secrets=True)
    res = _verify(outputs)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [line.split() for line in res.stdout.splitlines()[1:-1]]
    results = {(r[0], " ".join(r[1:r.index(next(x for x in r if x in ("PASS", "FAIL", "SKIP")))])): r for r in rows}
    for tenant in ("acme", "globex"):
        for check in ("connect", "own tree", "outside tree", "store", "quota", "leaf creds"):
            row = results[(tenant, check)]
            assert "PASS" in row, res.stdout
    assert "refused after" in res.stdout and "maximum account active connections exceeded" in res.stdout.lower()
    assert "FAIL" not in res.stdout and SEED.search(res.stdout) is None and CREDS_BLOCK not in res.stdout


def test_verify_fails_when_a_tenant_holds_another_tenants_creds(stack: PulumiProject) -> None:
    outputs = stack.outputs(show_secrets=True)
    outputs["tenants"]["acme"]["creds"]["service"] = outputs["tenants"]["globex"]["creds"]["service"]
    res = _verify(outputs, "--no-quota")
    assert res.returncode == 1, res.stdout + res.stderr
    acme_rows = [line for line in res.stdout.splitlines() if line.startswith("acme ")]
    assert any("own tree" in line and "FAIL" in line for line in acme_rows), res.stdout
