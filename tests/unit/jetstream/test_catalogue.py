"""The field catalogues: complete, the single source of the docs tables and the update rules, and
the server rules of the fields layouts set (each rule here was observed on nats-server 2.15.1)."""
from __future__ import annotations

import pathlib

import pytest

from components.model.errors import SpecError
from components.model.jetstream import field_tables
from components.model.jetstream.bucket_fields import KV_CATALOGUE, OBJECT_STORE_CATALOGUE
from components.model.jetstream.catalogue import Rule, names
from components.model.jetstream.consumer import validate_and_normalize_consumer
from components.model.jetstream.consumer_fields import CONSUMER_CATALOGUE, utc_time
from components.model.jetstream.diff import diff_consumer, diff_stream, replacements
from components.model.jetstream.kv import STREAM_TO_INPUT as KV_TO_INPUT
from components.model.jetstream.kv import validate_and_normalize_kv
from components.model.jetstream.object_store import validate_and_normalize_object_store
from components.model.jetstream.stream import validate_and_normalize_stream
from components.model.jetstream.stream_fields import STREAM_CATALOGUE

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_docs_tables_are_generated_from_the_catalogues():
    text = (ROOT / field_tables.DOC).read_text(encoding="utf-8")
    regenerate = "run: python -m components.model.jetstream.field_tables"
    assert field_tables.BEGIN in text, regenerate
    assert field_tables.with_tables(text) == text, f"docs drifted; {regenerate}"


def test_every_settable_field_has_a_docs_row():
    section = field_tables.render()
    for catalogue in (STREAM_CATALOGUE, CONSUMER_CATALOGUE, KV_CATALOGUE, OBJECT_STORE_CATALOGUE):
        for name in names(catalogue):
            assert f"| `{name}` |" in section


@pytest.mark.parametrize("build,catalogue,extra", [
    (lambda: validate_and_normalize_stream({"name": "S"}, "t"), STREAM_CATALOGUE, set()),
    (lambda: validate_and_normalize_consumer({"stream": "S", "name": "c"}, "t"), CONSUMER_CATALOGUE, {"stream"}),
    (lambda: validate_and_normalize_kv({"bucket": "b"}, "t"), KV_CATALOGUE, set()),
    (lambda: validate_and_normalize_object_store({"bucket": "b"}, "t"), OBJECT_STORE_CATALOGUE, set()),
])
def test_canonical_form_has_exactly_the_catalogue_fields(build, catalogue, extra):
    assert set(build()) == set(names(catalogue, settable_only=False)) | extra


def test_unknown_field_lists_the_catalogue():
    with pytest.raises(SpecError) as err:
        validate_and_normalize_stream({"name": "S", "compresion": "s2"}, "t")
    (problem,) = err.value.problems
    assert problem.field == "compresion" and "compression" in problem.fix and "republish" in problem.fix


def _stream(**fields):
    return validate_and_normalize_stream({"name": "S", "subjects": ["s.>"], **fields}, "t")


@pytest.mark.parametrize("before,after,rule", [
    ({}, {"compression": "s2"}, None),
    ({"compression": "s2"}, {}, None),
    ({}, {"max_msgs": 10, "max_msgs_per_subject": 3}, None),
    ({}, {"subject_transform": {"src": "s.>", "dest": "t.>"}}, None),
    ({"subject_transform": {"src": "s.>", "dest": "t.>"}}, {}, None),
    ({}, {"republish": {"dest": "r.>"}}, None),
    ({}, {"allow_direct": True}, None),
    ({}, {"metadata": {"a": "1"}}, None),
    ({}, {"allow_msg_ttl": True}, None),
    ({"allow_msg_ttl": True}, {}, Rule.REPLACE),  # 10052 "message TTL status can not be disabled"
    ({}, {"sealed": True}, None),
    ({"sealed": True}, {}, Rule.REFUSED),  # 10052 "can not unseal a sealed stream"
    ({}, {"storage": "memory"}, Rule.REPLACE),
])
def test_stream_update_rules(before, after, rule):
    changes = diff_stream(_stream(**before), _stream(**after))
    assert changes
    assert bool(replacements(changes)) is (rule is not None)
    assert any(c.refused for c in changes) is (rule is Rule.REFUSED)


def test_mirror_rules():
    plain = validate_and_normalize_stream({"name": "M"}, "t")
    mirror = validate_and_normalize_stream({"name": "M", "mirror": {"name": "O"}}, "t")
    filtered = validate_and_normalize_stream({"name": "M", "mirror": {"name": "O", "filter_subject": "o.a"}}, "t")
    assert replacements(diff_stream(mirror, filtered)) == ["mirror"]  # 10055
    assert "mirror" not in replacements(diff_stream(mirror, plain))   # promoting is in place


def _consumer(**fields):
    return validate_and_normalize_consumer({"stream": "S", "name": "c", **fields}, "t")


PUSH = {"deliver_subject": "d.c", "idle_heartbeat": "15s", "flow_control": True}


