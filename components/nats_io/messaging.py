"""Requests, replies and subscriptions on a connection from ``connect``, with nats-py's exceptions
turned into the adapter's (``RequestTimeout``, ``NoResponders``, ``PayloadTooLarge``).

A request with no subscriber at all is answered by the server at once with an empty message whose
``Status`` header is 503 ("no responders"); ``request`` raises ``NoResponders`` for it, and
``gather`` stops at it and returns it, so the caller decides what an empty answer means.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import nats.errors

from components.nats_io.connect import Client, Msg, Subscription
from components.nats_io.errors import NoResponders, PayloadTooLarge, RequestTimeout

NO_RESPONDERS_STATUS = "503"


def status(msg: Msg) -> str:
    """The ``Status`` header of a message (a server status message has no data), or ""."""
    return str((msg.headers or {}).get("Status", ""))


def is_no_responders(msg: Msg) -> bool:
    return status(msg) == NO_RESPONDERS_STATUS


async def request(nc: Client, subject: str, payload: bytes = b"", *, timeout: float,
                  headers: Optional[dict[str, Any]] = None) -> Msg:
    """One request, one reply (on the client's shared reply inbox)."""
    try:
        return await nc.request(subject, payload, timeout=timeout, headers=headers)
    except nats.errors.NoRespondersError:
        raise NoResponders(f"{subject}: no responders") from None
    except nats.errors.TimeoutError:
        raise RequestTimeout(f"{subject}: no reply within {timeout:g}s") from None
    except nats.errors.MaxPayloadError as exc:
        raise PayloadTooLarge(f"{subject}: payload of {len(payload)} bytes exceeds the server's max_payload: "
                              f"{exc}") from None


async def flush(nc: Client, timeout: float = 10) -> None:
    """Return once the server has processed every command this client sent before the call.

    nats-py's own ``flush()`` (2.16) writes its PING to the socket at once, while SUB and PUB wait in
    the client's queue for its flusher task: on the wire, ``subscribe`` + ``flush`` is ``PING`` then
    ``SUB``, so the PONG can come back before the server holds the subscription and a message
    another connection publishes right after is not delivered to it. The first flush gives the
    flusher its turn (it writes the queue before the PONG can be read); the second PING follows
    the queued commands, and the server answers in order.
    """
    await nc.flush(timeout=max(1, int(timeout)))
    await nc.flush(timeout=max(1, int(timeout)))


async def next_msg(sub: Subscription, timeout: float) -> Optional[Msg]:
    """The subscription's next message, or None when none came within ``timeout``."""
    try:
        return await sub.next_msg(timeout=timeout)
    except nats.errors.TimeoutError:
        return None


async def unsubscribe(sub: Subscription) -> None:
    """Remove the subscription; when the connection closed meanwhile there is nothing left to remove."""
    try:
        await sub.unsubscribe()
    except nats.errors.Error:
        pass


async def gather(nc: Client, subject: str, payload: bytes, expect: int, timeout: float) -> list[Msg]:
    """Publish with an inbox of our own as the reply subject and collect up to ``expect`` replies
    within ``timeout`` (for requests every server answers, with no queue group).

    A no-responders status ends the wait and is the last message returned. The inbox subscription
    is removed however this ends: the connection may be pooled and serve other requests afterwards."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        try:
            await nc.publish(subject, payload, reply=inbox)
        except nats.errors.MaxPayloadError as exc:
            raise PayloadTooLarge(f"{subject}: payload of {len(payload)} bytes exceeds the server's max_payload: "
                                  f"{exc}") from None
        await nc.flush(timeout=max(1, int(timeout)))
        replies: list[Msg] = []
        deadline = time.monotonic() + timeout
        while len(replies) < expect:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            msg = await next_msg(sub, remaining)
            if msg is None:
                break
            replies.append(msg)
            if is_no_responders(msg):
                break
        return replies
    finally:
        await unsubscribe(sub)
