"""A client that publishes numbered messages with JetStream acks to a cluster, and counts.

Each message is published once (no retry), so the counts say exactly what happened:
``published`` messages sent, ``acked`` those the cluster confirmed (a quorum of the stream's
replicas has stored them), ``failed`` those without an ack (timeout, no responders, a dropped
connection), which may or may not be stored. What a fault test asserts is that every acked
message is stored afterwards.
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import nats
from nats.aio.client import RawCredentials
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import ServiceUnavailableError


@dataclass
class Counts:
    published: int = 0
    acked: int = 0
    failed: int = 0
    acked_ids: set[int] = field(default_factory=set)
    errors: dict[str, int] = field(default_factory=dict)


class Publisher:
    """Runs in its own thread with its own event loop; ``mark()`` snapshots the acked count."""

    def __init__(self, urls: list[str], creds: str, subject: str, ack_timeout: float = 2.0):
        self.urls, self.creds, self.subject, self.ack_timeout = urls, creds, subject, ack_timeout
        self.counts = Counts()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._lock = threading.Lock()
        self.exception: Optional[BaseException] = None

    def start(self) -> "Publisher":
        self._thread.start()
        return self

    def stop(self) -> Counts:
        self._stop.set()
        self._thread.join(timeout=60)
        if self.exception:
            raise self.exception
        return self.counts

    def acked(self) -> int:
        with self._lock:
            return self.counts.acked

    def wait_acked(self, at_least: int, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while self.acked() < at_least:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError(f"only {self.acked()} acked of {at_least} wanted; {self.counts}")
            time.sleep(0.02)
        return self.acked()

    async def _run(self) -> None:
        try:
            nc = await nats.connect(servers=self.urls, user_credentials=RawCredentials(self.creds),
                                    max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2,
                                    name="fault-test-publisher")
            js = nc.jetstream(timeout=self.ack_timeout)
            n = 0
            while not self._stop.is_set():
                n += 1
                with self._lock:
                    self.counts.published += 1
                try:
                    await js.publish(self.subject, f"{n}".encode())
                    with self._lock:
                        self.counts.acked += 1
                        self.counts.acked_ids.add(n)
                except Exception as e:  # nats-py raises timeouts, no-responders and connection errors
                    with self._lock:
                        self.counts.failed += 1
                        key = type(e).__name__
                        self.counts.errors[key] = self.counts.errors.get(key, 0) + 1
                    await asyncio.sleep(0.05)
            await nc.close()
        except BaseException as e:  # surfaced by stop()
            self.exception = e


async def create_stream(urls: list[str], creds: str, name: str, subject: str, replicas: int = 3,
                        tls: Any = None) -> dict[str, Any]:
    """Waits out the moments after an account push in which JetStream is not yet enabled for it
    on the server that answers (10039). ``tls``: an ``ssl.SSLContext`` for TLS servers."""
    nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds), tls=tls)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + 15
        while True:
            try:
                info = await js.add_stream(StreamConfig(name=name, subjects=[subject], num_replicas=replicas))
                return {"leader": info.cluster.leader if info.cluster else None}
            except ServiceUnavailableError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def stream_leader(urls: list[str], creds: str, name: str) -> Optional[str]:
    nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds))
    try:
        info = await nc.jetstream().stream_info(name)
        return info.cluster.leader if info.cluster else None
    finally:
        await nc.close()


async def stored_ids(urls: list[str], creds: str, stream: str, subject: str) -> list[int]:
    """Every message of ``stream`` read back in order with an ordered consumer (its payload is its id)."""
    nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds))
    try:
        js = nc.jetstream()
        total = (await js.stream_info(stream)).state.messages
        sub = await js.subscribe(subject, ordered_consumer=True,
                                 config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
        out: list[int] = []
        while len(out) < total:
            msg = await sub.next_msg(timeout=5)
            out.append(int(msg.data))
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


async def drained_ids(urls: list[str], creds: str, stream: str, durable: str) -> list[int]:
    """Every message of ``stream`` read through an existing pull consumer (for users that may bind
    a durable but not create consumers), acked as it is read; the consumer must start at the
    stream's first message and not have been used before."""
    nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds))
    try:
        js = nc.jetstream()
        total = (await js.stream_info(stream)).state.messages
        sub = await js.pull_subscribe_bind(durable, stream)
        out: list[int] = []
        while len(out) < total:
            for msg in await sub.fetch(min(200, total - len(out)), timeout=5):
                out.append(int(msg.data))
                await msg.ack()
        return out
    finally:
        await nc.close()
