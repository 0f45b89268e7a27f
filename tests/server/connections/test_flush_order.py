"""``messaging.flush``: when it returns, the server has every command the client sent before it.

nats-py's own ``flush()`` does not promise that: it writes its PING ahead of the SUB and PUB still
queued for the client's flusher task. First the bytes on the wire, read by a loopback listener
that speaks just enough of the protocol; then the outcome on a real nats-server: a subscription
made with ``messaging.flush`` receives a message another connection publishes right after.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import nats

from components.nats_io import messaging
from tests.support.nats_server import RunningServer

INFO = b'INFO {"server_id":"wire","version":"2.15.1","proto":1,"max_payload":1048576}\r\n'


async def _wire_after(flush: Callable[[Any], Awaitable[None]]) -> bytes:
    """The bytes a client sends for ``subscribe`` + ``flush`` up to the last PING."""
    seen = bytearray()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(INFO)
        await writer.drain()
        while data := await reader.read(4096):
            seen.extend(data)
            writer.write(b"PONG\r\n" * data.count(b"PING\r\n"))
            await writer.drain()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
    try:
        seen.clear()   # the connect handshake
        async def ignore(_msg: Any) -> None:
            pass

        await nc.subscribe("a.b", cb=ignore)
        await flush(nc)
        return bytes(seen)
    finally:
        await nc.close()
        listener.close()


def test_the_adapters_flush_pings_after_the_queued_subscription() -> None:
    plain = asyncio.run(_wire_after(lambda nc: nc.flush()))
    ours = asyncio.run(_wire_after(messaging.flush))
    # nats-py alone: the PING that flush() waits on goes out before the SUB.
    assert plain.index(b"PING") < plain.index(b"SUB a.b"), plain
    # The adapter: a PING follows the SUB, and flush returned only after its PONG.
    assert ours.rindex(b"PING") > ours.index(b"SUB a.b"), ours


def test_a_subscription_receives_what_another_connection_publishes_right_after(server: RunningServer) -> None:
    async def scenario() -> list[int]:
        missed = []
        for i in range(30):
            sub_conn = await nats.connect(server.url)
            pub_conn = await nats.connect(server.url)
            got: list[Any] = []

            async def cb(msg: Any) -> None:
                got.append(msg)

            await sub_conn.subscribe(f"order.{i}", cb=cb)
            await messaging.flush(sub_conn)
            await pub_conn.publish(f"order.{i}", b"x")
            await messaging.flush(pub_conn)
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.02)
            if not got:
                missed.append(i)
            await sub_conn.close()
            await pub_conn.close()
        return missed

    assert asyncio.run(scenario()) == []
