"""Opening a connection: the one place that calls nats-py's connect, for every caller.

Every connection fails fast: ``allow_reconnect=False``, so a client whose server goes away closes
at once instead of queueing requests while nats-py retries in the background, and the initial
attempt is bounded (nats-py 2.16 treats ``max_reconnect_attempts=0`` as "no limit" during the
initial connect and retries a refused port forever; 1 means one retry per server, then
NoServersError; the outer ``wait_for`` bounds the whole attempt in case a server accepts TCP but
never answers). Creds are handed over in memory (never written to disk); empty creds connect
unauthenticated (a dev server), and ``creds_path`` names a creds file the client reads itself. TLS
comes from the ``NATS_TENANCY_TLS_*`` variables (``components.nats_io.tls``); without them a
``tls://`` server is reached with nats-py's default context.

The client's asynchronous errors are appended to ``errors`` as ``Type: message``: an authorization
violation shows there during the connect, and refused publishes or subscriptions (permissions
violations) afterwards, which is how the ops tools tell a refusal from a silence.
"""
from __future__ import annotations

import asyncio
from typing import Any, Optional, Sequence, Union

from nats.aio.client import Client, RawCredentials
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from components.nats_io import tls
from components.nats_io.errors import NatsConnectError

__all__ = ["Client", "Msg", "Subscription", "connect", "server_list"]


def server_list(servers: Union[str, Sequence[str]]) -> list[str]:
    """URLs from a list, or from one string that may list a cluster's servers comma-separated."""
    items = [servers] if isinstance(servers, str) else list(servers)
    return [u.strip() for item in items for u in item.split(",") if u.strip()]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


async def connect(servers: Union[str, Sequence[str]], creds: str = "", *, name: str, timeout: float = 5.0,
                  errors: Optional[list[str]] = None, creds_path: Optional[str] = None,
                  error_class: type[NatsConnectError] = NatsConnectError) -> Client:
    """A connected client for any one of ``servers``, or ``error_class`` saying why there is none.

    ``timeout`` bounds each server's connect; ``name`` is the client name the server's monitoring
    shows (``nats-tenancy-…``)."""
    urls = server_list(servers)
    seen = errors if errors is not None else []

    async def on_error(exc: Exception) -> None:
        seen.append(_describe(exc))

    options: dict[str, Any] = dict(
        servers=urls, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0.1,
        connect_timeout=timeout, error_cb=on_error, name=name,
    )
    if creds_path:
        options["user_credentials"] = creds_path
    elif creds:
        options["user_credentials"] = RawCredentials(creds)
    context = tls.client_context()   # raises TlsSettingsError for unusable settings, before any connect
    if context is not None:
        options["tls"] = context
    nc = Client()
    try:
        await asyncio.wait_for(nc.connect(**options), 2 * timeout * max(1, len(urls)) + 1)
    except Exception as exc:  # nats-py raises several unrelated types here
        detail = "; ".join(dict.fromkeys(seen + [_describe(exc)]))
        raise error_class(urls, detail) from exc
    return nc
