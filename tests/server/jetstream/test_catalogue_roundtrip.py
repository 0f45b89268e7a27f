"""Every catalogue field a layout sets, on a real nats-server: created with the field, STREAM.INFO /
CONSUMER.INFO normalizes back to the same canonical config, a second create is idempotent, and an
in-place change is applied by UPDATE (a replace-rule change is shown as a replacement)."""
from __future__ import annotations

from typing import Any

import pytest

from components.model.jetstream.consumer import normalize_server_consumer, validate_and_normalize_consumer
from components.model.jetstream.stream import normalize_server_stream, validate_and_normalize_stream
from components.nats_io import jetstream as jsc
from components.providers.consumer import ConsumerProvider
from components.providers.kv_bucket import KvBucketProvider
from components.providers.stream import StreamProvider, user_fields
from tests.server.jetstream.conftest import api_call, as_engine, conn, unique, with_nats

S = StreamProvider()
C = ConsumerProvider()
KV = KvBucketProvider()


def _checked(provider: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, props)
    assert result.failures == [], [f.reason for f in result.failures]
    return as_engine(result.inputs)


def _stream_info(server, name: str) -> dict[str, Any]:
    async def go(api: jsc.JetStreamApi):
        return await api.stream_info(name)
    info = api_call(server, go)
    assert info is not None
    return info["config"]


def _consumer_info(server, stream: str, name: str) -> dict[str, Any]:
    async def go(api: jsc.JetStreamApi):
        return await api.consumer_info(stream, name)
    info = api_call(server, go)
    assert info is not None
    return info["config"]


