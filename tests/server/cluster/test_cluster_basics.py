"""Three routed servers from the stack's own renderer: routes, resolver push to all three, R3
placement of streams and KV buckets through the project's providers, ``sync_interval`` read back."""
from __future__ import annotations

import os

from components.model.identity.account import AccountSpec
from components.providers.kv_bucket import KvBucketProvider
from components.providers.stream import StreamProvider
from tests.server.cluster.cluster_support import (
    LocalCluster,
    cluster_environment,
    replica_messages,
    run,
    stream_messages_on,
)
from tests.support.creds_checks import js_publish


def test_members_route_to_each_other_over_their_derived_ports(cluster: LocalCluster) -> None:
    s = cluster.env.servers
    assert [m.conf.port for m in cluster.members] == [s.client_port + i for i in range(3)]
    assert [m.conf.cluster.port for m in cluster.members] == [s.cluster_port + i for i in range(3)]  # type: ignore[union-attr]
    for i in range(3):
        names = {r["remote_name"] for r in cluster.monitor(i, "/routez")["routes"]}
        assert names == {f"test-{j}" for j in range(3) if j != i}
        assert cluster.monitor(i, "/varz")["cluster"]["name"] == "nats-test"


def test_resolver_push_is_answered_and_stored_by_every_server(cluster: LocalCluster) -> None:
    account, token = cluster.push_when_routed(AccountSpec(name="r3"))
    replies = cluster.setup.push(token)
    assert sorted(r["server"]["name"] for r in replies) == ["test-0", "test-1", "test-2"]
    for m in cluster.members:
        assert m.conf.resolver is not None
        with open(os.path.join(m.conf.resolver.dir, f"{account.public_key}.jwt"), encoding="ascii") as f:
            assert f.read().strip() == token


def test_streams_and_buckets_are_placed_on_three_servers(cluster: LocalCluster) -> None:
    account, creds = cluster.account_with_user()
    url = ",".join(cluster.urls)
    conn = {"server_url": url, "creds": creds, "account_label": "app", "prevent_destroy": False}
    streams = StreamProvider()
    checked = streams.check({}, {"name": "ORDERS", "subjects": ["orders.>"], "num_replicas": 3, **conn})
    assert checked.failures == []
    streams.create(checked.inputs)
    kv = KvBucketProvider()
    kv_checked = kv.check({}, {"bucket": "settings", "history": 3, "replicas": 3, **conn})
    assert kv_checked.failures == []
    kv.create(kv_checked.inputs)

    run(js_publish(cluster.urls[1], creds, "orders.new", 25, "ORDERS"))
    # every server holds its own replica of both (its /jsz lists only what it stores itself)
    for i in range(3):
        assert replica_messages(cluster, i, account.public_key, "ORDERS", 25) == 25, f"server {i}"
        assert stream_messages_on(cluster, i, account.public_key, "KV_settings") == 0, f"server {i}"


def test_sync_interval_is_what_the_servers_run_with(tmp_path) -> None:
    """``always`` from the fixture's environment, and an explicit interval, read from ``/varz``."""
    c = LocalCluster(cluster_environment(3, "jetstream: {sync_interval: 45s}\n"), str(tmp_path))
    try:
        c.start_all()
        for i in range(3):
            js = c.monitor(i, "/varz")["jetstream"]["config"]
            assert js["sync_interval"] == 45 * 10**9 and not js.get("sync_always"), js
    finally:
        c.stop_all()


def test_sync_always_is_what_the_servers_run_with(cluster: LocalCluster) -> None:
    for i in range(3):
        js = cluster.monitor(i, "/varz")["jetstream"]["config"]
        assert js.get("sync_always") is True, js
