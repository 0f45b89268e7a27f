"""Every role the stack hands out × what applications do, with nats-py and with the real ``nats`` CLI.

Each row is one operation by one user, run once with each client. An ``allow`` row must succeed and
show its effect (the message arrives, the value reads back, the ack says duplicate). A ``deny`` row
must be refused by the server with a permissions error naming the subject (or, for the leaf user's
creds, an authorization error at connect), never merely time out.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import nats.errors
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from components.nats_io import messaging
from tests.clients import natscli
from tests.clients.tenancy import KV, KV_MSG_GET, OBJ, PULL, PUSH, PUSH_GROUP, STREAM, Tenancy, name
from tests.support.operator_mode import Client, connect, connect_refused

PERM = natscli.PERMISSION_ERROR
ORDER = "acme.events.orders.created"
S, PULL_C, PUSH_C = name(STREAM, "acme"), name(PULL, "acme"), name(PUSH, "acme")
KV_B, KV_OLD, OBJ_B = name(KV, "acme"), name(KV_MSG_GET, "acme"), name(OBJ, "acme")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def session(t: Tenancy, who: str, fn: Callable[[Client], Any]) -> Any:
    c = await connect(t.url, t.creds[who])
    try:
        return await fn(c)
    finally:
        await c.close()


def cli(t: Tenancy, who: str, *args: str, **kw: Any) -> Any:
    return natscli.run(t.context_file(who), *args, **kw)


def cli_ok(t: Tenancy, who: str, *args: str, **kw: Any) -> str:
    res = cli(t, who, *args, **kw)
    out = natscli.text(res)
    assert res.returncode == 0, f"nats {' '.join(args)} failed: {out}"
    assert PERM not in out, out
    return out


def cli_denied(t: Tenancy, who: str, subject: str, *args: str) -> str:
    res = cli(t, who, *args)
    out = natscli.text(res)
    assert res.returncode != 0, f"nats {' '.join(args)} succeeded: {out}"
    assert f'{PERM} ' in out and subject in out, f"no permissions error for {subject!r}: {out}"
    return out


async def py_denied(c: Client, subject: str, action: Callable[[], Any], kind: str = "Publish") -> str:
    """Run ``action`` (which the server must refuse) and return the permissions error it caused.
    A refused request also times out in nats-py; the error is what proves the refusal."""
    try:
        await action()
    except (nats.errors.Error, asyncio.TimeoutError):  # what follows a refusal; the error below decides
        pass
    err = await c.wait_error(f'{PERM} {kind} to "{subject}', timeout=5)
    return err


def bg(t: Tenancy, who: str, *args: str) -> natscli.Background:
    return natscli.Background(t.context_file(who), *args,
                              out_path=os.path.join(t.workdir, f"bg-{uuid.uuid4().hex[:8]}.out"))


def token() -> str:
    return uuid.uuid4().hex[:10]


# --- core NATS --------------------------------------------------------------------------------

def pub_sub_own_tree(t: Tenancy, client: str, who: str = "acme.service", sub_who: str = "") -> None:
    subject, data = f"acme.logs.app{token()}.info", token()
    sub_who = sub_who or who
    if client == "nats-py":
        async def go(c: Client) -> None:
            async def listen(s: Client) -> None:
                sub = await s.nc.subscribe(subject)
                await messaging.flush(s.nc)
                await c.nc.publish(subject, data.encode())
                await messaging.flush(c.nc)
                msg = await sub.next_msg(timeout=5)
                assert msg.data == data.encode()
                assert not s.errors, s.errors
            await session(t, sub_who, listen)
            assert not c.errors, c.errors
        run(session(t, who, go))
    else:
        listener = bg(t, sub_who, "sub", subject, "--count", "1")
        try:
            listener.wait_for("Subscribing on")
            cli_ok(t, who, "pub", subject, data)
            assert data in listener.finish()
        finally:
            listener.stop()


def check_connection(t: Tenancy, client: str) -> None:
    """A message through the client's own inbox, as ``nats server check connection`` does."""
    if client == "nats-py":
        async def go(c: Client) -> None:
            inbox = c.nc.new_inbox()
            sub = await c.nc.subscribe(inbox)
            await c.nc.publish(inbox, b"ping")
            assert (await sub.next_msg(timeout=5)).data == b"ping" and not c.errors, c.errors
        run(session(t, "acme.service", go))
    else:
        assert "OK Connection" in cli_ok(t, "acme.service", "server", "check", "connection")


