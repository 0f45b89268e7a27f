"""KV buckets and object stores made by the providers are accepted by nats-py as its own."""
from __future__ import annotations

import pytest

from components.providers.kv_bucket import KvBucketProvider
from components.providers.object_store import ObjectStoreProvider
from tests.server.jetstream.conftest import as_engine, conn, unique, with_nats

KV = KvBucketProvider()
OBJ = ObjectStoreProvider()


@pytest.mark.parametrize("settings,py_settings", [
    ({}, {"direct": True}),  # direct gets on by default, as nats.go makes buckets
    ({"history": 5, "ttl": "1h", "max_bytes": "1MiB", "description": "cfg"},
     {"history": 5, "ttl": 3600, "max_bytes": 1024**2, "description": "cfg", "direct": True}),
    ({"ttl": "30s", "storage": "memory", "direct": False, "max_value_size": 1024},
     {"ttl": 30, "storage": "memory", "max_value_size": 1024}),
])
def test_kv_bucket_matches_nats_py(server, settings, py_settings):
    bucket = unique("cfg_")
    check = KV.check({}, {"bucket": bucket, **settings, **conn(server)})
    assert check.failures == []
    made = KV.create(as_engine(check.inputs))
    assert made.id == f"KV_{bucket}"

    async def app(nc):
        js = nc.jetstream()
        kv = await js.create_key_value(bucket=bucket, **py_settings)  # no 10058: same stream
        await kv.put("k", b"v1")
        kv2 = await js.key_value(bucket)
        return (await kv2.get("k")).value
    assert with_nats(server, app) == b"v1"
    read = KV.read(made.id, as_engine(made.outs))
    read.outs = as_engine(read.outs)
    assert not KV.diff(made.id, read.outs, check.inputs).changes
    # history is updatable in place; storage is not
    more = as_engine(KV.check({}, {**check.inputs, "history": 10}).inputs)
    d = KV.diff(made.id, read.outs, more)
    assert d.changes and d.replaces == []
    outs = as_engine(KV.update(made.id, read.outs, more).outs)
    assert outs["config"]["max_msgs_per_subject"] == 10
    other = "file" if check.inputs["storage"] == "memory" else "memory"
    # The bucket holds a value: the replacement is refused unless the loss is acknowledged.
    with pytest.raises(RuntimeError, match=r"(?s)data loss refused.*holds 1 messages"):
        KV.diff(made.id, outs, {**more, "storage": other})
    acknowledged = {**more, "storage": other, "data_protection": {"allow_data_loss": True}}
    assert KV.diff(made.id, outs, acknowledged).replaces == ["storage"]
    KV.delete(made.id, outs)


def test_kv_bad_inputs_name_fields(server):
    result = KV.check({}, {"bucket": "bad.name", "history": 100, "ttl": "-1s", **conn(server)})
    assert {f.property for f in result.failures} == {"bucket", "history", "ttl"}


def test_object_store_matches_nats_py(server):
    bucket = unique("files_")
    check = OBJ.check({}, {"bucket": bucket, "max_bytes": "8MiB", "description": "blobs", **conn(server)})
    assert check.failures == []
    made = OBJ.create(check.inputs)
    assert made.id == f"OBJ_{bucket}"

    async def app(nc):
        js = nc.jetstream()
        from nats.js.api import ObjectStoreConfig
        config = ObjectStoreConfig(max_bytes=8 * 1024**2, description="blobs")
        store = await js.create_object_store(bucket, config=config)
        await store.put("a.txt", b"hello" * 1000)
        return (await store.get("a.txt")).data
    assert with_nats(server, app) == b"hello" * 1000
    read = OBJ.read(made.id, made.outs)
    assert read.outs["max_bytes"] == 8 * 1024**2 and read.outs["messages"] >= 2
    assert not OBJ.diff(made.id, read.outs, check.inputs).changes
    OBJ.delete(made.id, read.outs)
    assert OBJ.read(made.id, read.outs).id == ""
