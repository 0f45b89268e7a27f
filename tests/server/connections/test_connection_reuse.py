"""Connection reuse in the providers (``components.nats_io.pool``) against a real operator-mode nats-server.

What the server sees is the judge: its ``/connz`` and ``/varz`` count the connections the resolver
client (system account) and the JetStream client (a tenant's provisioning user) really opened.
Faults are real too: a server restarted or stopped between two operations, and a path that goes
silent without closing (a loopback proxy that stops forwarding).
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from components.model.identity import roles
from components.model.identity.account import AccountLimits, AccountSpec
from components.model.identity.keys import KeyPair
from components.model.identity.user import UserSpec
from components.nats_io import jetstream as jsc
from components.nats_io import pool as nats_connections
from components.nats_io import resolver as resolver_client
from components.nats_io.errors import ResolverError
from components.providers.stream import StreamProvider
from tests.support.nats_server import RunningServer
from tests.support.operator_mode import OperatorSetup, connect, connect_refused
from tests.support.tcp_proxy import TcpProxy

RESOLVER = "nats-tenancy-resolver"
PROVISIONER = "nats-tenancy-provisioner"
P = StreamProvider()


@dataclass
class Estate:
    setup: OperatorSetup
    server: RunningServer
    account: KeyPair
    account_jwt: str
    creds: str  # acme's provisioning user

    @property
    def url(self) -> str:
        return self.server.url


def _estate(workdir: str) -> Estate:
    setup, server = OperatorSetup.create(workdir)
    account, token = setup.add_account(AccountSpec(name="acme"))
    return Estate(setup, server, account, token, setup.user_creds(account, roles.tenant_provisioning_user("acme")))


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    est = _estate(str(tmp_path_factory.mktemp("reuse")))
    try:
        yield est
    finally:
        est.server.stop()


@pytest.fixture
def own_estate(tmp_path) -> Iterator[Estate]:
    """A server of this test alone (it gets restarted or stopped)."""
    est = _estate(str(tmp_path))
    try:
        yield est
    finally:
        est.server.stop()


@pytest.fixture(autouse=True)
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[nats_connections.ConnectionPool]:
    """Every test starts with reuse on, no pooled connection and zeroed counters."""
    monkeypatch.delenv(nats_connections.REUSE_ENV, raising=False)
    p = nats_connections.default_pool()
    p.close()
    p.stats = nats_connections.PoolStats()
    yield p
    p.close()


def _monitor(server: RunningServer, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.monitor_url}{path}", timeout=5) as resp:
        result: dict[str, Any] = json.load(resp)
        return result


def open_connections(server: RunningServer, name: str, account: str = "") -> list[dict[str, Any]]:
    """The server's open client connections named ``name`` (and of ``account``, when given)."""
    return [c for c in _monitor(server, "/connz?auth=true").get("connections") or []
            if c.get("name") == name and (not account or c.get("account") == account)]


def total_connections(server: RunningServer) -> int:
    return int(_monitor(server, "/varz")["total_connections"])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def stream_inputs(est: Estate, name: str, url: str = "", creds: str = "", storage: str = "memory") -> dict[str, Any]:
    props = {"name": name, "subjects": [f"acme.logs.{name.lower()}.>"], "storage": storage, "max_msgs": 10,
             "server_url": url or est.url, "creds": creds or est.creds, "account_label": "acme",
             "prevent_destroy": False}
    checked = P.check({}, props)
    assert checked.failures == [], checked.failures
    return dict(checked.inputs)


def lookup(est: Estate, servers: list[str] | None = None, timeout: float = 2.0) -> str | None:
    return resolver_client.lookup_account_jwt(servers or est.setup.servers, est.setup.system_creds,
                                              est.account.public_key, timeout=timeout)