def request_reply(t: Tenancy, client: str) -> None:
    subject = f"acme.events.svc{token()}.echo"
    if client == "nats-py":
        async def go(c: Client) -> None:
            async def responder(r: Client) -> None:
                async def answer(msg: Any) -> None:
                    await msg.respond(b"pong:" + msg.data)
                await r.nc.subscribe(subject, cb=answer)
                await messaging.flush(r.nc)
                reply = await c.nc.request(subject, b"ping", timeout=5)
                assert reply.data == b"pong:ping" and not r.errors, r.errors
            await session(t, "acme.service", responder)
        run(session(t, "acme.service", go))
    else:
        responder = bg(t, "acme.service", "reply", subject, "pong", "--count", "1")
        try:
            responder.wait_for("Listening on")
            assert "pong" in cli_ok(t, "acme.service", "request", subject, "ping")
        finally:
            responder.stop()


def publish_other_tenant(t: Tenancy, client: str) -> None:
    subject = "globex.events.orders.created"
    if client == "nats-py":
        async def go(c: Client) -> None:
            await py_denied(c, subject, lambda: c.nc.publish(subject, b"forged"))
        run(session(t, "acme.service", go))
    else:
        cli_denied(t, "acme.service", subject, "pub", subject, "forged")


def subscribe_other_tenant(t: Tenancy, client: str) -> None:
    subject = "globex.>"
    if client == "nats-py":
        async def go(c: Client) -> None:
            async def sub() -> None:
                await c.nc.subscribe(subject)
                await messaging.flush(c.nc)
            await py_denied(c, subject, sub, kind="Subscription")
        run(session(t, "acme.service", go))
    else:
        res = cli(t, "acme.service", "sub", subject, "--count", "1", timeout=30)
        out = natscli.text(res)
        assert f'{PERM} Subscription to "{subject}"' in out, out


# --- JetStream: streams and durable consumers -------------------------------------------------

def js_publish_dedup(t: Tenancy, client: str, who: str = "acme.service") -> None:
    msg_id = token()
    if client == "nats-py":
        async def go(c: Client) -> None:
            js = c.nc.jetstream()
            first = await js.publish(ORDER, b"order", headers={"Nats-Msg-Id": msg_id}, timeout=5)
            again = await js.publish(ORDER, b"order", headers={"Nats-Msg-Id": msg_id}, timeout=5)
            assert first.stream == S and not first.duplicate
            assert again.duplicate and again.seq == first.seq
        run(session(t, who, go))
    else:
        first = cli_ok(t, who, "pub", "--jetstream", ORDER, "order", "-H", f"Nats-Msg-Id:{msg_id}")
        again = cli_ok(t, who, "pub", "--jetstream", ORDER, "order", "-H", f"Nats-Msg-Id:{msg_id}")
        assert f"Stored in Stream: {S}" in first and "Duplicate: true" not in first
        assert "Duplicate: true" in again


def stream_info(t: Tenancy, client: str, who: str = "acme.service") -> None:
    if client == "nats-py":
        async def go(c: Client) -> None:
            info = await c.nc.jetstream().stream_info(S)
            assert info.config.name == S
        run(session(t, who, go))
    else:
        assert S in cli_ok(t, who, "stream", "info", S)


def account_info(t: Tenancy, client: str, who: str = "acme.service") -> None:
    if client == "nats-py":
        async def go(c: Client) -> None:
            info = await c.nc.jetstream().account_info()
            assert info.limits.max_streams == 10
        run(session(t, who, go))
    else:
        out = cli_ok(t, who, "account", "info")
        assert "Account Information" in out and t.accounts["acme"].public_key in out


