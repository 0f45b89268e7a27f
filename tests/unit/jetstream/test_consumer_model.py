"""Consumer validation, server-default normalization (recorded from nats-server 2.15.1) and diff rules."""
from __future__ import annotations

import json
from typing import Any

import pytest

from components.model.errors import SpecError
from components.model.jetstream.consumer import (
    consumer_wire_config,
    normalize_server_consumer,
    validate_and_normalize_consumer,
)
from components.model.jetstream.diff import diff_consumer, replacements

WHERE = "environments/dev.yaml: tenants.acme.consumers.worker"
SERVER_PULL_ACK_NONE = json.loads("""{"durable_name":"C1","name":"C1","deliver_policy":"all","ack_policy":"none",
 "max_deliver":-1,"replay_policy":"instant","max_waiting":512,"num_replicas":0,
 "metadata":{"_nats.level":"5","_nats.req.level":"0","_nats.ver":"2.15.1"}}""")
SERVER_PUSH = json.loads("""{"durable_name":"C2","name":"C2","deliver_policy":"all","ack_policy":"explicit",
 "ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_ack_pending":1000,"flow_control":true,
 "deliver_subject":"push.x","idle_heartbeat":5000000000,"num_replicas":0,"metadata":{"_nats.ver":"2.15.1"}}""")


def canon(**fields: Any) -> dict[str, Any]:
    return validate_and_normalize_consumer({"stream": "S", **fields}, WHERE)


def test_matches_what_the_server_returned():
    assert canon(name="C1", ack_policy="none") == normalize_server_consumer(SERVER_PULL_ACK_NONE, "S")
    assert canon(name="C2", deliver_subject="push.x", flow_control=True, idle_heartbeat="5s") == \
        normalize_server_consumer(SERVER_PUSH, "S")


def test_defaults():
    c = canon(name="w")
    assert c["durable_name"] == "w" and c["ack_policy"] == "explicit" and c["ack_wait"] == 30 * 10**9
    assert c["max_deliver"] == -1 and c["max_ack_pending"] == 1000 and c["max_waiting"] == 512
    assert canon(name="w", backoff=["1s", "5s"], max_deliver=5)["ack_wait"] == 10**9
    wire = consumer_wire_config(c)
    assert "stream" not in wire and "inactive_threshold" not in wire and wire["durable_name"] == "w"


@pytest.mark.parametrize("fields,field,needle", [
    ({"name": "a.b"}, "name", "not a valid consumer name"),
    ({"name": "w", "deliver_policy": "sometimes"}, "deliver_policy", "all|last|new"),
    ({"name": "w", "rate_limit_bps": 10}, "rate_limit_bps", "pull consumer"),
    ({"name": "w", "flow_control": True}, "flow_control", "pull consumer"),
    ({"name": "w", "deliver_subject": "d", "flow_control": True}, "flow_control", "idle_heartbeat"),
    ({"name": "w", "deliver_subject": "d", "max_waiting": 10}, "max_waiting", "push consumer"),
    ({"name": "w", "filter_subject": "a", "filter_subjects": ["b"]}, "filter_subjects", "mutually exclusive"),
    ({"name": "w", "filter_subjects": ["a..b"]}, "filter_subjects[0]", "empty token"),
    ({"name": "w", "deliver_policy": "by_start_sequence"}, "opt_start_seq", "needs opt_start_seq"),
    ({"name": "w", "deliver_policy": "last_per_subject"}, "deliver_policy", "needs filter_subject"),
    ({"name": "w", "opt_start_seq": 5}, "opt_start_seq", "only used"),
    ({"name": "w", "backoff": ["1s", "2s"], "max_deliver": 2}, "max_deliver", "greater than"),
    ({"name": "w", "backoff": ["1s"], "ack_wait": "5s", "max_deliver": 3}, "ack_wait", "first backoff"),
    ({"name": "w", "backoff": ["soon"]}, "backoff[0]", "not a duration"),
    ({"name": "w", "ack_wait": "-1s"}, "ack_wait", "below the minimum"),
    ({"name": "w", "durable_name": "x"}, "durable_name", "must equal name"),
    ({"name": "w", "speed": 1}, "speed", "unknown field"),
    ({"stream": "a b", "name": "w"}, "stream", "not a valid stream name"),
])
def test_problems_name_the_field(fields, field, needle):
    with pytest.raises(SpecError) as err:
        validate_and_normalize_consumer({"stream": "S", **fields}, WHERE)
    found: dict[str, str] = {}
    for p in err.value.problems:
        found[p.field] = found.get(p.field, "") + " | " + p.reason
    assert field in found, found
    assert needle in found[field]
    assert all(str(p).startswith(WHERE) for p in err.value.problems)


@pytest.mark.parametrize("change,replace", [
    ({"ack_wait": "1m"}, []),
    ({"max_deliver": 3}, []),
    ({"max_ack_pending": 5}, []),
    ({"filter_subject": "x.>"}, []),
    ({"description": "d"}, []),
    ({"inactive_threshold": "1h"}, []),
    ({"deliver_policy": "new"}, ["deliver_policy"]),
    ({"ack_policy": "all"}, ["ack_policy"]),
    ({"replay_policy": "original"}, ["replay_policy"]),
    ({"max_waiting": 10}, ["max_waiting"]),
    ({"stream": "T"}, ["stream"]),
    ({"mem_storage": True}, ["mem_storage"]),
])
def test_pull_classification(change, replace):
    old = canon(name="w")
    new = validate_and_normalize_consumer({"stream": "S", "name": "w", **change}, WHERE)
    changes = diff_consumer(old, new)
    assert changes and replacements(changes) == replace


def test_push_pull_switch_and_push_subject_change():
    pull = canon(name="w")
    push = canon(name="w", deliver_subject="d.1")
    assert "deliver_subject" in replacements(diff_consumer(pull, push))
    assert replacements(diff_consumer(push, canon(name="w", deliver_subject="d.2"))) == []
    heartbeat = canon(name="w", deliver_subject="d.1", idle_heartbeat="5s")
    assert replacements(diff_consumer(push, heartbeat)) == ["idle_heartbeat"]