def test_many_operations_share_one_connection_per_account(estate: Estate, pool) -> None:
    before = total_connections(estate.server)
    for _ in range(10):
        assert lookup(estate) == estate.account_jwt
        resolver_client.push_account_jwt(estate.setup.servers, estate.setup.system_creds, estate.account_jwt)
    assert estate.account.public_key in resolver_client.list_accounts(estate.setup.servers, estate.setup.system_creds)
    made = [P.create(stream_inputs(estate, f"SHARE{i}")) for i in range(5)]
    for m in made:
        assert P.read(m.id, m.outs).id == m.id
        P.delete(m.id, m.outs)

    resolver, provisioner = open_connections(estate.server, RESOLVER), open_connections(estate.server, PROVISIONER)
    assert [c["account"] for c in resolver] == [estate.setup.system_account.public_key]
    assert [c["account"] for c in provisioner] == [estate.account.public_key]
    # 36 operations, two connections: one per account, and no subscription left behind on them
    assert total_connections(estate.server) - before == 2
    assert resolver[0]["subscriptions"] == 0 and resolver[0]["in_msgs"] >= 21
    assert pool.stats.opened == 2 and pool.stats.reused == 34
    keys = [d["key"] for d in pool.describe()]
    assert len(keys) == 2 and not any("SUA" in k or "BEGIN" in k for k in keys), keys


def test_concurrent_operations_from_threads(estate: Estate, pool) -> None:
    before = total_connections(estate.server)

    def work(i: int) -> str:
        assert lookup(estate) == estate.account_jwt
        made = P.create(stream_inputs(estate, f"PAR{i}"))
        assert P.read(made.id, made.outs).outs["config"]["name"] == f"PAR{i}"
        resolver_client.push_account_jwt(estate.setup.servers, estate.setup.system_creds, estate.account_jwt)
        P.delete(made.id, made.outs)
        return made.id

    with ThreadPoolExecutor(8) as threads:
        ids = list(threads.map(work, range(40)))
    assert ids == [f"PAR{i}" for i in range(40)]
    # Concurrent first uses waited for one connect per account instead of each opening its own.
    assert total_connections(estate.server) - before == 2
    assert len(open_connections(estate.server, RESOLVER)) == 1
    assert len(open_connections(estate.server, PROVISIONER)) == 1
    assert pool.stats.opened == 2 and pool.stats.retried == 0


def test_server_restart_between_operations(own_estate: Estate, pool) -> None:
    est = own_estate
    made = P.create(stream_inputs(est, "KEPT", storage="file"))
    assert lookup(est) == est.account_jwt
    est.server.restart()  # same ports; the resolver directory and the store survive

    assert lookup(est) == est.account_jwt
    assert P.read(made.id, made.outs).id == "KEPT"
    assert pool.stats.opened == 4, pool.stats  # the closed connections were not handed out again
    assert len(open_connections(est.server, RESOLVER)) == 1
    assert len(open_connections(est.server, PROVISIONER)) == 1


def test_server_gone_gives_the_same_errors_as_before(own_estate: Estate) -> None:
    est = own_estate
    P.read("NONE", stream_inputs(est, "NONE"))
    assert lookup(est) == est.account_jwt
    est.server.stop()
    with pytest.raises(ResolverError, match=f"no NATS server reachable at {est.url}: "):
        lookup(est, timeout=0.5)
    with pytest.raises(jsc.JetStreamConnectError, match=f"cannot reach NATS at {est.url}: "):
        P.read("NONE", stream_inputs(est, "NONE"))


