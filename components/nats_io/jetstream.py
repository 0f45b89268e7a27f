"""A small JetStream management client: raw JSON on ``$JS.API.*``.

nats-py's JetStream manager is not used for management: its dataclasses drop fields they do not
know, it sends neither ``action`` nor ``pedantic``, and it converts durations through floats. Raw
requests carry exactly the canonical config. Every create/update is pedantic (server >= 2.11), so
the server refuses a value instead of silently changing it, and what it stores is what we sent.

Connections fail fast (no reconnect) so a provider call ends with a clear message instead of
hanging. ``run`` takes one from the pool (``components.nats_io.pool``), which reuses it across the
operations of one provider process for the same server and creds (one per tenant provisioning user)
and closes it after ``IDLE_TIMEOUT`` seconds without use: the connection counts against the tenant
account's connection limit, so it is only held through a burst of operations on that tenant's
resources.

Every request waits ``TIMEOUT`` seconds for its reply (``NATS_TENANCY_JS_API_TIMEOUT``). A busy
server can answer later than that and still apply the request (at 4,500 accounts on a loaded
machine, most timed-out creates had been applied, docs/scale.md), so a stream or consumer create
that timed out is followed by an INFO request: when the object exists with the requested config the
create counts as done, otherwise the create is sent once more. That is safe because a create with
the identical config is idempotent on the server (it answers with the existing object), and one
with another config is refused (``StreamNameInUse``, ``ConsumerAlreadyExists``). A delete that
timed out is checked the same way: done when INFO finds the object gone, otherwise sent once more.
"""
from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Awaitable, Callable, Mapping, Optional, TypeVar

from components.nats_io import pool
from components.nats_io.connect import Client, Msg, connect
from components.nats_io.errors import (
    ConsumerNotFound,
    JetStreamApiError,
    JetStreamApiTimeout,
    JetStreamConnectError,
    JetStreamLimitError,
    JetStreamNotEnabledForAccount,
    NatsSettingsError,
    NoMessageFound,
    NoResponders,
    RequestTimeout,
    StreamCreateFailed,
    StreamNotFound,
    api_error,
)
from components.nats_io.messaging import request

T = TypeVar("T")
API = "$JS.API"
TIMEOUT_ENV = "NATS_TENANCY_JS_API_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
#: Seconds a pooled provisioning connection stays open without use (it holds one of the tenant's
#: connection slots meanwhile).
IDLE_TIMEOUT = 2.0
#: Retries of a stream create the server refused transiently (``stream_create``).
STORE_RETRIES = 5

#: What a stream or consumer INFO reply is checked against after a create timed out: True when the
#: object the server holds has the requested config.
Matches = Callable[[Mapping[str, Any]], bool]


def timeout_from_env(environ: Optional[Mapping[str, str]] = None) -> float:
    """Seconds from ``NATS_TENANCY_JS_API_TIMEOUT`` (a positive number), ``DEFAULT_TIMEOUT`` when unset."""
    env = os.environ if environ is None else environ
    raw = (env.get(TIMEOUT_ENV) or "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise NatsSettingsError(f"{TIMEOUT_ENV}={raw!r}: give the JetStream API timeout in seconds, a positive "
                                f"number (default {DEFAULT_TIMEOUT:g})")
    return value


#: Seconds a JetStream API request waits for its reply; read from the environment once, at import.
TIMEOUT = timeout_from_env()


def run(url: str, creds: str, fn: Callable[["JetStreamApi"], Awaitable[T]], account_label: str = "",
        replay_safe: bool = False) -> T:
    """``fn(api)`` on a connection to ``url`` with ``creds`` (reused within the process).

    ``replay_safe``: running ``fn`` twice has the effect of running it once, so after a reused
    connection turned out to be broken it may run again on a new one.
    """

    async def call(nc: Client) -> T:
        return await fn(JetStreamApi(nc, account_label))

    return pool.run([url], creds, lambda: connect_api(url, creds), call, kind="jetstream",
                    idle_timeout=IDLE_TIMEOUT, replay_safe=replay_safe)


