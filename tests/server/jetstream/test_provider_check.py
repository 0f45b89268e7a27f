"""check/diff behaviour that needs no server: failures per field, preview unknowns, side fields."""
from __future__ import annotations

import pytest
from pulumi.runtime import rpc

from components.providers.consumer import ConsumerProvider
from components.providers.kv_bucket import KvBucketProvider
from components.providers.stream import StreamProvider, user_fields

CONN = {"server_url": "nats://127.0.0.1:1", "creds": "SECRET", "account_label": "acme", "prevent_destroy": False}
P = StreamProvider()


def test_bad_stream_fails_in_check_naming_each_field():
    result = P.check({}, {"name": "S", "max_age": "-1h", "subjects": ["a.>", "a.b"], "colour": "red", **CONN})
    by_prop = {f.property: f.reason for f in result.failures}
    assert set(by_prop) == {"max_age", "subjects", "colour"}
    assert by_prop["max_age"].startswith("account acme: stream S: max_age:")
    assert "subjects[1]" in by_prop["subjects"] and "unknown field" in by_prop["colour"]


def test_check_output_is_canonical_and_idempotent():
    first = P.check({}, {"name": "S", "max_age": "1h", "max_msgs": 5.0, **CONN, "__provider": "blob"})
    assert first.failures == [] and first.inputs["max_age"] == 3600 * 10**9 and first.inputs["max_msgs"] == 5
    assert "__provider" not in first.inputs and first.inputs["creds"] == "SECRET"
    again = P.check({}, first.inputs)
    assert again.failures == [] and again.inputs == first.inputs


def test_unknowns_during_preview_are_skipped():
    news = {"name": "S", "max_age": rpc.UNKNOWN, "subjects": ["a.>"], **CONN}
    result = P.check({}, news)
    assert result.failures == [] and result.inputs["max_age"] == rpc.UNKNOWN
    bad = P.check({}, {**news, "storage": "disk"})
    assert [f.property for f in bad.failures] == ["storage"]
    olds = P.check({}, {"name": "S", "subjects": ["a.>"], **CONN}).inputs
    d = P.diff("S", olds, news)
    assert d.changes and d.replaces == []
    assert P.diff("S", olds, {**news, "storage": rpc.UNKNOWN}).replaces == ["storage"]


def test_connection_changes_are_updates_not_replacements():
    olds = P.check({}, {"name": "S", **CONN}).inputs
    d = P.diff("S", olds, {**olds, "creds": "NEW", "server_url": "nats://other:4222"})
    assert d.changes and d.replaces == []
    assert not P.diff("S", olds, dict(olds)).changes


def test_kv_replacement_names_kv_inputs_and_respects_prevent_destroy():
    kv = KvBucketProvider()
    olds = kv.check({}, {"bucket": "cfg", **CONN}).inputs
    news = kv.check({}, {"bucket": "cfg", "storage": "memory", "history": 3, **CONN}).inputs
    # No server here: what the bucket holds is unknown, so only an acknowledged replacement passes.
    with pytest.raises(RuntimeError, match="unknown number of messages"):
        kv.diff("KV_cfg", olds, news)
    d = kv.diff("KV_cfg", olds, {**news, "data_protection": {"allow_data_loss": True}})
    assert d.replaces == ["storage"]
    with pytest.raises(RuntimeError, match="prevent_destroy.*storage"):
        kv.diff("KV_cfg", olds, {**news, "prevent_destroy": True})
    assert kv.diff("KV_cfg", olds, kv.check({}, {"bucket": "cfg", "replicas": 3, **CONN}).inputs).replaces == []


def test_consumer_check_failures():
    c = ConsumerProvider()
    result = c.check({}, {"stream": "S", "name": "w", "deliver_policy": "by_start_sequence", **CONN})
    assert [f.property for f in result.failures] == ["opt_start_seq"]


def test_update_without_config_change_does_not_touch_the_server():
    olds = P.check({}, {"name": "S", **CONN}).inputs
    olds = {**olds, "config": P.to_stream_config(user_fields(olds)), "created": "t", "messages": 3, "bytes": 10}
    news = {**olds, "creds": "ROTATED"}
    # CONN points at a closed port: any server call would fail
    outs = P.update("S", olds, news).outs
    assert outs["creds"] == "ROTATED" and outs["messages"] == 3 and outs["config"] == olds["config"]


def test_replacement_refused_while_state_still_has_prevent_destroy():
    olds = {**P.check({}, {"name": "S", **CONN}).inputs, "prevent_destroy": True}
    news = P.check({}, {"name": "S", "storage": "memory", **CONN}).inputs  # flips prevent_destroy off too
    with pytest.raises(RuntimeError, match="first apply prevent_destroy: false on its own"):
        P.diff("S", olds, news)
    assert P.diff("S", olds, {**olds, "prevent_destroy": False}).replaces == []


def test_unknown_inside_a_list_is_skipped():
    news = {"name": "S", "subjects": ["a.>", rpc.UNKNOWN], **CONN}
    assert P.check({}, news).failures == []
    olds = P.check({}, {"name": "S", "subjects": ["a.>"], **CONN}).inputs
    d = P.diff("S", olds, news)
    assert d.changes and d.replaces == []