def pull_consume(t: Tenancy, client: str) -> None:
    data = f"pull-{token()}"

    async def publish(c: Client) -> None:
        await c.nc.jetstream().publish(ORDER, data.encode(), timeout=5)
    run(session(t, "acme.service", publish))
    if client == "nats-py":
        async def go(c: Client) -> None:
            sub = await c.nc.jetstream().pull_subscribe_bind(durable=PULL_C, stream=S)
            seen: list[bytes] = []
            while data.encode() not in seen:
                msgs = await sub.fetch(10, timeout=5)
                for m in msgs:
                    await m.ack_sync(timeout=5)
                    seen.append(m.data)
        run(session(t, "acme.service", go))
    else:
        out = ""
        for _ in range(20):  # earlier rows left messages before ours: read until ours comes
            out = cli_ok(t, "acme.service", "consumer", "next", S, PULL_C, "--count", "1", "--ack")
            if data in out:
                break
        assert data in out, out


def push_queue_consume(t: Tenancy, client: str) -> None:
    data = f"push-{token()}"
    deliver = "acme.deliver.orders.feed"
    if client == "nats-py":
        async def go(c: Client) -> None:
            js = c.nc.jetstream()
            sub = await js.subscribe_bind(stream=S, consumer=PUSH_C, config=ConsumerConfig(
                durable_name=PUSH_C, deliver_subject=deliver, deliver_group=PUSH_GROUP), manual_ack=True)
            # a queue member: the same durable, bound with its deliver group
            await c.nc.jetstream().publish(ORDER, data.encode(), timeout=5)
            while True:
                msg = await sub.next_msg(timeout=5)
                await msg.ack_sync(timeout=5)
                if msg.data == data.encode():
                    break
            assert not c.errors, c.errors
        run(session(t, "acme.service", go))
    else:
        listener = bg(t, "acme.service", "sub", deliver, "--queue", PUSH_GROUP, "--ack")
        try:
            listener.wait_for("Subscribing on")
            cli_ok(t, "acme.service", "pub", "--jetstream", ORDER, data)
            listener.wait_for(data)
        finally:
            listener.stop()


def _denied_api(t: Tenancy, client: str, who: str, subject: str, py: Callable[[Any], Any], *cli_args: str) -> None:
    if client == "nats-py":
        async def go(c: Client) -> None:
            await py_denied(c, subject, lambda: py(c.nc.jetstream(timeout=1)))
        run(session(t, who, go))
    else:
        cli_denied(t, who, subject, *cli_args)


def stream_create(t: Tenancy, client: str, who: str = "acme.service") -> None:
    _denied_api(t, client, who, "$JS.API.STREAM.CREATE.ACME_SNEAK",
                lambda js: js.add_stream(StreamConfig(name="ACME_SNEAK", subjects=["acme.sneak.>"])),
                "stream", "add", "ACME_SNEAK", "--subjects", "acme.sneak.>", "--defaults")


def stream_update(t: Tenancy, client: str) -> None:
    _denied_api(t, client, "acme.service", f"$JS.API.STREAM.UPDATE.{S}",
                lambda js: js.update_stream(StreamConfig(name=S, subjects=["acme.events.orders.>"], max_msgs=5)),
                "stream", "edit", S, "--max-msgs", "5", "-f")


def stream_delete(t: Tenancy, client: str, who: str = "acme.service") -> None:
    _denied_api(t, client, who, f"$JS.API.STREAM.DELETE.{S}", lambda js: js.delete_stream(S),
                "stream", "rm", S, "-f")


def stream_purge(t: Tenancy, client: str) -> None:
    _denied_api(t, client, "acme.service", f"$JS.API.STREAM.PURGE.{S}", lambda js: js.purge_stream(S),
                "stream", "purge", S, "-f")


def durable_consumer_create(t: Tenancy, client: str) -> None:
    # nats-py creates a durable without a name through the legacy DURABLE.CREATE subject; natscli
    # through CONSUMER.CREATE.<stream>.<name>: both are outside the role.
    create = "DURABLE.CREATE" if client == "nats-py" else "CREATE"
    subject = f"$JS.API.CONSUMER.{create}.{S}.SNEAK"
    _denied_api(t, client, "acme.service", subject,
                lambda js: js.add_consumer(S, durable_name="SNEAK", ack_policy="explicit", timeout=1),
                "consumer", "add", S, "SNEAK", "--pull", "--defaults")