def test_silent_connection_is_replaced_and_the_operation_replayed(estate: Estate, pool, monkeypatch) -> None:
    """A pooled connection whose path died without a FIN still looks connected: the operation
    times out on it, the connection fails its PING, and the operation runs again on a new one."""
    monkeypatch.setattr(jsc, "TIMEOUT", 0.5)
    monkeypatch.setattr(pool, "probe_after", 60.0)  # no PING before use: the operation meets the dead path
    monkeypatch.setattr(jsc, "IDLE_TIMEOUT", 30.0)  # kept through the resolver part of the test
    proxy = TcpProxy("127.0.0.1", estate.server.conf.port)
    try:
        made = P.create(stream_inputs(estate, "SILENT", url=proxy.url))
        assert lookup(estate, [proxy.url], timeout=0.5) == estate.account_jwt
        assert pool.stats.opened == 2 and proxy.open_connections() == 2
        proxy.freeze()

        start = time.monotonic()
        assert lookup(estate, [proxy.url], timeout=0.5) == estate.account_jwt
        assert P.read(made.id, {**made.outs, "server_url": proxy.url}).id == "SILENT"
        assert time.monotonic() - start < 6
        assert pool.stats.retried == 2 and pool.stats.dropped == 2 and pool.stats.opened == 4
    finally:
        proxy.close()
    P.delete(made.id, {**made.outs, "server_url": estate.url})


def test_idle_silent_connection_fails_its_ping_before_use(estate: Estate, pool) -> None:
    proxy = TcpProxy("127.0.0.1", estate.server.conf.port)
    try:
        assert lookup(estate, [proxy.url]) == estate.account_jwt
        proxy.freeze()
        time.sleep(pool.probe_after + 0.1)
        assert lookup(estate, [proxy.url]) == estate.account_jwt
        assert pool.stats.dropped == 1 and pool.stats.retried == 0 and pool.stats.opened == 2
    finally:
        proxy.close()


def test_an_unanswered_probe_retires_the_client_without_failing_the_operations_on_it(
        estate: Estate, pool, monkeypatch) -> None:
    """Under load a PONG can take longer than the probe's second. The client that failed its probe is
    handed out no more, but an operation still waiting on it finishes there: closing it at once failed
    such operations with "nats: connection closed". The PONG's delay is injected (the probe is made
    to report no answer); the server and the requests are real."""
    monkeypatch.setattr(pool, "probe_after", 60.0)
    key = nats_connections.Key.of("test", [estate.url], estate.creds)
    connect = lambda: jsc.connect_api(estate.url, estate.creds)  # noqa: E731
    shared: list[Any] = []
    waiting = threading.Event()

    async def slow_request(nc: Any) -> bytes:
        shared.append(nc)
        waiting.set()
        await asyncio.sleep(0.5)  # the other operation fails and its probe goes unanswered meanwhile
        return bytes((await nc.request("$JS.API.INFO", b"", timeout=5)).data)

    async def failing(nc: Any) -> None:
        assert nc is shared[0], "both operations share the pooled client"
        raise RuntimeError("no reply within the deadline")

    async def no_pong(pooled: Any) -> bool:
        return False

    with ThreadPoolExecutor(1) as threads:
        slow = threads.submit(pool.run, key, connect, slow_request, idle_timeout=30.0, replay_safe=False)
        assert waiting.wait(10)
        monkeypatch.setattr(pool, "_answers", no_pong)
        with pytest.raises(RuntimeError, match="no reply within the deadline"):
            pool.run(key, connect, failing, idle_timeout=30.0, replay_safe=False)
        assert json.loads(slow.result(timeout=10))["type"] == "io.nats.jetstream.api.v1.account_info_response"
    assert pool.stats.dropped == 1 and pool.stats.opened == 1
    deadline = time.monotonic() + 5
    while shared[0].is_connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shared[0].is_closed, "closed once its last operation ended"
    pool.run(key, connect, lambda nc: nc.flush(), idle_timeout=30.0, replay_safe=False)  # a new client: no probe
    assert pool.stats.opened == 2, "the retired client was not handed out again"


