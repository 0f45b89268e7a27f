"""Reading stored messages back from a cluster that was just restarted."""
from __future__ import annotations

import asyncio
import time

import nats
from nats.aio.client import RawCredentials
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import ServiceUnavailableError


async def read_stored(urls: list[str], creds: str, stream: str, count: int, within: float = 60) -> list[bytes]:
    """Messages 1..``count`` of ``stream``, once the restarted cluster has a leader for the stream
    again (until then a get times out or answers 503): retried for ``within`` seconds, then the last
    error is raised."""
    deadline = time.monotonic() + within
    while True:
        nc = await nats.connect(servers=urls, user_credentials=RawCredentials(creds))
        try:
            js = nc.jetstream()
            return [(await js.get_msg(stream, seq)).data for seq in range(1, count + 1)]
        except (NatsTimeout, ServiceUnavailableError):
            if time.monotonic() > deadline:
                raise
        finally:
            await nc.close()
        await asyncio.sleep(1)