def ephemeral_consumer_on_stream(t: Tenancy, client: str) -> None:
    if client == "nats-py":
        async def go(c: Client) -> None:
            js = c.nc.jetstream()
            await py_denied(c, f"$JS.API.CONSUMER.CREATE.{S}",
                            lambda: js.subscribe("acme.events.orders.>", stream=S, ordered_consumer=True))
        run(session(t, "acme.service", go))
    else:
        cli_denied(t, "acme.service", f"$JS.API.CONSUMER.CREATE.{S}.", "sub", "acme.events.orders.>",
                   "--stream", S, "--all", "--count", "1")


def consumer_delete(t: Tenancy, client: str) -> None:
    _denied_api(t, client, "acme.service", f"$JS.API.CONSUMER.DELETE.{S}.{PULL_C}",
                lambda js: js.delete_consumer(S, PULL_C),
                "consumer", "rm", S, PULL_C, "-f")


# --- KV buckets -------------------------------------------------------------------------------

async def _kv(c: Client, bucket: str = KV_B) -> Any:
    return await c.nc.jetstream().key_value(bucket)


def kv_put_get(t: Tenancy, client: str, who: str = "acme.service", bucket: str = KV_B) -> None:
    key, value = f"k{token()}", token()
    if client == "nats-py":
        async def go(c: Client) -> None:
            kv = await _kv(c, bucket)
            rev = await kv.put(key, value.encode())
            entry = await kv.get(key)
            assert entry.value == value.encode() and entry.revision == rev
        run(session(t, who, go))
    else:
        cli_ok(t, who, "kv", "put", bucket, key, value)
        assert value in cli_ok(t, who, "kv", "get", bucket, key, "--raw")


def _kv_seed(t: Tenancy, *pairs: tuple[str, str]) -> None:
    async def go(c: Client) -> None:
        kv = await _kv(c)
        for k, v in pairs:
            await kv.put(k, v.encode())
    run(session(t, "acme.service", go))


def kv_delete_purge(t: Tenancy, client: str) -> None:
    gone, purged = f"d{token()}", f"p{token()}"
    _kv_seed(t, (gone, "1"), (purged, "1"), (purged, "2"))
    if client == "nats-py":
        async def go(c: Client) -> None:
            kv = await _kv(c)
            await kv.delete(gone)
            await kv.purge(purged)
            keys = await kv.keys()
            assert gone not in keys and purged not in keys
            assert [e.operation for e in await kv.history(purged)] == ["PURGE"]
        run(session(t, "acme.service", go))
    else:
        cli_ok(t, "acme.service", "kv", "del", KV_B, gone, "-f")
        cli_ok(t, "acme.service", "kv", "purge", KV_B, purged, "-f")
        keys = cli_ok(t, "acme.service", "kv", "ls", KV_B).split()
        assert gone not in keys and purged not in keys


def kv_keys_history(t: Tenancy, client: str) -> None:
    key = f"h{token()}"
    _kv_seed(t, (key, "v1"), (key, "v2"), (key, "v3"))
    if client == "nats-py":
        async def go(c: Client) -> None:
            kv = await _kv(c)
            assert key in await kv.keys()
            assert [e.value for e in await kv.history(key)] == [b"v1", b"v2", b"v3"]
            assert not c.errors, c.errors
        run(session(t, "acme.service", go))
    else:
        assert key in cli_ok(t, "acme.service", "kv", "ls", KV_B).split()
        out = cli_ok(t, "acme.service", "kv", "history", KV_B, key)
        assert all(v in out for v in ("v1", "v2", "v3")), out


def kv_watch(t: Tenancy, client: str) -> None:
    before, after = f"w{token()}", f"w{token()}"
    _kv_seed(t, (before, "old"))
    if client == "nats-py":
        async def go(c: Client) -> None:
            kv = await _kv(c)
            watcher = await kv.watchall()
            seen: set[str] = set()
            while before not in seen:
                e = await watcher.updates(timeout=5)
                if e is not None:
                    seen.add(e.key)
            await kv.put(after, b"new")
            while after not in seen:
                e = await watcher.updates(timeout=5)
                if e is not None:
                    seen.add(e.key)
            await watcher.stop()
            assert not c.errors, c.errors
        run(session(t, "acme.service", go))
    else:
        watch = bg(t, "acme.service", "kv", "watch", KV_B)
        try:
            watch.wait_for(before)
            _kv_seed(t, (after, "new"))
            out = watch.wait_for(after)
            assert PERM not in out, out
        finally:
            watch.stop()