@pytest.mark.parametrize("before,after,replaced", [
    (PUSH, {**PUSH, "deliver_group": "workers"}, []),
    (PUSH, {**PUSH, "headers_only": True}, []),
    (PUSH, {**PUSH, "idle_heartbeat": "5s"}, ["idle_heartbeat"]),  # 10012 "heart beats can not be updated"
    (PUSH, {**PUSH, "flow_control": False}, ["flow_control"]),
    ({}, {"backoff": ["1s", "5s"], "max_deliver": 5}, []),
    ({}, {"inactive_threshold": "1h"}, []),
    ({}, {"max_waiting": 100}, ["max_waiting"]),  # 10012 "max waiting can not be updated"
    ({}, {"priority_groups": ["a"], "priority_policy": "overflow"}, []),
    ({"priority_groups": ["a"], "priority_policy": "overflow"},
     {"priority_groups": ["b"], "priority_policy": "pinned_client"}, []),
    ({}, {"pause_until": "2030-01-01T00:00:00Z"}, ["pause_until"]),  # UPDATE keeps the stored value
    ({}, {"deliver_policy": "new"}, ["deliver_policy"]),
])
def test_consumer_update_rules(before, after, replaced):
    changes = diff_consumer(_consumer(**before), _consumer(**after))
    assert changes and sorted(replacements(changes)) == sorted(replaced)


@pytest.mark.parametrize("fields,field", [
    ({"subject_transform": {"src": "s.>"}}, "subject_transform.dest"),
    ({"subject_transform": {"dest": "t.>", "bogus": 1}}, "subject_transform.bogus"),
    ({"republish": {"dest": "s.copy.>"}}, "republish.dest"),  # a cycle: 10052 on the server
    ({"republish": {"src": "s.>"}}, "republish.dest"),
    ({"republish": "r.>"}, "republish"),
    ({"compression": "gzip"}, "compression"),
    ({"subjects": None, "sources": [{"name": "O", "filter_subject": "o.a",
                                     "subject_transforms": [{"src": "o.>", "dest": "x.>"}]}]},
     "sources[0].subject_transforms"),  # 10144
    ({"subjects": None, "mirror": {"name": "O", "subject_transforms": "x"}}, "mirror.subject_transforms"),
])
def test_stream_field_problems(fields, field):
    inputs = {"name": "S", "subjects": ["s.>"], **fields}
    inputs = {k: v for k, v in inputs.items() if v is not None}
    with pytest.raises(SpecError) as err:
        validate_and_normalize_stream(inputs, "t")
    assert field in {p.field for p in err.value.problems}


@pytest.mark.parametrize("fields,field", [
    ({"priority_policy": "overflow"}, "priority_groups"),  # 10159
    ({"priority_groups": ["a"]}, "priority_policy"),  # 10196
    ({"priority_groups": ["a+b"], "priority_policy": "overflow"}, "priority_groups[0]"),  # 10162
    ({"priority_groups": ["x" * 17], "priority_policy": "overflow"}, "priority_groups[0]"),
    ({"priority_groups": ["a", "a"], "priority_policy": "overflow"}, "priority_groups"),
    ({"priority_groups": ["a"], "priority_policy": "sticky"}, "priority_policy"),
    ({"priority_groups": ["a"], "priority_policy": "overflow", "priority_timeout": "5s"}, "priority_timeout"),
    ({"deliver_subject": "d.x", "priority_groups": ["a"], "priority_policy": "overflow"}, "priority_groups"),  # 10178
    ({"pause_until": "tomorrow"}, "pause_until"),
    ({"pause_until": "2030-02-30T00:00:00Z"}, "pause_until"),
    ({"deliver_policy": "by_start_time", "opt_start_time": "2030-01-01"}, "opt_start_time"),
    ({"idle_heartbeat": "5s"}, "idle_heartbeat"),  # 10088: pull consumers have no heartbeats
    ({"deliver_subject": "d.x", "max_waiting": 5}, "max_waiting"),  # 10080
])
def test_consumer_field_problems(fields, field):
    with pytest.raises(SpecError) as err:
        validate_and_normalize_consumer({"stream": "S", "name": "c", **fields}, "t")
    assert field in {p.field for p in err.value.problems}


def test_pinned_client_gets_the_servers_two_minutes():
    c = _consumer(priority_groups=["a"], priority_policy="pinned_client")
    assert c["priority_timeout"] == 120 * 10**9
    assert _consumer(priority_groups=["a"], priority_policy="overflow")["priority_timeout"] == 0


@pytest.mark.parametrize("text,utc", [
    ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
    ("2030-01-01T02:00:00+02:00", "2030-01-01T00:00:00Z"),
    ("2030-01-01T00:00:00.500000000Z", "2030-01-01T00:00:00.5Z"),
    ("2030-01-01T00:00:00.123456789-01:00", "2030-01-01T01:00:00.123456789Z"),
    ("2030-01-01 00:00:00Z", None),
    ("2030-13-01T00:00:00Z", None),
])
def test_times_are_kept_in_utc(text, utc):
    assert utc_time(text) == utc


def test_bucket_inputs_name_their_stream_fields():
    assert KV_TO_INPUT["allow_direct"] == "direct" and KV_TO_INPUT["max_msgs_per_subject"] == "history"
    assert KV_TO_INPUT["compression"] == "compression"
    for field in KV_CATALOGUE + OBJECT_STORE_CATALOGUE:
        stream_row = next(r for r in STREAM_CATALOGUE if r.name == field.stream_field)
        assert field.update == stream_row.update  # a bucket input costs what its stream field costs
