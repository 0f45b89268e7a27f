"""A stream or consumer create whose reply does not come in time, against a real server.

The server may have applied the create and answered late (a busy server), or never have seen it.
The create is followed by an INFO request: when the object is there with the requested config the
create counts as done; otherwise it is sent once more, which a server answers with the object when
the config is identical and refuses when another object holds the name."""
from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Any, Optional

import pytest

from components.nats_io import jetstream as jsc
from components.nats_io.connect import Msg
from components.nats_io.errors import JetStreamApiTimeout
from components.providers.consumer import ConsumerProvider
from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import api_call, conn, unique

S = StreamProvider()
C = ConsumerProvider()
ORIGINAL_SEND = jsc.JetStreamApi._send


class Replies:
    """Wraps ``JetStreamApi._send``: the next creates (and, while a plan is set, deletes) lose their
    reply, ``late`` (the server applies the request and answers, after the caller gave up) or
    ``lost`` (the request never reaches it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.plan: list[str] = []
        self.creates: list[str] = []
        self.deletes: list[str] = []
        replies = self

        async def send(api: jsc.JetStreamApi, subject: str, payload: bytes, context: str = "") -> Msg:
            if ".CREATE." in f".{subject}":
                replies.creates.append(subject)
            elif ".DELETE." in f".{subject}" and replies.plan:
                replies.deletes.append(subject)
            else:
                return await ORIGINAL_SEND(api, subject, payload, context)
            fate = replies.plan.pop(0) if replies.plan else "on time"
            if fate == "on time":
                return await ORIGINAL_SEND(api, subject, payload, context)
            if fate == "late":
                await api.nc.request(f"{jsc.API}.{subject}", payload, timeout=10)  # applied; the reply is dropped
            raise JetStreamApiTimeout(408, 0, f"no reply to {jsc.API}.{subject} (test: {fate})", api.account_label,
                                      context)

        monkeypatch.setattr(jsc.JetStreamApi, "_send", send)


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> Replies:
    return Replies(monkeypatch)


def _stream(server: Any, name: str, **fields: Any) -> Any:
    return S.check({}, {"name": name, "subjects": [f"{name}.>"], **fields, **conn(server)}).inputs


def _info(server: Any, name: str) -> Any:
    async def go(api: jsc.JetStreamApi) -> Any:
        return await api.stream_info(name)

    return api_call(server, go)


def test_a_create_answered_late_counts_as_done(server, replies: Replies) -> None:
    name = unique("LATE")
    replies.plan = ["late"]
    made = S.create(_stream(server, name, max_age="1h"))
    assert replies.creates == [f"STREAM.CREATE.{name}"], "the INFO found the stream as requested: no second create"
    assert made.id == name and made.outs["config"]["max_age"] == 3600 * 10**9
    assert _info(server, name)["config"]["max_age"] == 3600 * 10**9
    S.delete(made.id, made.outs)


def test_a_create_that_never_arrived_is_sent_once_more(server, replies: Replies) -> None:
    name = unique("LOST")
    replies.plan = ["lost"]
    made = S.create(_stream(server, name))
    assert replies.creates == [f"STREAM.CREATE.{name}"] * 2
    assert made.outs["config"]["name"] == name and _info(server, name) is not None
    S.delete(made.id, made.outs)


def test_a_second_timeout_is_reported(server, replies: Replies) -> None:
    name = unique("GONE")
    replies.plan = ["lost", "lost"]
    with pytest.raises(JetStreamApiTimeout, match=f"creating stream {name}: no reply") as err:
        S.create(_stream(server, name))
    assert isinstance(err.value, TimeoutError) and err.value.account_label == "acme"
    assert replies.creates == [f"STREAM.CREATE.{name}"] * 2, "retried once, not more"
    assert _info(server, name) is None


def test_another_stream_of_that_name_is_not_taken_for_the_requested_one(server, replies: Replies) -> None:
    name = unique("TAKEN")
    first = S.create(_stream(server, name, max_msgs=10))
    replies.plan = ["late"]   # the server refuses it (another config), and that answer is lost
    with pytest.raises(RuntimeError, match=r"already exists with a different configuration: max_msgs"):
        S.create(_stream(server, name, max_msgs=20))
    assert replies.creates == [f"STREAM.CREATE.{name}"] * 3, "the first create, the late one and its retry"
    assert _info(server, name)["config"]["max_msgs"] == 10
    S.delete(first.id, first.outs)


def test_consumer_creates_are_checked_the_same_way(server, replies: Replies) -> None:
    stream = unique("CONS")
    s = S.create(_stream(server, stream))
    late = C.check({}, {"stream": stream, "name": "late", "ack_wait": "5s", "max_deliver": 3,
                        **conn(server)}).inputs
    lost = C.check({}, {"stream": stream, "name": "lost", **conn(server)}).inputs
    replies.creates.clear()
    replies.plan = ["late", "lost"]
    a = C.create(late)
    b = C.create(lost)
    assert replies.creates == [f"CONSUMER.CREATE.{stream}.late", f"CONSUMER.CREATE.{stream}.lost",
                               f"CONSUMER.CREATE.{stream}.lost"]
    assert a.id == f"{stream}/late" and a.outs["config"]["max_deliver"] == 3
    assert b.id == f"{stream}/lost"
    replies.plan = ["lost"]   # an update is not repeated: it changes what exists, and its effect is unknown
    with pytest.raises(JetStreamApiTimeout):
        C.update(a.id, a.outs, {**late, "max_deliver": 4})
    assert replies.creates[-1] == f"CONSUMER.CREATE.{stream}.late" and len(replies.creates) == 4
    for made in (a, b):
        C.delete(made.id, made.outs)
    S.delete(s.id, s.outs)


class SlowReplyProxy:
    """A loopback TCP proxy in front of the server that holds back, once, the server's bytes from the
    first chunk containing ``marker`` on, for ``delay`` seconds: a reply that leaves a busy server
    late. Order is kept (what follows waits behind it), as on one TCP connection."""

    def __init__(self, port: int, marker: bytes, delay: float):
        self.target, self.marker, self.delay = ("127.0.0.1", port), marker, delay
        self.held = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"nats://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            self._socks += [client, upstream]
            outbox: "queue.Queue[tuple[float, bytes]]" = queue.Queue()
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, outbox), daemon=True).start()
            threading.Thread(target=self._deliver, args=(client, outbox), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket,
              outbox: "Optional[queue.Queue[tuple[float, bytes]]]") -> None:
        try:
            while data := src.recv(65536):
                if outbox is None:
                    dst.sendall(data)
                    continue
                due = time.monotonic()
                with self._lock:
                    if not self.held and self.marker in data:
                        self.held += 1
                        due += self.delay
                outbox.put((due, data))
        except OSError:
            pass

    @staticmethod
    def _deliver(dst: socket.socket, outbox: "queue.Queue[tuple[float, bytes]]") -> None:
        try:
            while True:
                due, data = outbox.get()
                time.sleep(max(0.0, due - time.monotonic()))
                dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass


@pytest.mark.parametrize("kind", ["stream", "consumer"])
def test_a_reply_slower_than_the_timeout_is_checked_by_info(server, kind: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Real latency, real timeout: the create's reply comes 1.5 s late with a 1 s API timeout (the INFO
    sent after the timeout waits behind it, 0.5 s)."""
    monkeypatch.setattr(jsc, "TIMEOUT", 1.0)
    counted: list[str] = []

    async def send(api: jsc.JetStreamApi, subject: str, payload: bytes, context: str = "") -> Msg:
        counted.append(subject.split(".")[1])
        return await ORIGINAL_SEND(api, subject, payload, context)

    monkeypatch.setattr(jsc.JetStreamApi, "_send", send)
    stream = unique("SLOW")
    direct = {**conn(server)}
    s = S.create(_stream(server, stream)) if kind == "consumer" else None
    proxy = SlowReplyProxy(server.conf.port, f"io.nats.jetstream.api.v1.{kind}_create_response".encode(), 1.5)
    try:
        via = {**conn(server), "server_url": proxy.url}
        counted.clear()
        if kind == "stream":
            made = S.create(_stream(server, stream) | via)
        else:
            made = C.create(C.check({}, {"stream": stream, "name": "slow", **via}).inputs)
        assert proxy.held == 1, "the create's reply was held back"
        assert counted == ["CREATE", "INFO"], "the INFO found the object as requested: no second create"
    finally:
        proxy.close()
    if kind == "stream":
        S.delete(made.id, {**made.outs, **direct})
    else:
        C.delete(made.id, {**made.outs, **direct})
        S.delete(s.id, s.outs)


def test_a_delete_answered_late_counts_as_done_and_a_lost_one_is_sent_once_more(server, replies: Replies) -> None:
    stream = unique("DEL")
    s = S.create(_stream(server, stream))
    cons = C.create(C.check({}, {"stream": stream, "name": "gone", **conn(server)}).inputs)
    replies.plan = ["late"]
    C.delete(cons.id, cons.outs)
    assert replies.deletes == [f"CONSUMER.DELETE.{stream}.gone"], "the INFO found it gone: no second delete"
    replies.plan = ["lost", "on time"]
    S.delete(s.id, s.outs)
    assert replies.deletes[1:] == [f"STREAM.DELETE.{stream}"] * 2, "the INFO found it there: sent once more"
    assert _info(server, stream) is None
