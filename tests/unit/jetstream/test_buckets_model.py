"""KV and object store configs match what nats-py / the server produce (recorded live)."""
from __future__ import annotations

import json

import pytest

from components.model.errors import SpecError
from components.model.jetstream.kv import kv_stream_config, normalize_server_kv, validate_and_normalize_kv
from components.model.jetstream.object_store import (
    normalize_server_object_store,
    object_store_stream_config,
    validate_and_normalize_object_store,
)
from components.model.jetstream.stream import normalize_server_stream

# STREAM.INFO config after nats-py 2.16 create_key_value(bucket="B1", history=5, ttl=3600)
KV_B1 = json.loads("""{"name":"KV_B1","subjects":["$KV.B1.>"],"retention":"limits","max_consumers":-1,"max_msgs":-1,
 "max_bytes":-1,"max_age":3600000000000,"max_msgs_per_subject":5,"max_msg_size":-1,"discard":"new","storage":"file",
 "num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,
 "sealed":false,"deny_delete":true,"deny_purge":false,"allow_rollup_hdrs":true,"consumer_limits":{},"allow_msg_ttl":true,
 "metadata":{"_nats.level":"5","_nats.req.level":"1","_nats.ver":"2.15.1"}}""")
# ... after create_object_store(bucket="O1")
OBJ_O1 = json.loads("""{"name":"OBJ_O1","subjects":["$O.O1.C.>","$O.O1.M.>"],"retention":"limits","max_consumers":-1,
 "max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file",
 "num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":true,"mirror_direct":false,
 "sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":true,"consumer_limits":{},"allow_msg_ttl":false,
 "metadata":{"_nats.level":"5","_nats.req.level":"0","_nats.ver":"2.15.1"}}""")


def test_kv_stream_equals_nats_py_bucket():
    kv = validate_and_normalize_kv({"bucket": "B1", "history": 5.0, "ttl": "1h", "direct": False}, "kv")
    assert kv_stream_config(kv) == normalize_server_stream(KV_B1)
    assert normalize_server_kv(KV_B1) == kv


def test_kv_direct_is_on_unless_turned_off():
    kv = validate_and_normalize_kv({"bucket": "B1", "history": 5, "ttl": "1h"}, "kv")
    assert kv["direct"] is True and kv_stream_config(kv)["allow_direct"] is True
    assert kv_stream_config(kv) == normalize_server_stream({**KV_B1, "allow_direct": True})


def test_kv_direct_default_is_an_update_in_place_for_an_old_bucket():
    from components.model.jetstream.diff import diff_stream, replacements
    old = kv_stream_config(validate_and_normalize_kv({"bucket": "B1", "direct": False}, "kv"))
    new = kv_stream_config(validate_and_normalize_kv({"bucket": "B1"}, "kv"))
    changes = diff_stream(old, new)
    assert [c.field for c in changes] == ["allow_direct"] and replacements(changes) == []


def test_bucket_compression_and_metadata_reach_the_stream():
    kv = validate_and_normalize_kv({"bucket": "B", "compression": "s2", "metadata": {"team": "a"}}, "kv")
    s = kv_stream_config(kv)
    assert (s["compression"], s["metadata"]) == ("s2", {"team": "a"})
    assert normalize_server_kv(s) == kv
    obj = validate_and_normalize_object_store({"bucket": "O", "compression": "s2"}, "obj")
    assert object_store_stream_config(obj)["compression"] == "s2"
    assert normalize_server_object_store(object_store_stream_config(obj)) == obj


def test_kv_short_ttl_shortens_duplicate_window():
    kv = validate_and_normalize_kv({"bucket": "B", "ttl": "30s"}, "kv")
    assert kv_stream_config(kv)["duplicate_window"] == 30 * 10**9


def test_object_store_equals_nats_py_bucket():
    obj = validate_and_normalize_object_store({"bucket": "O1"}, "obj")
    assert object_store_stream_config(obj) == normalize_server_stream(OBJ_O1)
    assert normalize_server_object_store(OBJ_O1) == obj


@pytest.mark.parametrize("fn,inputs,field", [
    (validate_and_normalize_kv, {"bucket": "a.b"}, "bucket"),
    (validate_and_normalize_kv, {"bucket": "b", "history": 65}, "history"),
    (validate_and_normalize_kv, {"bucket": "b", "history": 0}, "history"),
    (validate_and_normalize_kv, {"bucket": "b", "ttl": "10ms"}, "ttl"),
    (validate_and_normalize_kv, {"bucket": "b", "compression": "gzip"}, "compression"),
    (validate_and_normalize_kv, {"bucket": "b", "metadata": {"_nats.x": "1"}}, "metadata._nats.x"),
    (validate_and_normalize_object_store, {"bucket": "b", "history": 2}, "history"),
    (validate_and_normalize_object_store, {"bucket": "x y"}, "bucket"),
    (validate_and_normalize_object_store, {"bucket": "b", "max_bytes": "lots"}, "max_bytes"),
])
def test_bucket_problems_name_the_input(fn, inputs, field):
    with pytest.raises(SpecError) as err:
        fn(inputs, "tenants.acme.kv.cfg")
    assert field in {p.field for p in err.value.problems}
