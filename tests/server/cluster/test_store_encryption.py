"""JetStream store encryption at rest (``jetstream.cipher``) on a three-server cluster: the key
reaches the servers only through their environment; a stored payload cannot be found in any store
file (while it can be in an unencrypted store: the search works), and it survives a restart."""
from __future__ import annotations

import os
import secrets
from typing import Iterator

import nats
import pytest
from nats.aio.client import RawCredentials

from components.model.render.server_conf import JETSTREAM_KEY_ENV
from tests.server.cluster.cluster_support import LocalCluster, cluster_environment, run
from tests.server.cluster.publisher import create_stream
from tests.support.stored_messages import read_stored

MESSAGES = 20


def files_containing(root: str, needle: bytes) -> list[str]:
    hits = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                if needle in f.read():
                    hits.append(path)
    return hits


async def publish(urls: list[str], creds: str, payload: bytes) -> None:
    nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds))
    try:
        js = nc.jetstream()
        for i in range(MESSAGES):
            await js.publish("events.x", payload + f"-{i}".encode())
    finally:
        await nc.close()


def stored_then_stopped(cluster: LocalCluster) -> tuple[str, bytes]:
    _, creds = cluster.account_with_user()
    run(create_stream(cluster.urls, creds, "EVENTS", "events.>"))
    payload = f"card-4111-1111-{secrets.token_hex(8)}".encode()
    run(publish(cluster.urls, creds, payload))
    cluster.stop_all()   # a clean stop writes everything it holds to the store files
    return creds, payload


@pytest.fixture
def encrypted(tmp_path) -> Iterator[tuple[LocalCluster, str]]:
    key = secrets.token_hex(32)
    c = LocalCluster(cluster_environment(3, "jetstream: {cipher: aes, sync_interval: always}\n"), str(tmp_path))
    c.process_env = {JETSTREAM_KEY_ENV: key}
    try:
        c.start_all()
        c.wait_routes()
        yield c, key
    finally:
        c.stop_all()


def test_payload_is_not_in_the_store_files_and_survives_a_restart(encrypted) -> None:
    cluster, key = encrypted
    creds, payload = stored_then_stopped(cluster)
    for m in cluster.members:
        assert os.listdir(m.store_dir), f"{m.store_dir} is empty: nothing was stored"
        assert files_containing(m.store_dir, payload) == [], "payload readable in the store files"
        with open(m.config_path, encoding="utf-8") as f:
            text = f.read()
        assert key not in text and f"key: ${JETSTREAM_KEY_ENV}" in text
        with open(m.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        assert key not in log and "Encryption:" in log and "AES-GCM" in log
    cluster.start_all()
    stored = run(read_stored(cluster.urls, creds, "EVENTS", MESSAGES))
    assert stored == [payload + f"-{i}".encode() for i in range(MESSAGES)]


def test_without_a_cipher_the_same_search_finds_the_payload(tmp_path) -> None:
    c = LocalCluster(cluster_environment(3, "jetstream: {sync_interval: always}\n"), str(tmp_path))
    try:
        c.start_all()
        c.wait_routes()
        _, payload = stored_then_stopped(c)
        assert all(files_containing(m.store_dir, payload) for m in c.members)
    finally:
        c.stop_all()
