"""StreamProvider methods against a real nats-server: adopt, no-op, update in place, replace, drift."""
from __future__ import annotations

from typing import Any

import pytest

from components.nats_io import jetstream as jsc
from components.nats_io.errors import JetStreamConnectError, SubjectsOverlap
from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import api_call, as_engine, conn, unique, with_nats

P = StreamProvider()


def checked(props: dict[str, Any]) -> dict[str, Any]:
    result = P.check({}, props)
    assert result.failures == [], [f.reason for f in result.failures]
    return as_engine(result.inputs)


def make(server, **fields: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    inputs = checked({**fields, **conn(server)})
    created = P.create(inputs)
    return created.id, inputs, as_engine(created.outs)


def server_config(server, name: str) -> dict[str, Any]:
    async def go(api: jsc.JetStreamApi):
        return await api.stream_info(name)
    info = api_call(server, go)
    assert info is not None
    return info


def publish(server, subject: str, n: int) -> None:
    async def go(nc):
        js = nc.jetstream()
        for i in range(n):
            await js.publish(subject, f"m{i}".encode())
    with_nats(server, go)


def test_create_adopt_noop_update_keeps_messages(server):
    name = unique("ORDERS")
    id_, inputs, outs = make(server, name=name, subjects=[f"{name}.a.>"], max_age="1h", max_bytes="10MiB")
    assert id_ == name
    assert outs["config"]["max_age"] == 3600 * 10**9 and outs["config"]["max_bytes"] == 10 * 1024**2
    # create again with the same config adopts the stream
    again = P.create(inputs)
    assert again.id == name and again.outs["config"] == outs["config"]
    # no-op diff
    d = P.diff(id_, outs, inputs)
    assert not d.changes and d.replaces == []
    publish(server, f"{name}.a.x", 3)
    new_inputs = checked({**inputs, "max_age": "2h", "subjects": [f"{name}.a.>", f"{name}.b.*"],
                          "description": "orders"})
    d = P.diff(id_, outs, new_inputs)
    assert d.changes and d.replaces == []
    updated = as_engine(P.update(id_, outs, new_inputs).outs)
    live = server_config(server, name)
    assert live["config"]["max_age"] == 2 * 3600 * 10**9
    assert live["config"]["subjects"] == [f"{name}.a.>", f"{name}.b.*"]
    assert live["config"]["description"] == "orders"
    assert live["state"]["messages"] == 3 and updated["messages"] == 3
    assert api_call(server, lambda api: api.stream_info(name))["state"]["messages"] == 3
    assert not P.diff(id_, updated, new_inputs).changes
    P.delete(id_, updated)


@pytest.mark.parametrize("field,value", [("storage", "memory"), ("retention", "workqueue")])
def test_immutable_change_is_replacement_and_refused_with_prevent_destroy(server, field, value):
    name = unique("IMM")
    id_, inputs, outs = make(server, name=name)
    new_inputs = checked({**inputs, field: value})
    d = P.diff(id_, outs, new_inputs)
    assert d.changes and d.replaces == [field] and d.delete_before_replace
    guarded = {**new_inputs, "prevent_destroy": True}
    with pytest.raises(RuntimeError, match=f"prevent_destroy.*{field}"):
        P.diff(id_, outs, guarded)
    P.delete(id_, outs)


def test_retention_limits_to_interest_is_in_place(server):
    name = unique("RET")
    id_, inputs, outs = make(server, name=name)
    new_inputs = checked({**inputs, "retention": "interest"})
    d = P.diff(id_, outs, new_inputs)
    assert d.changes and d.replaces == []
    outs = as_engine(P.update(id_, outs, new_inputs).outs)
    assert server_config(server, name)["config"]["retention"] == "interest"
    P.delete(id_, outs)


def test_drift_is_read_and_gone_is_reported(server):
    name = unique("DRIFT")
    id_, inputs, outs = make(server, name=name, max_msgs=100)

    async def tamper(nc):
        js = nc.jetstream()
        info = await js.stream_info(name)
        info.config.max_msgs = 5
        await js.update_stream(info.config)
    with_nats(server, tamper)
    read = P.read(id_, outs)
    read.outs = as_engine(read.outs)
    assert read.id == name and read.outs["max_msgs"] == 5 and read.outs["config"]["max_msgs"] == 5
    d = P.diff(id_, read.outs, inputs)
    assert d.changes and d.replaces == []
    restored = P.update(id_, read.outs, inputs).outs
    assert server_config(server, name)["config"]["max_msgs"] == 100
    P.delete(id_, restored)
    gone = P.read(id_, restored)
    assert gone.id == "" and gone.outs == {}
    P.delete(id_, restored)  # already gone is fine


def test_conflicting_existing_stream_fails_clearly(server):
    name = unique("CONFLICT")
    id_, inputs, outs = make(server, name=name, max_msgs=10)
    other = checked({**inputs, "max_msgs": 20})
    with pytest.raises(RuntimeError, match=r"already exists.*max_msgs"):
        P.create(other)
    P.delete(id_, outs)


def test_overlapping_subjects_between_streams_is_clear(server):
    a = unique("OVA")
    id_, inputs, outs = make(server, name=a, subjects=["ov.>"])
    b = checked({"name": unique("OVB"), "subjects": ["ov.x.*"], **conn(server)})
    with pytest.raises(SubjectsOverlap) as err:
        P.create(b)
    assert err.value.err_code == 10065
    assert "acme" in str(err.value) and "overlap" in str(err.value)
    P.delete(id_, outs)


def test_delete_refused_with_prevent_destroy(server):
    name = unique("KEEP")
    id_, inputs, outs = make(server, name=name)
    with pytest.raises(RuntimeError, match="prevent_destroy"):
        P.delete(id_, {**outs, "prevent_destroy": True})
    assert server_config(server, name)
    P.delete(id_, outs)


def test_unreachable_server_is_clear():
    props = checked({"name": "X", "server_url": "nats://127.0.0.1:1", "creds": "", "account_label": "acme",
                     "prevent_destroy": False})
    with pytest.raises(JetStreamConnectError, match="cannot reach NATS at nats://127.0.0.1:1"):
        P.create(props)