def kv_other_account(t: Tenancy, client: str) -> None:
    """Another tenant's bucket does not exist in this account: isolation by account, no error text
    of permissions (the API answers 'not found')."""
    bucket = name(KV, "globex")
    if client == "nats-py":
        async def go(c: Client) -> None:
            from nats.js.errors import BucketNotFoundError
            with pytest.raises(BucketNotFoundError):
                await c.nc.jetstream().key_value(bucket)
        run(session(t, "acme.service", go))
    else:
        res = cli(t, "acme.service", "kv", "get", bucket, "colour")
        assert res.returncode != 0 and "not found" in natscli.text(res).lower(), natscli.text(res)


# --- object stores ------------------------------------------------------------------------------

async def _names(store: Any) -> list[str]:
    """Live object names; nats-py's ``list`` raises NotFoundError for an empty store."""
    from nats.js.errors import NotFoundError
    try:
        return [o.name for o in await store.list(ignore_deletes=True)]
    except NotFoundError:
        return []


def obj_put_get_info_list_delete(t: Tenancy, client: str) -> None:
    obj, data = f"report-{token()}.txt", os.urandom(300_000)  # several chunks
    if client == "nats-py":
        async def go(c: Client) -> None:
            store = await c.nc.jetstream().object_store(OBJ_B)
            await store.put(obj, data)
            assert (await store.get(obj)).data == data
            assert (await store.get_info(obj)).size == len(data)
            assert obj in await _names(store)
            await store.put(obj, data[:1000])          # a replacement purges the old chunks
            assert (await store.get(obj)).data == data[:1000]
            await store.delete(obj)
            assert obj not in await _names(store)
            assert not c.errors, c.errors
        run(session(t, "acme.service", go))
    else:
        src, got = os.path.join(t.workdir, obj), os.path.join(t.workdir, f"got-{obj}")
        with open(src, "wb") as f:
            f.write(data)
        cli_ok(t, "acme.service", "obj", "put", OBJ_B, src, "--name", obj, "-f")
        cli_ok(t, "acme.service", "obj", "get", OBJ_B, obj, "-O", got, "-f")
        with open(got, "rb") as f:
            assert f.read() == data
        info = cli_ok(t, "acme.service", "obj", "info", OBJ_B, obj)
        assert hashlib.sha256(data).hexdigest() in info and "Chunks: 3" in info, info
        assert obj in cli_ok(t, "acme.service", "obj", "ls", OBJ_B)
        cli_ok(t, "acme.service", "obj", "del", OBJ_B, obj, "-f")
        assert obj not in cli_ok(t, "acme.service", "obj", "ls", OBJ_B)


# --- reader, backup, platform consumer, leaf ------------------------------------------------------

def reader_subscribes(t: Tenancy, client: str) -> None:
    pub_sub_own_tree(t, client, who="acme.service", sub_who="acme.reader")


def reader_publish(t: Tenancy, client: str) -> None:
    subject = "acme.logs.app.info"
    if client == "nats-py":
        async def go(c: Client) -> None:
            await py_denied(c, subject, lambda: c.nc.publish(subject, b"x"))
        run(session(t, "acme.reader", go))
    else:
        cli_denied(t, "acme.reader", subject, "pub", subject, "x")


def reader_stream_info(t: Tenancy, client: str) -> None:
    _denied_api(t, client, "acme.reader", f"$JS.API.STREAM.INFO.{S}", lambda js: js.stream_info(S),
                "stream", "info", S)


def reader_kv_get(t: Tenancy, client: str) -> None:
    _denied_api(t, client, "acme.reader", f"$JS.API.STREAM.INFO.KV_{KV_B}", lambda js: js.key_value(KV_B),
                "kv", "get", KV_B, "colour")