def _round_trip_stream(server, fields: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    inputs = _checked(S, {**fields, **conn(server)})
    made = S.create(inputs)
    live = normalize_server_stream(_stream_info(server, made.id))
    assert live == made.outs["config"] == validate_and_normalize_stream(fields, "test")
    assert S.create(inputs).id == made.id  # the same create again is accepted as is
    read = S.read(made.id, as_engine(made.outs))
    assert not S.diff(made.id, as_engine(read.outs), inputs).changes
    return made.id, inputs, as_engine(read.outs)


@pytest.mark.parametrize("extra", [
    {"compression": "s2"},
    {"max_msgs": 100, "max_msgs_per_subject": 3},
    {"metadata": {"team": "billing", "tier": "gold"}},
    {"allow_msg_ttl": True, "allow_direct": True},
    {"subject_transform": {"src": "{s}.in.>", "dest": "{s}.out.>"}},
    {"republish": {"src": "{s}.>", "dest": "copies.{s}.>", "headers_only": True}},
    {"republish": {"dest": "all.{s}.>"}},
    {"duplicate_window": "1m", "max_age": "7d"},
])
def test_stream_field_round_trip(server, extra):
    name = unique("CAT")
    fields = {k: (_fill(v, name)) for k, v in extra.items()}
    id_, _, _ = _round_trip_stream(server, {"name": name, "subjects": [f"{name}.>"], **fields})
    S.delete(id_, {**conn(server)})


def _fill(value: Any, name: str) -> Any:
    if isinstance(value, str):
        return value.replace("{s}", name)
    if isinstance(value, dict):
        return {k: _fill(v, name) for k, v in value.items()}
    return value


def test_sources_with_transforms_and_mirror_round_trip(server):
    origin = unique("ORIG")
    oid, _, _ = _round_trip_stream(server, {"name": origin, "subjects": [f"{origin}.>"], "allow_direct": True})
    agg = unique("AGG")
    aid, _, _ = _round_trip_stream(server, {"name": agg, "sources": [
        {"name": origin, "subject_transforms": [{"src": f"{origin}.>", "dest": f"agg.{origin}.>"}]}]})
    mirror = unique("MIR")
    mid, _, outs = _round_trip_stream(server, {"name": mirror,
                                               "mirror": {"name": origin, "filter_subject": f"{origin}.a"},
                                               "mirror_direct": True})
    assert outs["config"]["mirror"] == {"name": origin, "filter_subject": f"{origin}.a"}
    for id_ in (mid, aid, oid):
        S.delete(id_, {**conn(server)})


def test_in_place_stream_changes_are_applied_by_update(server):
    name = unique("UPD")
    id_, inputs, outs = _round_trip_stream(server, {"name": name, "subjects": [f"{name}.>"]})
    changed = _checked(S, {**inputs, "compression": "s2", "max_msgs_per_subject": 5, "allow_direct": True,
                           "subject_transform": {"src": f"{name}.>", "dest": f"t.{name}.>"},
                           "republish": {"dest": f"rp.{name}.>"}, "metadata": {"a": "1"}})
    d = S.diff(id_, outs, changed)
    assert d.changes and d.replaces == []
    S.update(id_, outs, changed)
    live = normalize_server_stream(_stream_info(server, name))
    assert live == S.to_stream_config(user_fields(changed))
    assert (live["compression"], live["max_msgs_per_subject"], live["allow_direct"]) == ("s2", 5, True)
    S.delete(id_, {**conn(server)})


@pytest.fixture(scope="module")
def stream(server):
    name = unique("CSTREAM")
    inputs = _checked(S, {"name": name, "subjects": [f"{name}.>"], **conn(server)})
    made = S.create(inputs)
    yield name
    S.delete(made.id, made.outs)


@pytest.mark.parametrize("fields", [
    {"deliver_subject": "dl.{c}", "deliver_group": "workers", "idle_heartbeat": "15s", "flow_control": True,
     "max_deliver": 5, "ack_wait": "30s"},
    {"deliver_subject": "dl.{c}", "deliver_group": "workers", "headers_only": True},
    {"backoff": ["1s", "5s", "30s"], "max_deliver": 5},
    {"max_waiting": 100, "inactive_threshold": "1h", "headers_only": True},
    {"deliver_policy": "by_start_sequence", "opt_start_seq": 3},
    {"deliver_policy": "by_start_time", "opt_start_time": "2020-01-01T02:00:00+02:00"},
    {"deliver_policy": "last_per_subject", "filter_subject": "{s}.a.>"},
    {"deliver_policy": "new"},
    {"priority_groups": ["jobs"], "priority_policy": "pinned_client"},
    {"priority_groups": ["jobs", "bulk"], "priority_policy": "overflow"},
    {"priority_groups": ["jobs"], "priority_policy": "prioritized"},
    {"priority_groups": ["jobs"], "priority_policy": "pinned_client", "priority_timeout": "30s"},
    {"pause_until": "2030-01-01T00:00:00Z"},
    {"pause_until": "2030-01-01T02:00:00.500+02:00"},
])
def test_consumer_field_round_trip(server, stream, fields):
    cname = unique("c")
    filled = {k: (v.replace("{c}", cname).replace("{s}", stream) if isinstance(v, str) else v)
              for k, v in fields.items()}
    inputs = _checked(C, {"stream": stream, "name": cname, **filled, **conn(server)})
    made = C.create(inputs)
    live = normalize_server_consumer(_consumer_info(server, stream, cname), stream)
    assert live == made.outs["config"] == validate_and_normalize_consumer(
        {"stream": stream, "name": cname, **filled}, "test")
    assert C.create(inputs).id == made.id
    read = C.read(made.id, as_engine(made.outs))
    assert not C.diff(made.id, as_engine(read.outs), inputs).changes, read.outs["config"]
    C.delete(made.id, read.outs)


def test_consumer_in_place_and_replace_changes(server, stream):
    cname = unique("q")
    inputs = _checked(C, {"stream": stream, "name": cname, "priority_groups": ["a"], "priority_policy": "overflow",
                          **conn(server)})
    made = C.create(inputs)
    outs = as_engine(made.outs)
    moved = _checked(C, {**inputs, "priority_groups": ["b"], "priority_policy": "pinned_client",
                         "inactive_threshold": "2h", "backoff": ["1s", "2s"], "ack_wait": "1s", "max_deliver": 4})
    d = C.diff(made.id, outs, moved)
    assert d.changes and d.replaces == []
    outs = as_engine(C.update(made.id, outs, moved).outs)
    live = normalize_server_consumer(_consumer_info(server, stream, cname), stream)
    assert live["priority_groups"] == ["b"] and live["priority_policy"] == "pinned_client"
    assert live["priority_timeout"] == 120 * 10**9  # the server's default for pinned clients
    # pause_until is kept by UPDATE as it was, so a new one is a replacement (shown as such)
    paused = _checked(C, {**moved, "pause_until": "2031-01-01T00:00:00Z"})
    assert "pause_until" in C.diff(made.id, outs, paused).replaces
    C.delete(made.id, outs)


def test_existing_bucket_gets_direct_gets_in_place(server):
    bucket = unique("direct_")
    old = _checked(KV, {"bucket": bucket, "direct": False, **conn(server)})
    made = KV.create(old)
    outs = as_engine(made.outs)
    assert outs["config"]["allow_direct"] is False
    new = _checked(KV, {"bucket": bucket, **conn(server)})  # the default: direct on
    d = KV.diff(made.id, outs, new)
    assert d.changes and d.replaces == []
    outs = as_engine(KV.update(made.id, outs, new).outs)
    assert _stream_info(server, f"KV_{bucket}")["allow_direct"] is True

    async def app(nc):
        js = nc.jetstream()
        kv = await js.key_value(bucket)
        await kv.put("k", b"v")
        return kv._direct, (await kv.get("k")).value
    assert with_nats(server, app) == (True, b"v")
    KV.delete(made.id, outs)


@pytest.mark.parametrize("settings", [
    {"compression": "s2", "metadata": {"team": "config"}, "history": 5},
    {"limit_marker_ttl": "1s", "ttl": "1h"},
])
def test_bucket_fields_round_trip(server, settings):
    bucket = unique("kvcat_")
    inputs = _checked(KV, {"bucket": bucket, **settings, **conn(server)})
    made = KV.create(inputs)
    live = _stream_info(server, f"KV_{bucket}")
    assert normalize_server_stream(live) == made.outs["config"]
    assert KV.create(inputs).id == made.id
    read = KV.read(made.id, as_engine(made.outs))
    assert not KV.diff(made.id, as_engine(read.outs), inputs).changes
    for key, value in settings.items():
        assert read.outs[key] == inputs[key], key

    async def app(nc):
        kv = await nc.jetstream().key_value(bucket)
        await kv.put("k", b"v")
        return (await kv.get("k")).value
    assert with_nats(server, app) == b"v"
    KV.delete(made.id, as_engine(read.outs))
