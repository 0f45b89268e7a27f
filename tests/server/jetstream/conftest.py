"""Helpers to talk to the module's nats-server (the `server` fixture of tests/server/conftest.py)."""
from __future__ import annotations

import asyncio
import itertools
from typing import Any, Awaitable, Callable, TypeVar

import nats

from components.nats_io import jetstream as jsc
from tests.support.nats_server import RunningServer

T = TypeVar("T")
_counter = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def conn(server: RunningServer, **extra: Any) -> dict[str, Any]:
    return {"server_url": server.url, "creds": "", "account_label": "acme", "prevent_destroy": False, **extra}


def api_call(server: RunningServer, fn: Callable[[jsc.JetStreamApi], Awaitable[T]]) -> T:
    return jsc.run(server.url, "", fn, account_label="acme")


def with_nats(server: RunningServer, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(nc)`` with a plain nats-py connection (the application's view)."""

    async def main() -> T:
        nc = await nats.connect(server.url)
        try:
            return await fn(nc)
        finally:
            await nc.close()

    return asyncio.run(main())


def as_engine(value: Any) -> Any:
    """What a value looks like after a trip through the Pulumi engine: every number a float."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: as_engine(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_engine(v) for v in value]
    return value
