"""Two routed servers trusting one operator: every full resolver must answer a push."""
from __future__ import annotations

import os
import time

import pytest

from components.model.identity.account import AccountSpec
from components.model.render.server_conf import ClusterConf
from components.nats_io import resolver
from components.nats_io.errors import ResolverError
from components.providers import nats_process
from tests.support.nats_server import make_server
from tests.support.operator_mode import OperatorSetup


@pytest.fixture
def cluster(tmp_path):
    setup = OperatorSetup.build()
    ports = [nats_process.free_port(), nats_process.free_port()]
    servers = []
    for i, port in enumerate(ports):
        workdir = os.path.join(str(tmp_path), f"s{i}")
        routes = [f"nats://127.0.0.1:{p}" for j, p in enumerate(ports) if j != i]
        servers.append(make_server(workdir, name=f"s{i}", jetstream=False,
                                   cluster=ClusterConf(name="c", host="127.0.0.1", port=port, routes=routes),
                                   **setup.conf_overrides(workdir)))
    try:
        for server in servers:
            server.start()
        setup.servers = [s.url for s in servers]
        yield setup, servers
    finally:
        for server in servers:
            server.stop()


def _push_when_routed(setup: OperatorSetup, token: str, deadline: float) -> list[dict]:
    """Routes form asynchronously; until then only the local server answers."""
    while True:
        try:
            return resolver.push_account_jwt(setup.servers, setup.system_creds, token,
                                                    expect_servers=2, timeout=1.0)
        except ResolverError as e:
            if "1 of 2" not in str(e) or time.monotonic() > deadline:
                raise


def test_push_collects_a_reply_from_every_server(cluster):
    setup, servers = cluster
    account, token = setup.add_account(AccountSpec(name="both"), push=False)
    replies = _push_when_routed(setup, token, time.monotonic() + 15)
    assert sorted(r["server"]["name"] for r in replies) == ["s0", "s1"]
    assert all(r["data"]["code"] == 200 for r in replies)
    for server in servers:  # each server's own resolver directory now holds the account
        stored = os.path.join(server.conf.resolver.dir, f"{account.public_key}.jwt")
        with open(stored, encoding="ascii") as f:
            assert f.read().strip() == token
    # and a third expected server that does not exist is reported, not ignored
    with pytest.raises(ResolverError, match="2 of 3 expected server"):
        resolver.push_account_jwt(setup.servers, setup.system_creds, token, expect_servers=3, timeout=0.5)
