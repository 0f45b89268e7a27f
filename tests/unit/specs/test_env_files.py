"""The shipped environment files load, and the model they produce has the documented shape."""
from __future__ import annotations

import os

import pytest

from components.model.environment.load import (
    ConsumerKind,
    ServerMode,
    StorageType,
    StreamClassKind,
    load_environment,
)
from components.model.environment.units import HOUR, MINUTE
from components.model.jetstream.stream import validate_and_normalize_stream
from components.model.jetstream_plan import dead_letter_inputs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def env_path(stack: str) -> str:
    return os.path.join(ROOT, "environments", f"{stack}.yaml")


@pytest.fixture(scope="module")
def dev():
    return load_environment(env_path("dev"))


@pytest.fixture(scope="module")
def prod():
    return load_environment(env_path("prod"))


def test_dev_is_local_on_loopback(dev) -> None:
    s = dev.servers
    assert dev.stack == "dev"
    assert s.mode is ServerMode.LOCAL
    assert (s.host, s.client_port, s.monitor_port, s.leafnode_port) == ("127.0.0.1", 14222, 18222, 17422)
    assert s.data_dir == ".state/dev/nats"
    assert dev.tls is None


def test_dev_runs_the_exporter_on_its_own_port(dev) -> None:
    assert dev.monitoring.enabled and dev.monitoring.port == 17777
    assert dev.monitoring.exporter_image is None       # local mode runs it from this checkout
    s = dev.servers
    assert dev.monitoring.port not in (s.client_port, s.monitor_port, s.leafnode_port)


def test_dev_tenants_and_features(dev) -> None:
    assert [t.id for t in dev.tenants] == ["acme", "globex", "initech"]
    kinds = {c.kind for t in dev.tenants for c in t.consumers}
    assert kinds == {ConsumerKind.PULL, ConsumerKind.PUSH}
    assert any(c.dead_letter for t in dev.tenants for c in t.consumers)
    assert all(len(t.kv_buckets) == 1 for t in dev.tenants)
    assert sum(len(t.object_stores) for t in dev.tenants) >= 1
    assert any(d.replay is not None for t in dev.tenants for d in t.domains)
    assert dev.platform.shards == 1
    assert {c.root.value for c in dev.platform.consumers} == {"logs", "events"}
    assert [(leaf.customer, leaf.tenant) for leaf in dev.leafnodes] == [("acme-edge", "acme")]
    assert dev.hub_leaf_urls() == ("nats://127.0.0.1:17422",)


def test_dev_acme_streams(dev) -> None:
    acme = dev.tenant("acme")
    billing = next(d for d in acme.domains if d.name == "billing")
    assert billing.live.name == "ACME_BILLING_LIVE"
    assert billing.live.subjects == ("acme.events.billing.>",)
    assert billing.live.max_age_ns == 720 * HOUR
    assert billing.live.duplicate_window_ns == 2 * MINUTE
    assert billing.live.storage is StorageType.FILE and billing.live.deny_delete
    assert billing.replay is not None and billing.replay.kind is StreamClassKind.REPLAY
    assert billing.replay.subjects == () and billing.replay.sources == ("ACME_BILLING_LIVE",)
    assert billing.replay.max_age_ns == 2160 * HOUR
    invoicer = billing.live.consumers[0]
    assert invoicer.durable == "ACME_BILLING_LIVE_INVOICER"
    assert invoicer.filter_subject == "acme.events.billing.invoices.>"
    assert invoicer.dead_letter_subjects == (
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ACME_BILLING_LIVE.ACME_BILLING_LIVE_INVOICER",
        "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.ACME_BILLING_LIVE.ACME_BILLING_LIVE_INVOICER",
    )
    assert acme.dead_letter_stream == "ACME_DEAD_LETTERS"
    push = billing.live.consumers[1]
    assert push.kind is ConsumerKind.PUSH
    assert push.deliver_subject == "acme.deliver.billing.live.audit-feed"
    assert acme.kv_buckets[0].bucket == "acme_carts"


def test_dev_dead_letter_stream_is_a_valid_stream_on_its_consumers_advisories(dev) -> None:
    acme = dev.tenant("acme")
    stream = validate_and_normalize_stream(dead_letter_inputs(acme), "environments/dev.yaml")
    assert stream["name"] == "ACME_DEAD_LETTERS"
    assert stream["subjects"] == list(acme.dead_letter_subjects)
    invoicer = "ACME_BILLING_LIVE.ACME_BILLING_LIVE_INVOICER"
    assert f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{invoicer}" in stream["subjects"]
    assert stream["max_age"] == 720 * HOUR and stream["storage"] == "file"


def test_dev_small_tier_caps_retention(dev) -> None:
    # small tier: retention_days 7 caps the live default of 720h and the replay default of 2160h
    globex = dev.tenant("globex")
    orders = globex.domains[0]
    assert orders.live.max_age_ns == 7 * 24 * HOUR
    assert orders.replay is not None and orders.replay.max_age_ns == 7 * 24 * HOUR
    assert globex.quotas.max_connections == 80          # override
    assert globex.quotas.max_streams == 10              # from the tier


def test_prod_is_kubernetes_with_tls13(prod) -> None:
    s = prod.servers
    assert prod.stack == "prod"
    assert s.mode is ServerMode.KUBERNETES
    assert (s.namespace, s.replicas) == ("nats", 3)
    assert prod.tls is not None and prod.tls.min_version == "1.3" and prod.tls.secret_name
    assert prod.platform.shards == 2
    assert len(prod.tenants) >= 2
    assert prod.tenant("acme").domains[0].live.replicas == 3
    assert prod.monitoring.enabled and prod.monitoring.port == 7777
    assert prod.monitoring.exporter_image == "registry.example.com/nats-tenancy-exporter:1.0.0"


def test_prod_shards_are_stable_and_in_range(prod) -> None:
    shards = {t.id: prod.shard_of(t.id) for t in prod.tenants}
    assert all(0 <= v < 2 for v in shards.values())
    assert shards == {t.id: prod.shard_of(t.id) for t in prod.tenants}
    # pinned: a change of the hash would move tenants between ingest accounts
    from components.model.environment.names import shard_of
    assert [shard_of(t, 2) for t in ("acme", "globex", "initech")] == [0, 1, 1]
    assert [shard_of(t, 4) for t in ("acme", "globex", "initech")] == [2, 2, 2]
    assert {shard_of(f"t{i}", 4) for i in range(64)} == {0, 1, 2, 3}


def test_missing_file_names_the_path(tmp_path) -> None:
    from components.model.errors import SpecError
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(SpecError) as err:
        load_environment(missing)
    assert str(err.value).startswith(missing + ": cannot read")
