"""``examples/api_program`` through the real Pulumi CLI, with the package installed by ``pip install .``
into a clean virtualenv: a program of its own that builds an operator, a nats-server, two tenants,
an account with an import and a user, a stream, a consumer, a KV bucket, the platform and a
leaf-node bundle with ``components.api`` alone, and nothing of the environment-file program.

The install is the one a user makes: the package's files (``pyproject.toml``, ``README.md``,
``components/``) copied out of the checkout, ``pip install .`` there into a virtualenv made in a
temporary directory (dependencies from the package registry or pip's cache), and that virtualenv
is the program's (``Pulumi.yaml``'s ``virtualenv``), so the program and its dynamic providers import
``components`` from site-packages; nothing puts the checkout on ``sys.path``.

The checks are on the server the program started: the stream, consumer and bucket live in their
tenants' accounts (``/jsz``), the tenant's service creds store a message in the stream, the ops
account's user receives acme's events through the import and the platform's ingest stream gets a
copy, the leaf-node bundle is on disk with the leaf user's creds, a second preview changes nothing,
and ``destroy`` stops the server.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from components.nats_io import messaging
from components.providers import nats_process
from tests.support.operator_mode import connect
from tests.support.pulumi_cli import ROOT, PulumiProject, missing_toolchain

pytestmark = pytest.mark.skipif(missing_toolchain() is not None, reason=str(missing_toolchain()))

PACKAGE_FILES = ("pyproject.toml", "README.md", "components")


def _run(cmd: list[str], cwd: Path, timeout: float = 900) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")})
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv in a temporary directory with the package ``pip install .``-ed into it."""
    work = tmp_path_factory.mktemp("install")
    source = work / "nats-tenancy"
    source.mkdir()
    for name in PACKAGE_FILES:
        path = Path(ROOT) / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, source / name)
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=work)   # no packages of the running venv
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "."], cwd=source)
    # Imported from site-packages, from a directory that holds no checkout.
    where = _run([python, "-c", "import components.api, components.program; print(components.api.__file__)"],
                 cwd=work).strip()
    assert where.startswith(str(venv)) and "site-packages" in where, where
    return venv


def _jsz(monitor_url: str) -> dict[str, dict[str, Any]]:
    """Account public key -> {stream name: stream detail} as the server reports it."""
    url = f"{monitor_url}/jsz?accounts=true&streams=true&consumers=true"
    with urllib.request.urlopen(url, timeout=5) as resp:
        jsz = json.loads(resp.read())
    accounts = jsz.get("account_details") or []
    return {acc["id"]: {s["name"]: s for s in acc.get("stream_detail") or []} for acc in accounts}


async def _publish_and_receive(url: str, creds: dict[str, str]) -> tuple[int, bytes]:
    """Publish one order as acme's service user; the stream acks it, and ops' reader gets it through
    the import. Returns the stream sequence and what the reader received."""
    reader = await connect(url, creds["ops_reader"])
    service = await connect(url, creds["acme_service"])
    try:
        sub = await reader.nc.subscribe("acme.events.>")
        await messaging.flush(reader.nc)
        ack = await service.nc.jetstream().publish("acme.events.orders.created", b"order-1")
        msg = await sub.next_msg(timeout=5)
        return ack.seq, msg.data
    finally:
        await service.close()
        await reader.close()


def _wait_for_messages(monitor_url: str, account: str, stream: str, count: int) -> dict[str, Any]:
    """The stream's detail once it holds ``count`` messages (imports are delivered asynchronously)."""
    deadline = time.monotonic() + 10
    while True:
        detail = _jsz(monitor_url).get(account, {}).get(stream, {})
        if detail.get("state", {}).get("messages") == count or time.monotonic() > deadline:
            return detail
        time.sleep(0.2)


def test_api_program_from_a_clean_install_builds_tenants_and_a_stream(tmp_path, installed_venv: Path) -> None:
    client_port, monitor_port, leaf_port = (nats_process.free_port() for _ in range(3))
    project = PulumiProject(str(tmp_path), stack="dev", program_dir=os.path.join(ROOT, "examples", "api_program"))
    # The program's virtualenv is the clean install, not the checkout's.
    venv_link = Path(project.project_dir) / ".venv"
    venv_link.unlink()
    venv_link.symlink_to(installed_venv)
    assert not (Path(project.project_dir) / "components").exists()
    project.init(config={"clientPort": str(client_port), "monitorPort": str(monitor_port),
                         "leafnodePort": str(leaf_port), "dataDir": str(tmp_path / "nats")})
    try:
        project.up()
        out = project.outputs(show_secrets=True)
        assert out["nats_url"] == f"nats://127.0.0.1:{client_port}" and out["stream"] == "ACME_ORDERS"
        accounts = out["accounts"]
        assert len({accounts["acme"], accounts["globex"], accounts["ops"], accounts["platform"]}) == 4

        by_account = _jsz(out["monitor_url"])
        assert set(by_account[accounts["acme"]]) == {"ACME_ORDERS"}
        assert set(by_account[accounts["globex"]]) == {"KV_settings"}
        orders = by_account[accounts["acme"]]["ACME_ORDERS"]
        assert [c["name"] for c in orders.get("consumer_detail") or []] == ["worker"]
        ingest = by_account[accounts["platform"]]["PLATFORM_EVENTS"]
        assert [c["name"] for c in ingest.get("consumer_detail") or []] == ["PLATFORM_EVENTS_AUDIT"]

        seq, data = asyncio.run(_publish_and_receive(out["nats_url"], out["creds"]))
        assert (seq, data) == (1, b"order-1")
        assert _jsz(out["monitor_url"])[accounts["acme"]]["ACME_ORDERS"]["state"]["messages"] == 1
        # the platform's copy, through its import of acme's events tree
        copied = _wait_for_messages(out["monitor_url"], accounts["platform"], "PLATFORM_EVENTS", 1)
        assert copied["state"]["messages"] == 1

        bundle = Path(out["leafnode_bundle"])
        assert bundle.is_relative_to(Path(project.project_dir))
        conf = (bundle / "leafnode.conf").read_text()
        assert f"nats://127.0.0.1:{leaf_port}" in conf and "acme-edge.creds" in conf
        assert "-----BEGIN USER NKEY SEED-----" in (bundle / "acme-edge.creds").read_text()

        project.preview("--expect-no-changes")
        state = project.export_state()
        for secret in out["creds"].values():
            assert secret.split("-----BEGIN USER NKEY SEED-----")[1].split("------END")[0].strip() not in state
    finally:
        project.destroy(check=False)
    assert not nats_process.port_in_use("127.0.0.1", client_port)
    assert not nats_process.port_in_use("127.0.0.1", leaf_port)
