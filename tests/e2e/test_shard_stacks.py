"""A sharded environment through the real CLI, driven by ``python -m components.ops.estate``: the
estate stack and three shard stacks come up, every tenant's creds work on the estate's server
(the shards sign with the estate's operator), onboarding a tenant runs its shard's stack only, an
``up`` killed in the middle loses no account key and ``recover`` converges, and ``destroy`` leaves
nothing running."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time

import nats
from nats.aio.client import RawCredentials

from components.model.environment.load import load_environment
from components.model.identity.keys import keypair_from_seed
from components.providers import nats_process
from tests.e2e.conftest import server_pid, small_environment
from tests.support.processes import kill_session, session_members
from tests.support.pulumi_cli import PulumiProject

TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "soylent")
SHARDS = 3


def sharded_environment(proj: PulumiProject, tenants: tuple[str, ...]) -> str:
    client, monitor, leaf = proj.ports  # type: ignore[attr-defined]
    text = small_environment(client, monitor, leaf, tenants=tenants, server_max_memory="256MiB",
                             server_max_file="4GiB")
    assert "platform:\n  shards: 1\n" in text
    return text.replace("platform:\n  shards: 1\n", f"platform:\n  shards: {SHARDS}\n  shard_stacks: true\n")


def estate(proj: PulumiProject, *args: str, check: bool = True, timeout: float = 900) -> str:
    proc = subprocess.run([os.path.join(proj.project_dir, ".venv", "bin", "python"), "-m", "components.ops.estate",
                           *args, "--stack", proj.stack], cwd=proj.project_dir, env=proj.env(),
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, out[-6000:]
    return out


def ran(output: str) -> set[str]:
    """The stacks an ``estate`` command ran (``<stack>: <action> done ...``)."""
    return set(re.findall(r"^(\S+): \w+ done in", output, re.M))


async def publish_stored(url: str, creds: str, subject: str) -> int:
    nc = await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False, connect_timeout=5)
    try:
        return (await nc.jetstream().publish(subject, b"stored", timeout=5)).seq
    finally:
        await nc.close()


def test_sharded_estate_up_onboard_interrupt_recover_destroy(project: PulumiProject) -> None:
    proj = project
    proj.write_environment(sharded_environment(proj, TENANTS))
    env = load_environment(os.path.join(proj.project_dir, "environments", "dev.yaml"), stack="dev")

    first = estate(proj, "up")
    assert ran(first) == {"dev"} | {f"dev-shard-{k}" for k in range(SHARDS)}, first
    out = json.loads(estate(proj, "outputs", "--show-secrets"))
    assert sorted(out["tenants"]) == sorted(TENANTS)
    assert out["platform"]["shard_of"] == {t: env.shard_of(t) for t in TENANTS}
    assert len(out["platform"]["accounts"]) == SHARDS and len(set(out["platform"]["accounts"])) == SHARDS
    for tid in TENANTS:   # each shard's accounts are trusted by the estate's server
        creds = out["tenants"][tid]["creds"]["service"]
        assert asyncio.run(publish_stored(out["nats_url"], creds, f"{tid}.events.orders.placed")) >= 1
    masked = estate(proj, "outputs")
    assert "SUAC" not in masked and "-----BEGIN NATS USER JWT-----" not in masked and "[secret]" in masked

    noop = estate(proj, "up")
    assert ran(noop) == set() and "skipped" in noop, noop
    # Run by hand (the whole file, named relatively), a shard stack sees no change to what the
    # driver made from its part (the file named absolutely).
    direct = proj.run("preview", "--stack", "dev-shard-0", "--diff", "--expect-no-changes", check=False)
    assert direct.returncode == 0, direct.output[-4000:]

    # Onboarding: the new tenant's shard stack runs, the estate and the other shards do not.
    proj.write_environment(sharded_environment(proj, TENANTS + ("newco",)))
    target = load_environment(os.path.join(proj.project_dir, "environments", "dev.yaml"), stack="dev").shard_of("newco")
    onboard = estate(proj, "up")
    assert ran(onboard) == {f"dev-shard-{target}"}, onboard
    # The change counts come from the engine's event log: the new tenant's resources are created.
    assert re.search(rf"^dev-shard-{target}: up done in [\d.]+s \(\d+ create", onboard, re.M), onboard
    out = json.loads(estate(proj, "outputs", "--show-secrets"))
    assert "newco" in out["tenants"]
    asyncio.run(publish_stored(out["nats_url"], out["tenants"]["newco"]["creds"]["service"], "newco.events.orders.x"))

    # An up killed in the middle: the key of a tenant being created is already in the shard's
    # config, so the run after `recover` makes the account with the same key.
    proj.write_environment(sharded_environment(proj, TENANTS + ("newco", "latecomer")))
    late_shard = load_environment(os.path.join(proj.project_dir, "environments", "dev.yaml"),
                                  stack="dev").shard_of("latecomer")
    proc = subprocess.Popen([os.path.join(proj.project_dir, ".venv", "bin", "python"), "-m", "components.ops.estate",
                             "up", "--stack", proj.stack], cwd=proj.project_dir, env=proj.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    seeds_before = shard_seeds(proj, late_shard)
    while time.monotonic() < deadline and "latecomer" not in seeds_before:
        time.sleep(0.5)
        seeds_before = shard_seeds(proj, late_shard)
    assert "latecomer" in seeds_before, "the seed is stored before the shard's up starts"
    time.sleep(0.5)   # the shard's up has begun; a faster driver finishes it within seconds
    assert proc.poll() is None, "the up must still be running when it is killed"
    kill_session(proc.pid)   # the driver, the CLI and its plugins
    proc.wait(timeout=30)
    assert not session_members(proc.pid)
    recovered = estate(proj, "recover")
    assert "failed" not in recovered.splitlines()[-1] or " 0 failed" in recovered, recovered
    out = json.loads(estate(proj, "outputs", "--show-secrets"))
    assert out["tenants"]["latecomer"]["account_public_key"] == keypair_from_seed(seeds_before["latecomer"]).public_key
    asyncio.run(publish_stored(out["nats_url"], out["tenants"]["latecomer"]["creds"]["service"],
                               "latecomer.events.orders.x"))

    pid = server_pid(proj)
    destroyed = estate(proj, "destroy")
    assert ran(destroyed) == {"dev"} | {f"dev-shard-{k}" for k in range(SHARDS)}, destroyed
    assert re.search(r"^dev: destroy done in [\d.]+s \(\d+ delete\)", destroyed, re.M), destroyed
    assert not nats_process.pid_alive(pid), "destroy stops the estate's server"


def shard_seeds(proj: PulumiProject, shard: int) -> dict[str, str]:
    """The shard stack's ``accountSeeds`` config, decrypted by the CLI."""
    res = proj.run("config", "get", "--stack", f"dev-shard-{shard}", "nats-tenancy:accountSeeds")
    return json.loads(res.stdout)