def backup_stream(t: Tenancy, client: str) -> None:
    if client == "nats-py":
        async def go(c: Client) -> None:
            inbox = c.nc.new_inbox()
            sub = await c.nc.subscribe(inbox)
            reply = json.loads((await c.nc.request(f"$JS.API.STREAM.SNAPSHOT.{S}", json.dumps(
                {"deliver_subject": inbox, "chunk_size": 4096}).encode(), timeout=5)).data)
            assert "error" not in reply and reply["config"]["name"] == S, reply
            size = 0
            while True:
                chunk = await sub.next_msg(timeout=5)
                if not chunk.data:
                    break
                size += len(chunk.data)
                if chunk.reply:
                    await c.nc.publish(chunk.reply, b"")
            assert size > 0 and not c.errors, c.errors
        run(session(t, "acme.ops", go))
    else:
        out_dir = os.path.join(t.workdir, f"backup-{token()}")
        cli_ok(t, "acme.ops", "stream", "backup", S, out_dir)
        assert sorted(os.listdir(out_dir)) == ["backup.json", "stream.tar.s2"] or \
            "backup.json" in os.listdir(out_dir), os.listdir(out_dir)


def backup_publish(t: Tenancy, client: str) -> None:
    subject = ORDER
    if client == "nats-py":
        async def go(c: Client) -> None:
            await py_denied(c, subject, lambda: c.nc.publish(subject, b"forged"))
        run(session(t, "acme.ops", go))
    else:
        cli_denied(t, "acme.ops", subject, "pub", subject, "forged")


def backup_subscribe(t: Tenancy, client: str) -> None:
    subject = "acme.events.>"
    if client == "nats-py":
        async def go(c: Client) -> None:
            async def sub() -> None:
                await c.nc.subscribe(subject)
                await messaging.flush(c.nc)
            await py_denied(c, subject, sub, kind="Subscription")
        run(session(t, "acme.ops", go))
    else:
        out = natscli.text(cli(t, "acme.ops", "sub", subject, "--count", "1"))
        assert f'{PERM} Subscription to "{subject}"' in out, out


def backup_kv_put(t: Tenancy, client: str) -> None:
    subject = f"$KV.{KV_B}.colour"
    if client == "nats-py":
        async def go(c: Client) -> None:
            await py_denied(c, subject, lambda: c.nc.jetstream().publish(subject, b"red", timeout=1))
        run(session(t, "acme.ops", go))
    else:
        cli_denied(t, "acme.ops", subject, "kv", "put", KV_B, "colour", "red")


def platform_reads_all_logs(t: Tenancy, client: str) -> None:
    a, g = f"a{token()}", f"g{token()}"

    async def publish() -> None:
        for who, subject, data in (("acme.service", "acme.logs.app.info", a),
                                   ("globex.service", "globex.logs.app.info", g)):
            await session(t, who, lambda c, s=subject, d=data: c.nc.publish(s, d.encode()))

    if client == "nats-py":
        async def go(c: Client) -> None:
            sub = await c.nc.subscribe("*.logs.>")
            await messaging.flush(c.nc)
            await publish()
            got = {(await sub.next_msg(timeout=5)).data.decode() for _ in range(2)}
            assert got == {a, g}
        run(session(t, "platform.consumer", go))
    else:
        listener = bg(t, "platform.consumer", "sub", "*.logs.>", "--count", "2")
        try:
            listener.wait_for("Subscribing on")
            run(publish())
            out = listener.finish()
            assert a in out and g in out, out
        finally:
            listener.stop()


def platform_publish_into_tenant(t: Tenancy, client: str) -> None:
    subject = "acme.logs.app.info"
    if client == "nats-py":
        async def go(c: Client) -> None:
            await py_denied(c, subject, lambda: c.nc.publish(subject, b"forged"))
        run(session(t, "platform.consumer", go))
    else:
        cli_denied(t, "platform.consumer", subject, "pub", subject, "forged")


