"""Stream validation (every message names the field), normalization to server defaults, diff rules."""
from __future__ import annotations

import json
from typing import Any

import pytest

from components.model.errors import SpecError
from components.model.jetstream.diff import diff_stream, replacements
from components.model.jetstream.stream import normalize_server_stream, stream_wire_config, validate_and_normalize_stream

WHERE = "environments/dev.yaml: tenants.acme.streams.orders"

# What nats-server 2.15.1 returned for STREAM.CREATE {"name": "S1"} (recorded live).
SERVER_S1 = json.loads("""{"name":"S1","subjects":["S1"],"retention":"limits","max_consumers":-1,"max_msgs":-1,
 "max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file",
 "num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,
 "sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},
 "allow_msg_ttl":false,"metadata":{"_nats.level":"5","_nats.req.level":"0","_nats.ver":"2.15.1"}}""")


def problems(inputs: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as err:
        validate_and_normalize_stream(inputs, WHERE)
    for p in err.value.problems:
        assert p.file == WHERE and p.fix
        assert str(p).startswith(f"{WHERE}: {p.field}: ")
    return {p.field: p.reason for p in err.value.problems}


def test_minimal_stream_equals_server_defaults():
    assert validate_and_normalize_stream({"name": "S1"}, WHERE) == normalize_server_stream(SERVER_S1)


def test_floats_from_pulumi_and_strings_normalize_to_ints():
    c = validate_and_normalize_stream({"name": "S", "max_msgs": 10.0, "max_age": "1h", "max_bytes": "1GiB",
                                       "num_replicas": 3.0, "duplicate_window": 60e9}, WHERE)
    assert c["max_msgs"] == 10 and type(c["max_msgs"]) is int
    assert c["max_age"] == 3600 * 10**9 and c["max_bytes"] == 1024**3 and c["num_replicas"] == 3
    assert c["duplicate_window"] == 60 * 10**9 and type(c["duplicate_window"]) is int


@pytest.mark.parametrize("inputs,field,needle", [
    ({"name": "S", "max_age": "-1h"}, "max_age", "below the minimum"),
    ({"name": "S", "max_age": "50ms"}, "max_age", "100ms"),
    ({"name": "S", "max_age": "1m", "duplicate_window": "2m"}, "duplicate_window", "longer than max_age"),
    ({"name": "S", "duplicate_window": "10ms"}, "duplicate_window", "100ms"),
    ({"name": "S", "deny_purge": True, "allow_rollup_hdrs": True}, "allow_rollup_hdrs", "deny_purge: false"),
    ({"name": "a.b"}, "name", "not a valid stream name"),
    ({"name": "a b"}, "name", "not a valid stream name"),
    ({"name": "a*"}, "name", "not a valid stream name"),
    ({"name": "x" * 256}, "name", "256 characters"),
    ({}, "name", "required"),
    ({"name": "S", "subjects": ["a.>", "a.b"]}, "subjects[1]", "overlaps"),
    ({"name": "S", "subjects": ["a..b"]}, "subjects[0]", "empty token"),
    ({"name": "S", "subjects": ["a.>.b"]}, "subjects[0]", "last token"),
    ({"name": "S", "subjects": ["a.b*"]}, "subjects[0]", "whole tokens"),
    ({"name": "S", "subjects": "a.>"}, "subjects", "not a list"),
    ({"name": "S", "retention": "forever"}, "retention", "limits|interest|workqueue"),
    ({"name": "S", "storage": "disk"}, "storage", "file|memory"),
    ({"name": "S", "max_bytes": "1 parsec"}, "max_bytes", "not a size"),
    ({"name": "S", "max_msgs": 1.5}, "max_msgs", "not a whole number"),
    ({"name": "S", "num_replicas": 7}, "num_replicas", "7 replicas"),
    ({"name": "S", "deny_delete": "yes"}, "deny_delete", "true or false"),
    ({"name": "S", "colour": "red"}, "colour", "unknown field"),
    ({"name": "S", "metadata": {"_nats.ver": "1"}}, "metadata._nats.ver", "belong to the server"),
    ({"name": "S", "subject_delete_marker_ttl": "5s", "allow_msg_ttl": False}, "allow_msg_ttl", "must be true"),
    ({"name": "S", "subject_delete_marker_ttl": "100ms"}, "subject_delete_marker_ttl", "below 1s"),
    ({"name": "S", "discard_new_per_subject": True}, "discard_new_per_subject", "discard: new"),
    ({"name": "S", "mirror": {"name": "O"}, "subjects": ["x"]}, "subjects", "mirror can not have subjects"),
    ({"name": "S", "mirror": {}}, "mirror.name", "origin stream name"),
])
def test_each_problem_names_its_field(inputs, field, needle):
    found = problems(inputs)
    assert field in found, found
    assert needle in found[field]


def test_all_problems_are_reported_at_once():
    found = problems({"name": "bad.name", "max_age": "-5s", "storage": "disk", "extra": 1})
    assert set(found) == {"name", "max_age", "storage", "extra"}


def test_defaults_follow_the_server():
    c = validate_and_normalize_stream({"name": "S", "max_age": "30s", "max_msgs": 0, "max_bytes": 0}, WHERE)
    assert c["duplicate_window"] == 30 * 10**9  # min(2m, max_age)
    assert c["subjects"] == ["S"] and c["max_msgs"] == -1 and c["max_bytes"] == -1
    sdm = validate_and_normalize_stream({"name": "S", "subject_delete_marker_ttl": "5s"}, WHERE)
    assert sdm["allow_msg_ttl"] and sdm["allow_rollup_hdrs"]
    mirror = validate_and_normalize_stream({"name": "M", "mirror": {"name": "S"}}, WHERE)
    assert mirror["subjects"] == [] and mirror["duplicate_window"] == 0
    assert "subjects" not in stream_wire_config(mirror)


def test_server_only_keys_and_nats_metadata_are_dropped():
    noisy = {**SERVER_S1, "placement": {"cluster": "c"}, "metadata": {"_nats.ver": "2", "team": "x"}, "first_seq": 5}
    c = normalize_server_stream(noisy)
    assert c["metadata"] == {"team": "x"} and "placement" not in c and "first_seq" not in c


@pytest.mark.parametrize("change,replace", [
    ({"storage": "memory"}, True),
    ({"retention": "workqueue"}, True),
    ({"retention": "interest"}, False),
    ({"max_age": "1h"}, False),
    ({"subjects": ["a", "b"]}, False),
    ({"description": "x"}, False),
    ({"num_replicas": 3}, False),
    ({"deny_delete": True}, False),
    ({"allow_msg_ttl": True}, False),
    ({"sealed": True}, False),
])
def test_classification_from_defaults(change, replace):
    base = validate_and_normalize_stream({"name": "S", "subjects": ["a"]}, WHERE)
    new = validate_and_normalize_stream({"name": "S", "subjects": ["a"], **change}, WHERE)
    changes = diff_stream(base, new)
    assert changes and bool(replacements(changes)) is replace
    assert all(c.reason for c in changes if c.requires_replace)


@pytest.mark.parametrize("flag", ["deny_delete", "deny_purge", "allow_msg_ttl", "sealed"])
def test_one_way_flags_can_not_be_turned_off(flag):
    on = validate_and_normalize_stream({"name": "S", flag: True}, WHERE)
    off = validate_and_normalize_stream({"name": "S"}, WHERE)
    assert replacements(diff_stream(on, off)) == [flag]
    assert replacements(diff_stream(off, on)) == []


def test_mirror_removal_promotes_in_place_and_retention_from_workqueue_replaces():
    m = {"mirror": {"name": "O"}, "mirror_direct": False}
    with_mirror = validate_and_normalize_stream({"name": "S", **m}, WHERE)
    without = {**with_mirror, "mirror": None}
    assert replacements(diff_stream(with_mirror, without)) == []
    assert replacements(diff_stream(without, with_mirror)) == ["mirror"]
    other = validate_and_normalize_stream({"name": "S", "mirror": {"name": "P"}}, WHERE)
    assert replacements(diff_stream(with_mirror, other)) == ["mirror"]
    assert validate_and_normalize_stream(with_mirror, WHERE) == with_mirror  # re-check is idempotent
    wq = validate_and_normalize_stream({"name": "S", "retention": "workqueue"}, WHERE)
    lim = validate_and_normalize_stream({"name": "S"}, WHERE)
    assert replacements(diff_stream(wq, lim)) == ["retention"]


def test_identical_configs_have_no_diff():
    c = validate_and_normalize_stream({"name": "S", "max_age": "1h"}, WHERE)
    assert diff_stream(c, dict(c)) == []


@pytest.mark.parametrize("a,b,overlap", [
    ("a.>", "a.b", True), ("a.*", "a.b", True), ("a.*", "a.b.c", False), ("a.>", "a", False),
    ("*.b", "a.*", True), ("a.b", "a.c", False), (">", "x.y", True), ("a.b", "a.b", True),
])
def test_subject_overlap(a, b, overlap):
    from components.model.subjects import subjects_overlap
    assert subjects_overlap(a, b) is overlap and subjects_overlap(b, a) is overlap
