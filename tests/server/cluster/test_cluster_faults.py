"""Faults on a three-server cluster with an R3 stream, each with counts (published, acked, stored).

- one server killed with SIGKILL while a client publishes with acks, then restarted: the stream
  stays writable with 2 of 3, and every acked message is stored on all three afterwards;
- a server restarted with an empty store (its JetStream directory removed) catches up;
- a rolling restart after a config change, one server at a time, while publishing: 0 acked lost.

Counts are printed (``pytest -s``) for the record. Ports, names and configs come from
``hub_conf.local_member_conf``, what a ``replicas: 3`` local stack runs.
"""
from __future__ import annotations

import shutil

from tests.server.cluster.cluster_support import LocalCluster, cluster_environment, replica_messages, run
from tests.server.cluster.publisher import Publisher, create_stream, stored_ids, stream_leader

STREAM, SUBJECT = "EVENTS", "events.>"


def _ordinal(cluster: LocalCluster, server_name: str) -> int:
    return [m.conf.server_name for m in cluster.members].index(server_name)


def _check_all_acked_stored(cluster: LocalCluster, account: str, creds: str, counts, label: str) -> list[int]:
    stored = run(stored_ids(cluster.urls, creds, STREAM, "events.x"))
    missing = counts.acked_ids - set(stored)
    print(f"{label}: published={counts.published} acked={counts.acked} failed={counts.failed} "
          f"stored={len(stored)} errors={counts.errors}")
    assert not missing, f"{len(missing)} acked messages not stored, e.g. {sorted(missing)[:10]}"
    assert len(stored) == len(set(stored)), "a message is stored twice"
    assert counts.acked <= len(stored) <= counts.published
    for i in range(3):  # every replica comes to hold the same messages (a follower may lag an ack)
        held = replica_messages(cluster, i, account, STREAM, len(stored), timeout=30.0)
        assert held == len(stored), f"server {i} holds {held} of {len(stored)}"
    return stored


def test_kill_and_restart_one_server_while_publishing(cluster: LocalCluster) -> None:
    account, creds = cluster.account_with_user()
    run(create_stream(cluster.urls, creds, STREAM, SUBJECT))
    # The hardest one to lose: the stream's leader.
    victim = _ordinal(cluster, run(stream_leader(cluster.urls, creds, STREAM)))
    pub = Publisher(cluster.urls, creds, "events.x").start()
    try:
        before = pub.wait_acked(200)
        cluster.kill(victim)
        # writable with 2 of 3: a new leader is elected and acks keep coming
        during = pub.wait_acked(before + 200) - before
        cluster.launch(victim)
        cluster.wait_healthy(victim)   # full /healthz: the stream on it is current again
        pub.wait_acked(pub.acked() + 100)
    finally:
        counts = pub.stop()
    assert during >= 200
    new_leader = run(stream_leader(cluster.urls, creds, STREAM))
    assert new_leader is not None
    _check_all_acked_stored(cluster, account.public_key, creds, counts, "kill -9 + restart")


def test_server_with_an_empty_store_catches_up(cluster: LocalCluster) -> None:
    account, creds = cluster.account_with_user()
    run(create_stream(cluster.urls, creds, STREAM, SUBJECT))
    pub = Publisher(cluster.urls, creds, "events.x").start()
    try:
        pub.wait_acked(300)
    finally:
        counts = pub.stop()
    victim = 2
    cluster.stop(victim)
    shutil.rmtree(cluster.members[victim].store_dir)
    cluster.launch(victim)
    cluster.wait_healthy(victim)   # full /healthz: caught up with its peers
    # the restarted server's own replica holds every stored message again (checked for all three)
    _check_all_acked_stored(cluster, account.public_key, creds, counts, "empty store")


def test_rolling_restart_after_a_config_change_loses_no_acked_message(cluster: LocalCluster) -> None:
    account, creds = cluster.account_with_user()
    run(create_stream(cluster.urls, creds, STREAM, SUBJECT))
    s = cluster.env.servers
    changed = cluster_environment(3, "jetstream: {sync_interval: 10s}\n",
                                  ports=[s.client_port, s.monitor_port, s.leafnode_port, int(s.cluster_port or 0)])
    cluster.reconfigure(changed)
    pub = Publisher(cluster.urls, creds, "events.x").start()
    try:
        pub.wait_acked(100)
        for i in range(3):
            cluster.stop(i)
            cluster.launch(i)
            cluster.wait_healthy(i)     # caught up before the next one goes down
            pub.wait_acked(pub.acked() + 50)
    finally:
        counts = pub.stop()
    for i in range(3):
        js = cluster.monitor(i, "/varz")["jetstream"]["config"]
        assert js["sync_interval"] == 10 * 10**9 and not js.get("sync_always"), f"server {i} runs the old config"
    _check_all_acked_stored(cluster, account.public_key, creds, counts, "rolling restart")