def leaf_creds_as_client(t: Tenancy, client: str) -> None:
    if client == "nats-py":
        assert natscli.AUTH_ERROR.lower() in run(connect_refused(t.url, t.creds["acme.leaf"])).lower()
    else:
        res = cli(t, "acme.leaf", "server", "check", "connection")
        assert res.returncode != 0 and natscli.AUTH_ERROR.lower() in natscli.text(res).lower(), natscli.text(res)


@dataclass(frozen=True)
class Row:
    role: str
    op: str
    verdict: str           # "allow" or "deny"
    check: Callable[[Tenancy, str], None]


def _as(who: str, fn: Callable[..., None]) -> Callable[[Tenancy, str], None]:
    return lambda t, client: fn(t, client, who=who)


ROWS = [
    Row("service", "pub/sub own tree", "allow", pub_sub_own_tree),
    Row("service", "request/reply", "allow", request_reply),
    Row("service", "server check connection", "allow", check_connection),
    Row("service", "js publish Nats-Msg-Id dedup", "allow", js_publish_dedup),
    Row("service", "stream info", "allow", stream_info),
    Row("service", "account info", "allow", account_info),
    Row("service", "durable pull consume+ack", "allow", pull_consume),
    Row("service", "durable push queue consume+ack", "allow", push_queue_consume),
    Row("service", "kv put/get (direct get)", "allow", kv_put_get),
    Row("service", "kv put/get (msg get)", "allow", lambda t, c: kv_put_get(t, c, bucket=KV_OLD)),
    Row("service", "kv delete/purge", "allow", kv_delete_purge),
    Row("service", "kv keys/history", "allow", kv_keys_history),
    Row("service", "kv watch", "allow", kv_watch),
    Row("service", "obj put/get/info/list/delete", "allow", obj_put_get_info_list_delete),
    Row("service", "kv of another tenant", "deny", kv_other_account),
    Row("service", "publish other tenant", "deny", publish_other_tenant),
    Row("service", "subscribe other tenant", "deny", subscribe_other_tenant),
    Row("service", "stream create", "deny", stream_create),
    Row("service", "stream update", "deny", stream_update),
    Row("service", "stream delete", "deny", stream_delete),
    Row("service", "stream purge", "deny", stream_purge),
    Row("service", "durable consumer create", "deny", durable_consumer_create),
    Row("service", "ephemeral consumer on a stream", "deny", ephemeral_consumer_on_stream),
    Row("service", "consumer delete", "deny", consumer_delete),
    Row("extra(service)", "js publish Nats-Msg-Id dedup", "allow", _as("acme.ingest", js_publish_dedup)),
    Row("extra(service)", "kv put/get", "allow", _as("acme.ingest", kv_put_get)),
    Row("extra(service)", "stream delete", "deny", _as("acme.ingest", stream_delete)),
    Row("reader", "subscribe own trees", "allow", reader_subscribes),
    Row("reader", "publish own tree", "deny", reader_publish),
    Row("reader", "stream info", "deny", reader_stream_info),
    Row("reader", "kv get", "deny", reader_kv_get),
    Row("backup", "stream info", "allow", _as("acme.ops", stream_info)),
    Row("backup", "account info", "allow", _as("acme.ops", account_info)),
    Row("backup", "stream backup", "allow", backup_stream),
    Row("backup", "publish own tree", "deny", backup_publish),
    Row("backup", "subscribe own tree", "deny", backup_subscribe),
    Row("backup", "kv put", "deny", backup_kv_put),
    Row("backup", "stream create", "deny", _as("acme.ops", stream_create)),
    Row("platform consumer", "subscribe every tenant's logs", "allow", platform_reads_all_logs),
    Row("platform consumer", "publish into a tenant", "deny", platform_publish_into_tenant),
    Row("leaf", "connect as a client", "deny", leaf_creds_as_client),
]


@pytest.mark.parametrize("client", ["nats-py", "natscli"])
@pytest.mark.parametrize("row", ROWS, ids=[f"{r.verdict}-{r.role}-{r.op}".replace(" ", "_") for r in ROWS])
def test_role_operation(tenants: Tenancy, row: Row, client: str) -> None:
    if client == "natscli" and natscli.missing():
        pytest.skip(natscli.missing())
    row.check(tenants, client)
