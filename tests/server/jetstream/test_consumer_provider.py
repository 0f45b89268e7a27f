"""ConsumerProvider methods against a real nats-server."""
from __future__ import annotations

from typing import Any

import pytest

from components.nats_io import jetstream as jsc
from components.providers.consumer import ConsumerProvider
from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import api_call, as_engine, conn, unique

C = ConsumerProvider()
S = StreamProvider()


@pytest.fixture(scope="module")
def stream(server):
    name = unique("CS")
    inputs = S.check({}, {"name": name, "subjects": [f"{name}.>"], **conn(server)}).inputs
    created = S.create(inputs)
    yield name
    S.delete(created.id, created.outs)


def checked(props: dict[str, Any]) -> dict[str, Any]:
    result = C.check({}, props)
    assert result.failures == [], [f.reason for f in result.failures]
    return as_engine(result.inputs)


def live(server, stream: str, name: str) -> dict[str, Any]:
    async def go(api: jsc.JetStreamApi):
        return await api.consumer_info(stream, name)
    info = api_call(server, go)
    assert info is not None
    return info["config"]


def test_pull_consumer_lifecycle(server, stream):
    name = unique("pull")
    inputs = checked({"stream": stream, "name": name, "ack_wait": "45s", "max_deliver": 5, "max_ack_pending": 50,
                      "filter_subjects": [f"{stream}.a.*", f"{stream}.b.>"], **conn(server)})
    made = C.create(inputs)
    made.outs = as_engine(made.outs)
    assert made.id == f"{stream}/{name}"
    cfg = live(server, stream, name)
    assert cfg["ack_wait"] == 45 * 10**9 and cfg["max_deliver"] == 5 and cfg["max_ack_pending"] == 50
    assert cfg["durable_name"] == name and "inactive_threshold" not in cfg
    assert C.create(inputs).id == made.id  # identical: adopted
    assert not C.diff(made.id, made.outs, inputs).changes
    newer = checked({**inputs, "ack_wait": "1m", "filter_subjects": [f"{stream}.c.>"], "max_deliver": 7})
    d = C.diff(made.id, made.outs, newer)
    assert d.changes and d.replaces == []
    outs = as_engine(C.update(made.id, made.outs, newer).outs)
    cfg = live(server, stream, name)
    assert cfg["ack_wait"] == 60 * 10**9 and cfg["filter_subjects"] == [f"{stream}.c.>"] and cfg["max_deliver"] == 7
    assert not C.diff(made.id, outs, newer).changes
    # immutable
    imm = checked({**newer, "deliver_policy": "new"})
    d = C.diff(made.id, outs, imm)
    assert d.replaces == ["deliver_policy"]
    with pytest.raises(RuntimeError, match="prevent_destroy.*deliver_policy"):
        C.diff(made.id, outs, {**imm, "prevent_destroy": True})
    to_push = checked({**newer, "deliver_subject": "somewhere", "max_waiting": None})
    assert "deliver_subject" in C.diff(made.id, outs, to_push).replaces
    # conflict
    with pytest.raises(RuntimeError, match="already exists.*ack_wait"):
        C.create(checked({**inputs, "ack_wait": "10s"}))
    # drift + gone
    behind = {**live(server, stream, name), "max_ack_pending": 7}

    async def tamper(api: jsc.JetStreamApi):
        return await api.consumer_create(stream, behind, action="update")
    api_call(server, tamper)
    read = C.read(made.id, outs)
    assert read.outs["max_ack_pending"] == 7
    assert C.diff(made.id, read.outs, newer).changes
    C.delete(made.id, outs)
    assert C.read(made.id, outs).id == ""
    C.delete(made.id, outs)


def test_push_consumer_with_flow_control(server, stream):
    name = unique("push")
    inputs = checked({"stream": stream, "name": name, "deliver_subject": f"deliver.{name}", "flow_control": True,
                      "idle_heartbeat": "5s", "rate_limit_bps": 1_000_000.0, "filter_subject": f"{stream}.a.>",
                      **conn(server)})
    made = C.create(inputs)
    made.outs = as_engine(made.outs)
    cfg = live(server, stream, name)
    assert cfg["flow_control"] is True and cfg["idle_heartbeat"] == 5 * 10**9 and cfg["rate_limit_bps"] == 1_000_000
    assert not C.diff(made.id, made.outs, inputs).changes
    newer = checked({**inputs, "rate_limit_bps": 2_000_000, "description": "push"})
    assert C.diff(made.id, made.outs, newer).replaces == []
    outs = as_engine(C.update(made.id, made.outs, newer).outs)
    assert live(server, stream, name)["rate_limit_bps"] == 2_000_000
    assert C.diff(made.id, outs, checked({**newer, "idle_heartbeat": "10s"})).replaces == ["idle_heartbeat"]
    C.delete(made.id, outs)


def test_bad_consumer_fails_in_check(server, stream):
    result = C.check({}, {"stream": stream, "name": "bad.name", "rate_limit_bps": 10, "flow_control": True,
                          "bogus": 1, **conn(server)})
    props = {f.property for f in result.failures}
    assert {"name", "rate_limit_bps", "bogus"} <= props
    assert all(f"consumer {stream}/bad.name" in f.reason for f in result.failures)