def test_silent_connection_is_not_replayed_when_unsafe(estate: Estate, pool, monkeypatch) -> None:
    monkeypatch.setattr(jsc, "TIMEOUT", 0.5)
    monkeypatch.setattr(pool, "probe_after", 60.0)
    proxy = TcpProxy("127.0.0.1", estate.server.conf.port)
    calls = []

    async def names(api: jsc.JetStreamApi) -> Any:
        calls.append(1)
        return await api.request("STREAM.NAMES")

    try:
        jsc.run(proxy.url, estate.creds, names, account_label="acme")
        proxy.freeze()
        with pytest.raises(jsc.JetStreamApiError, match="no reply to .*STREAM.NAMES"):
            jsc.run(proxy.url, estate.creds, names, account_label="acme")
        assert len(calls) == 2 and pool.stats.retried == 0 and pool.stats.dropped == 1
        # the broken connection is gone: the next operation connects again
        jsc.run(proxy.url, estate.creds, names, account_label="acme")
        assert pool.stats.opened == 2
    finally:
        proxy.close()


def test_idle_connections_are_closed(estate: Estate, pool, monkeypatch) -> None:
    monkeypatch.setattr(resolver_client, "IDLE_TIMEOUT", 0.3)
    assert lookup(estate) == estate.account_jwt
    assert len(open_connections(estate.server, RESOLVER)) == 1
    wait_for(lambda: not open_connections(estate.server, RESOLVER), 5, "the idle resolver connection is closed")
    assert pool.stats.closed_idle == 1 and pool.describe() == []
    assert lookup(estate) == estate.account_jwt  # and a new one is opened when needed
    assert pool.stats.opened == 2


def test_idle_connections_are_bounded(estate: Estate, pool, monkeypatch) -> None:
    tenants = []
    for i in range(4):
        acc, _ = estate.setup.add_account(AccountSpec(name=f"bound{i}"))
        tenants.append((acc.public_key, estate.setup.user_creds(acc, roles.tenant_provisioning_user(f"bound{i}"))))
    pool.close()  # drop the resolver connection the pushes above used
    pool.stats = nats_connections.PoolStats()
    monkeypatch.setattr(pool, "max_idle", 2)
    for _, creds in tenants:
        P.read("NONE", stream_inputs(estate, "NONE", creds=creds))
    # least recently used closed first: the last two tenants keep theirs
    wait_for(lambda: len(open_connections(estate.server, PROVISIONER)) == 2, 5, "two idle connections left")
    assert pool.stats.opened == 4 and pool.stats.closed_idle == 2
    assert {c["account"] for c in open_connections(estate.server, PROVISIONER)} == {pub for pub, _ in tenants[2:]}


def test_a_tenant_connection_slot_is_held_only_until_the_idle_timeout(estate: Estate, pool) -> None:
    """The provisioning connection counts against the tenant's connection limit while pooled."""
    acc, _ = estate.setup.add_account(AccountSpec(name="one", limits=AccountLimits(conn=1)))
    provisioning = estate.setup.user_creds(acc, roles.tenant_provisioning_user("one"))
    app = estate.setup.user_creds(acc, UserSpec(name="app"))
    P.read("NONE", stream_inputs(estate, "NONE", creds=provisioning))
    assert "maximum account active connections exceeded" in asyncio.run(connect_refused(estate.url, app))

    wait_for(lambda: not open_connections(estate.server, PROVISIONER, acc.public_key), jsc.IDLE_TIMEOUT + 3,
             "the pooled provisioning connection is closed after its idle timeout")

    async def app_connects() -> bool:
        client = await connect(estate.url, app)
        connected = bool(client.nc.is_connected)
        await client.close()
        return connected

    assert asyncio.run(app_connects())


def test_reuse_off_connects_per_operation(estate: Estate, pool, monkeypatch) -> None:
    monkeypatch.setenv(nats_connections.REUSE_ENV, "0")
    before = total_connections(estate.server)
    for _ in range(3):
        assert lookup(estate) == estate.account_jwt
        P.read("NONE", stream_inputs(estate, "NONE"))
    assert total_connections(estate.server) - before == 6
    assert pool.stats.opened == 0 and pool.describe() == []
    assert not open_connections(estate.server, RESOLVER) and not open_connections(estate.server, PROVISIONER)