async def connect_api(url: str, creds: str, timeout: float = 5.0) -> Client:
    """A connection for JetStream API requests; ``url`` may list a cluster's servers comma-separated."""
    return await connect(url, creds, name="nats-tenancy-provisioner", timeout=timeout,
                         error_class=JetStreamConnectError)


class JetStreamApi:
    """JetStream API requests on one connection, for the account its creds belong to.

    ``timeout``: seconds per request (``TIMEOUT`` when None)."""

    def __init__(self, nc: Client, account_label: str = "", timeout: Optional[float] = None):
        self.nc = nc
        self.account_label = account_label
        self.timeout = timeout

    async def _send(self, subject: str, payload: bytes, context: str = "") -> Msg:
        """The reply to one API request; ``JetStreamApiTimeout`` when none came in time."""
        timeout = TIMEOUT if self.timeout is None else self.timeout
        try:
            return await request(self.nc, f"{API}.{subject}", payload, timeout=timeout)
        except NoResponders:
            raise JetStreamNotEnabledForAccount(503, JetStreamNotEnabledForAccount.ERR_CODE, "no JetStream responders",
                                                self.account_label, context) from None
        except RequestTimeout:
            raise JetStreamApiTimeout(408, 0, f"no reply to {API}.{subject} within {timeout:g}s",
                                      self.account_label, context) from None

    async def request(self, subject: str, body: Optional[Mapping[str, Any]] = None, context: str = "",
                      enrich: bool = True) -> dict[str, Any]:
        """The reply of ``$JS.API.<subject>``; an error reply raises its ``JetStreamApiError`` class.

        ``enrich``: a limit error is completed with the account's configured limit (one more
        INFO request)."""
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        msg = await self._send(subject, payload, context)
        reply: dict[str, Any] = json.loads(msg.data)
        error = reply.get("error")
        if error:
            exc = api_error(error, self.account_label, context)
            if enrich and isinstance(exc, JetStreamLimitError):
                try:
                    info = await self.request("INFO", enrich=False)
                    exc.with_limits(info.get("limits", {}))
                except JetStreamApiError:
                    pass
            raise exc
        return reply

    async def account_info(self) -> dict[str, Any]:
        return await self.request("INFO")

    async def _create_checked(self, create: Callable[[], Awaitable[dict[str, Any]]],
                              info: Callable[[], Awaitable[Optional[dict[str, Any]]]],
                              matches: Optional[Matches]) -> dict[str, Any]:
        """``create()``; after a timeout, the INFO reply when the object is there as requested,
        else the result of one more ``create()``. Without ``matches`` an existing object is not
        taken as done: the second create is answered with it when its config is identical."""
        try:
            return await create()
        except JetStreamApiTimeout:
            try:
                found = await info()
            except JetStreamApiError:  # the INFO timed out too: the second create decides
                found = None
            if found is not None and matches is not None and matches(found):
                return found
            return await create()

    # Streams
    async def stream_info(self, name: str) -> Optional[dict[str, Any]]:
        """None when the account has no such stream (StreamNotFound)."""
        try:
            return await self.request(f"STREAM.INFO.{name}")
        except StreamNotFound:
            return None

    async def stream_create(self, config: Mapping[str, Any], matches: Optional[Matches] = None) -> dict[str, Any]:
        """Create a stream (its INFO reply), retrying two transient refusals with backoff (about 4 s in all).

        While an account's JWT is being (re-)applied (its first push, a re-push, or another account
        importing from it), nats-server 2.15.1 can refuse the account's first streams with 10049
        (StreamCreateFailed, "error creating store for stream": its storage directory is briefly
        missing) or leave its JetStream API without a responder for a moment (503, raised as
        JetStreamNotEnabledForAccount). A retry a moment later succeeds; an account that really has
        no JetStream still fails, a few seconds later. A create that timed out is checked as the
        module says; ``matches`` tells whether an existing stream's INFO has the requested config.
        """
        name = config["name"]

        async def create() -> dict[str, Any]:
            delay = 0.25
            for attempt in range(STORE_RETRIES + 1):
                try:
                    return await self.request(f"STREAM.CREATE.{name}", {**config, "pedantic": True},
                                              context=f"creating stream {name}")
                except (StreamCreateFailed, JetStreamNotEnabledForAccount) as exc:
                    transient = isinstance(exc, StreamCreateFailed) or exc.code == 503  # 503: no responder yet
                    if not transient or attempt == STORE_RETRIES:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            raise AssertionError("unreachable")

        return await self._create_checked(create, lambda: self.stream_info(name), matches)

    async def stream_update(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request(f"STREAM.UPDATE.{config['name']}", {**config, "pedantic": True},
                                  context=f"updating stream {config['name']}")

    async def _delete_checked(self, delete: Callable[[], Awaitable[Any]],
                              info: Callable[[], Awaitable[Optional[dict[str, Any]]]]) -> None:
        """``delete()``; after a timeout, done when INFO finds the object gone, else one more
        ``delete()`` (a clustered delete on a busy server is applied after the reply's deadline, as
        creates are; a second delete of an object already gone is answered with its not-found)."""
        try:
            await delete()
        except JetStreamApiTimeout:
            try:
                if await info() is None:
                    return
            except JetStreamApiError:  # the INFO timed out too: the second delete decides
                pass
            await delete()

    async def stream_delete(self, name: str) -> bool:
        """True when deleted, False when it was already gone (StreamNotFound). A delete that timed
        out is checked (``_delete_checked``)."""
        try:
            await self._delete_checked(
                lambda: self.request(f"STREAM.DELETE.{name}", context=f"deleting stream {name}"),
                lambda: self.stream_info(name))
            return True
        except StreamNotFound:
            return False

    async def stream_msg_get(self, name: str, seq: int) -> Optional[dict[str, Any]]:
        """The stored message at ``seq``; None when there is none (NoMessageFound: deleted, expired
        or never stored)."""
        try:
            reply = await self.request(f"STREAM.MSG.GET.{name}", {"seq": int(seq)})
        except NoMessageFound:
            return None
        message: dict[str, Any] = reply["message"]
        return message

    # Consumers
    async def consumer_info(self, stream: str, name: str) -> Optional[dict[str, Any]]:
        """None when the consumer, or its stream, does not exist (ConsumerNotFound, StreamNotFound)."""
        try:
            return await self.request(f"CONSUMER.INFO.{stream}.{name}")
        except (ConsumerNotFound, StreamNotFound):
            return None

    async def consumer_create(self, stream: str, config: Mapping[str, Any], action: str = "create",
                              matches: Optional[Matches] = None) -> dict[str, Any]:
        """``action`` "create" succeeds only if absent or identical (else ConsumerAlreadyExists);
        "update" only if present (else err_code 10149, JSConsumerDoesNotExist). A create that timed
        out is checked as the module says; an update that timed out is not repeated."""
        name = config["durable_name"]
        body = {"stream_name": stream, "config": dict(config), "action": action, "pedantic": True}
        verb = "creating" if action == "create" else "updating"

        async def send() -> dict[str, Any]:
            return await self.request(f"CONSUMER.CREATE.{stream}.{name}", body,
                                      context=f"{verb} consumer {stream}/{name}")

        if action != "create":
            return await send()
        return await self._create_checked(send, lambda: self.consumer_info(stream, name), matches)

    async def consumer_delete(self, stream: str, name: str) -> bool:
        """True when deleted, False when it, or its stream, was already gone. A delete that timed
        out is checked (``_delete_checked``)."""
        try:
            await self._delete_checked(
                lambda: self.request(f"CONSUMER.DELETE.{stream}.{name}", context=f"deleting consumer {stream}/{name}"),
                lambda: self.consumer_info(stream, name))
            return True
        except (ConsumerNotFound, StreamNotFound):
            return False
