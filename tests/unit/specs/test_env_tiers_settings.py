"""Tier defaults and tenant overrides, stream class defaults, and stack settings."""
from __future__ import annotations

import pytest
import yaml

from components.model.environment.load import (
    ConsumerKind,
    DiscardPolicy,
    ServerMode,
    StorageType,
    load_environment_text,
    stack_settings,
)
from components.model.environment.units import HOUR, MINUTE, SECOND
from components.model.errors import SpecError

TEXT = """
version: 1
servers: {mode: local, client_port: 14222, monitor_port: 18222, leafnode_port: 17422}
tiers:
  small:  {max_streams: 5, max_consumers: 10, max_bytes: 100MiB, max_memory: 10MiB,
           max_connections: 10, retention_days: 3, max_ack_pending: 100}
  large:  {max_streams: 50, max_consumers: 500, max_bytes: 2GiB, max_memory: 100MiB,
           max_connections: 1000, retention_days: 365, max_ack_pending: 10000}
tenants:
  - id: small-one
    tier: small
    domains: {app: {replay: {}}}
  - id: big-one
    tier: large
    quotas: {max_connections: 5, retention_days: 60}
    domains:
      app:
        live:
          max_age: 48h
          duplicate_window: 5m
          storage: memory
          max_bytes: 50MiB
          discard: new
          deny_delete: false
          consumers:
            - {name: c1}
            - {name: c2, kind: push, max_ack_pending: 7, ack_wait: 2m, dead_letter: true}
"""


@pytest.fixture(scope="module")
def env():
    return load_environment_text(TEXT, "environments/tiers.yaml")


def test_tier_defaults_apply(env) -> None:
    small = env.tenant("small-one")
    assert small.tier == "small"
    assert small.quotas.max_streams == 5 and small.quotas.max_bytes == 100 * 1024**2
    assert small.name == "small-one"                     # display name defaults to the id


def test_tenant_overrides_win(env) -> None:
    big = env.tenant("big-one")
    assert big.quotas.max_connections == 5               # override
    assert big.quotas.retention_days == 60               # override
    assert big.quotas.max_streams == 50                  # tier
    assert env.tiers[0].name == "large" and env.tiers[0].quotas.max_connections == 1000  # tier untouched


def test_class_defaults_and_retention_cap(env) -> None:
    app = env.tenant("small-one").domains[0]
    # small: retention_days 3 caps both defaults (720h live, 2160h replay)
    assert app.live.max_age_ns == 72 * HOUR
    assert app.replay is not None and app.replay.max_age_ns == 72 * HOUR
    assert app.live.duplicate_window_ns == 2 * MINUTE
    assert app.live.storage is StorageType.FILE and app.live.discard is DiscardPolicy.OLD
    assert app.live.deny_delete is True and app.live.deny_purge is False
    assert app.live.replicas == 1 and app.live.max_bytes is None


def test_class_overrides_win(env) -> None:
    live = env.tenant("big-one").domains[0].live
    assert live.max_age_ns == 48 * HOUR and live.duplicate_window_ns == 5 * MINUTE
    assert live.storage is StorageType.MEMORY and live.max_bytes == 50 * 1024**2
    assert live.discard is DiscardPolicy.NEW and live.deny_delete is False
    assert env.tenant("big-one").domains[0].replay is None


def test_consumer_defaults_and_overrides(env) -> None:
    c1, c2 = env.tenant("big-one").consumers
    assert (c1.kind, c1.ack_wait_ns, c1.max_deliver, c1.max_ack_pending) == (ConsumerKind.PULL, 30 * SECOND, -1, 10000)
    assert c1.filter_subject is None and c1.deliver_subject is None
    assert (c2.kind, c2.ack_wait_ns, c2.max_ack_pending, c2.max_deliver) == (ConsumerKind.PUSH, 2 * MINUTE, 7, 5)
    assert c2.deliver_subject == "big-one.deliver.app.live.c2"


def test_memory_stream_is_bounded_by_max_memory() -> None:
    text = TEXT.replace("max_bytes: 50MiB", "max_bytes: 200MiB")
    with pytest.raises(SpecError) as err:
        load_environment_text(text, "environments/tiers.yaml")
    assert [p.field for p in err.value.problems] == ["tenants[1].domains.app.live.max_bytes"]
    assert "max_memory" in str(err.value)


def test_subject_prefix_goes_in_front_of_every_subject() -> None:
    doc = yaml.safe_load(TEXT)
    doc["subject_prefix"] = "plat"
    doc["platform"] = {"consumers": [{"name": "arch", "class": "logs"}]}
    env = load_environment_text(yaml.safe_dump(doc), "environments/tiers.yaml")
    t = env.tenant("small-one")
    assert t.subjects.roots == ("plat.small-one.logs.>", "plat.small-one.events.>", "plat.small-one.otel.>")
    assert t.domains[0].live.subjects == ("plat.small-one.events.app.>",)
    assert env.platform.consumers[0].filter_subject == "plat.*.logs.>"


# -- stack settings ------------------------------------------------------------------------------

def test_stack_settings_defaults() -> None:
    s = stack_settings("dev", {"kubernetes:context": "x"})
    assert s.environment_path == "environments/dev.yaml" and s.nats_url is None


def test_stack_settings_values() -> None:
    s = stack_settings("prod", {"nats-tenancy:natsUrl": "tls://nats.example.com:4222",
                                "nats-tenancy:environment": "environments/other.yaml",
                                "nats-tenancy:operatorSeed": "SOSECRET"})
    assert s.nats_url == "tls://nats.example.com:4222" and s.environment_path == "environments/other.yaml"
    assert "SOSECRET" not in repr(s)


@pytest.mark.parametrize("stack,values,mode,field,text", [
    ("prod", {}, None, "config.nats-tenancy:natsUrl", "missing"),
    ("stage", {}, ServerMode.KUBERNETES, "config.nats-tenancy:natsUrl", "missing"),
    ("dev", {"nats-tenancy:natsUrl": "http://x:4222"}, None, "config.nats-tenancy:natsUrl", "not a NATS URL"),
    ("dev", {"nats-tenancy:natsurl": "nats://x:4222"}, None, "config.nats-tenancy:natsurl",
     "did you mean 'nats-tenancy:natsUrl'"),
    ("dev", {"nats-tenancy:environment": 3}, None, "config.nats-tenancy:environment", "expected a non-empty string"),
])
def test_stack_settings_problems(stack: str, values: dict, mode, field: str, text: str) -> None:
    with pytest.raises(SpecError) as err:
        stack_settings(stack, values, mode)
    p = err.value.problems[0]
    assert p.file == f"Pulumi.{stack}.yaml" and p.field == field and p.fix
    assert text in str(p)
