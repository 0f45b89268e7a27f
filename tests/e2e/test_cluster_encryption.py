"""Store encryption at rest through the real CLI: ``jetstream.cipher`` with the key a secret stack
setting (``nats-tenancy:jetstreamKey``). The key never shows in state, CLI output or the config
files on disk; a published payload cannot be found in any store file; it survives a stop of every
server and the ``up`` that starts them again; and a stack that asks for a cipher without a key is
refused before anything runs.
"""
from __future__ import annotations

import asyncio
import glob
import os
import secrets

import nats
from nats.aio.client import RawCredentials

from components.providers import nats_process
from tests.e2e.test_cluster_local import MEMBERS, cluster_environment, cluster_project, member_pid  # noqa: F401
from tests.server.cluster.test_store_encryption import files_containing
from tests.support.pulumi_cli import PulumiProject
from tests.support.stored_messages import read_stored

SUBJECT = "acme.events.orders.placed"


async def _publish(urls: list[str], creds: str, payloads: list[bytes]) -> None:
    nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds))
    try:
        for p in payloads:
            await nc.jetstream().publish(SUBJECT, p)
    finally:
        await nc.close()


def test_encrypted_store_with_the_key_a_stack_secret(cluster_project: PulumiProject) -> None:  # noqa: F811
    proj = cluster_project
    text = cluster_environment(proj.ports, "always").replace(  # type: ignore[attr-defined]
        "  sync_interval: always\n", "  sync_interval: always\n  cipher: chachapoly\n")
    assert "cipher: chachapoly" in text
    proj.write_environment(text)
    proj.init()
    refused = proj.preview(check=False)
    assert refused.returncode != 0
    assert "config.nats-tenancy:jetstreamKey: missing" in refused.output, refused.output[-2000:]
    assert not any(member_pid(proj, i) for i in range(MEMBERS)), "nothing may start without the key"

    key = secrets.token_hex(32)
    proj.run("config", "set", "--stack", proj.stack, "--secret", "nats-tenancy:jetstreamKey", key)
    proj.up()
    out = proj.outputs(show_secrets=True)
    urls, creds = out["nats_url"].split(","), out["tenants"]["acme"]["creds"]["service"]
    stream = next(iter(out["tenants"]["acme"]["streams"]))
    payloads = [f"iban-DE89-{secrets.token_hex(6)}-{i}".encode() for i in range(10)]
    asyncio.run(_publish(urls, creds, payloads))

    for i in range(MEMBERS):   # the machine goes down: every server stops, the stores stay
        assert nats_process.stop(member_pid(proj, i))
    nats_dir = os.path.join(proj.project_dir, ".state", "test", "nats")
    for i in range(MEMBERS):
        store = os.path.join(nats_dir, f"test-{i}", "jetstream")
        assert os.listdir(store)
        assert files_containing(store, payloads[0]) == [], f"server {i}: payload readable at rest"
    for conf in glob.glob(os.path.join(nats_dir, "*", "nats.conf")):
        with open(conf, encoding="utf-8") as f:
            body = f.read()
        assert key not in body and "key: $NATS_JS_KEY" in body
    assert key not in proj.export_state() and key not in proj.all_cli_output()

    proj.up()   # starts the stopped servers: the same stores, opened with the key from the stack's secret
    assert asyncio.run(read_stored(urls, creds, stream, len(payloads))) == payloads
    assert key not in proj.export_state()
    proj.destroy()
