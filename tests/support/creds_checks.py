"""What a client holding a ``.creds`` file sees: connects, is refused, publishes (real nats-py clients).

Accounts and revocations reach the server through the resolver a moment after ``pulumi up`` returns
on a busy machine, so the checks that wait poll for a few seconds instead of asserting at once.
"""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Callable

import nats
from nats.aio.client import Client, RawCredentials

from components.nats_io import messaging

REFUSED = "Authorization Violation"

#: An nkey seed as it appears in text: 58 base32 characters, ``S`` then the key type (``O``perator,
#: ``A``ccount, ``U``ser) then ``A`` (the low bits of the type byte are zero for every key type), and
#: no base32 character on either side. Public keys are 56 characters, so no part of one can match;
#: a seed inside a longer base32 run is not a seed either.
SEED = re.compile(r"(?<![A-Z2-7])S[OAU]A[A-Z2-7]{55}(?![A-Z2-7])")


async def connect(url: str, creds: str) -> Client:
    # One attempt: nats-py's max_reconnect_attempts=0 retries for ever on the first connect.
    return await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                              max_reconnect_attempts=1, connect_timeout=3)


async def try_connect(url: str, creds: str) -> str:
    """``"ok"`` when the server accepts the creds, else the error text."""
    try:
        nc = await connect(url, creds)
    except Exception as e:  # nats-py raises several types; the message says which
        return f"{type(e).__name__}: {e}"
    await nc.close()
    return "ok"


async def _poll(url: str, creds: str, seconds: float, done: Callable[[str], bool]) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    result = ""
    while loop.time() < deadline:
        result = await try_connect(url, creds)
        if done(result):
            break
        await asyncio.sleep(0.2)
    return result


async def refused_within(url: str, creds: str, seconds: float) -> str:
    """Poll until the server refuses the creds; returns the last result (contains REFUSED if so)."""
    return await _poll(url, creds, seconds, lambda r: REFUSED in r)


async def accepted_within(url: str, creds: str, seconds: float) -> str:
    """Poll until the server accepts the creds; returns ``"ok"`` or the last error."""
    return await _poll(url, creds, seconds, lambda r: r == "ok")


async def publish(url: str, creds: str, subject: str, data: bytes) -> None:
    nc = await connect(url, creds)
    try:
        await nc.publish(subject, data)
        await messaging.flush(nc)
    finally:
        await nc.close()


async def js_publish(url: str, creds: str, subject: str, n: int, stream: str) -> None:
    """Publish ``n`` messages through JetStream, each acked by ``stream``."""
    nc = await connect(url, creds)
    try:
        js = nc.jetstream()
        for i in range(n):
            ack = await js.publish(subject, f"msg-{i}".encode(), timeout=3)
            assert ack.stream == stream, ack
    finally:
        await nc.close()


async def js_request(url: str, creds: str, subject: str, body: bytes = b"") -> dict[str, Any]:
    nc = await connect(url, creds)
    try:
        msg = await nc.request(subject, body, timeout=3)
        return json.loads(msg.data)
    finally:
        await nc.close()
