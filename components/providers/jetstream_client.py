"""A small JetStream management client: raw JSON on ``$JS.API.*``.

nats-py's JetStream manager is not used for management: its dataclasses drop fields they do not
know, it sends neither ``action`` nor ``pedantic``, and it converts durations through floats. Raw
requests carry exactly the canonical config. Every create/update is pedantic (server >= 2.11), so
the server refuses a value instead of silently changing it, and what it stores is what we sent.

Connections fail fast (no reconnect) so a provider call ends with a clear message instead of
hanging. ``run`` takes one from ``nats_connections``, which reuses it across the operations of one
provider process for the same server and creds (one per tenant provisioning user) and closes it
after ``IDLE_TIMEOUT`` seconds without use: the connection counts against the tenant account's
connection limit, so it is only held through a burst of operations on that tenant's resources.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, Mapping, Optional, TypeVar

from nats.aio.client import Client, RawCredentials
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from components.providers import nats_connections, tls_client

T = TypeVar("T")
API = "$JS.API"
TIMEOUT = 10.0
#: Seconds a pooled provisioning connection stays open without use (it holds one of the tenant's
#: connection slots meanwhile).
IDLE_TIMEOUT = 2.0

# err_code → (limit name, account limit key in $JS.API.INFO "limits", or None)
_LIMIT_ERRORS: dict[int, tuple[str, Optional[str]]] = {
    10027: ("maximum number of streams", "max_streams"),
    10026: ("maximum number of consumers", "max_consumers"),
    10047: ("file storage", "max_storage"),
    10028: ("memory storage", "max_memory"),
    10002: ("resource limits", None),
    10023: ("server resources", None),
    10122: ("maximum bytes per stream", "storage_max_stream_bytes"),
    10039: ("JetStream access", None),
    10120: ("JetStream tier", None),
}
STREAM_STORE_FAILED = 10049
JS_NOT_ENABLED = 10039
STORE_RETRIES = 5
STREAM_NOT_FOUND = 10059
STREAM_EXISTS = 10058
CONSUMER_NOT_FOUND = 10014
CONSUMER_EXISTS = 10148
CONSUMER_MISSING_ON_UPDATE = 10149
SUBJECTS_OVERLAP = 10065
NO_MESSAGE = 10037


class JetStreamConnectError(RuntimeError):
    pass


class JetStreamApiError(RuntimeError):
    """An error reply from the JetStream API, with a message that names the tenant account."""

    def __init__(self, code: int, err_code: int, description: str, account_label: str = "", context: str = ""):
        self.code = code
        self.err_code = err_code
        self.description = description
        self.account_label = account_label
        super().__init__(self._message(context))

    def _message(self, context: str) -> str:
        who = f"account {self.account_label!r}" if self.account_label else "the account"
        head = f"{context}: " if context else ""
        limit = _LIMIT_ERRORS.get(self.err_code)
        if self.err_code == 10039:
            return f"{head}JetStream is not enabled for {who} ({self.description}, err_code {self.err_code})"
        if limit:
            return (f"{head}{who} has reached its JetStream limit on {limit[0]}: {self.description} "
                    f"(err_code {self.err_code})")
        if self.err_code == SUBJECTS_OVERLAP:
            return (f"{head}{self.description} in {who}: another stream already captures these subjects "
                    f"(err_code {self.err_code}); change subjects so that no two streams overlap")
        return f"{head}{self.description} (err_code {self.err_code}, {who})"

    def with_limits(self, limits: Mapping[str, Any]) -> "JetStreamApiError":
        """Add the account's configured value for the limit that was hit, when it is known."""
        limit = _LIMIT_ERRORS.get(self.err_code)
        if limit and limit[1] and limit[1] in limits:
            value = limits[limit[1]]
            if isinstance(value, int) and value < 0:
                note = f"the account sets no {limit[1]}, so the server's own capacity is exhausted"
            else:
                note = f"the configured {limit[1]} is {value}"
            self.args = (f"{self.args[0]}; {note}",)
        return self


def run(url: str, creds: str, fn: Callable[["JetStreamApi"], Awaitable[T]], account_label: str = "",
        replay_safe: bool = False) -> T:
    """``fn(api)`` on a connection to ``url`` with ``creds`` (reused within the process).

    ``replay_safe``: running ``fn`` twice has the effect of running it once, so after a reused
    connection turned out to be broken it may run again on a new one.
    """

    async def call(nc: Client) -> T:
        return await fn(JetStreamApi(nc, account_label))

    return nats_connections.run([url], creds, lambda: connect(url, creds), call, kind="jetstream",
                                idle_timeout=IDLE_TIMEOUT, replay_safe=replay_safe)


async def connect(url: str, creds: str, timeout: float = 5.0) -> Client:
    """Credentials are kept in memory (never written to disk); empty creds = unauthenticated dev server."""
    nc = Client()
    errors: list[BaseException] = []

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)

    options: dict[str, Any] = dict(
        # max_reconnect_attempts must be > 0: nats-py's server selection retries forever at 0.
        # ``url`` may list a cluster's servers comma-separated; any one of them will do.
        servers=[u.strip() for u in url.split(",") if u.strip()],
        allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0.1,
        connect_timeout=timeout,
        error_cb=on_error, name="nats-tenancy-provisioner",
    )
    if creds:
        options["user_credentials"] = RawCredentials(creds)
    tls = tls_client.client_context()   # servers with TLS: CA and client certificate (tls_client)
    if tls is not None:
        options["tls"] = tls
    try:
        await asyncio.wait_for(nc.connect(**options), timeout * 2 + 1)
    except Exception as exc:  # nats-py raises several unrelated types here
        cause = errors[-1] if errors else exc
        raise JetStreamConnectError(f"cannot reach NATS at {url}: {type(cause).__name__}: {cause}") from exc
    return nc


class JetStreamApi:
    def __init__(self, nc: Client, account_label: str = ""):
        self.nc = nc
        self.account_label = account_label

    async def request(self, subject: str, body: Optional[Mapping[str, Any]] = None, context: str = "",
                      enrich: bool = True) -> dict[str, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        try:
            msg = await self.nc.request(f"{API}.{subject}", payload, timeout=TIMEOUT)
        except NoRespondersError:
            raise JetStreamApiError(503, 10039, "no JetStream responders", self.account_label, context) from None
        except NatsTimeout:
            raise JetStreamApiError(408, 0, f"no reply to {API}.{subject} within {TIMEOUT}s", self.account_label, context) from None
        reply: dict[str, Any] = json.loads(msg.data)
        error = reply.get("error")
        if error:
            exc = JetStreamApiError(int(error.get("code", 0)), int(error.get("err_code", 0)),
                                    str(error.get("description", "")), self.account_label, context)
            if enrich and exc.err_code in _LIMIT_ERRORS and exc.err_code != 10039:
                try:
                    info = await self.request("INFO", enrich=False)
                    exc.with_limits(info.get("limits", {}))
                except JetStreamApiError:
                    pass
            raise exc
        return reply

    async def account_info(self) -> dict[str, Any]:
        return await self.request("INFO")

    # Streams
    async def stream_info(self, name: str) -> Optional[dict[str, Any]]:
        try:
            return await self.request(f"STREAM.INFO.{name}")
        except JetStreamApiError as exc:
            if exc.err_code == STREAM_NOT_FOUND:
                return None
            raise

    async def stream_create(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Create a stream, retrying two transient refusals with backoff (about 4 s in all).

        While an account's JWT is being (re-)applied (its first push, a re-push, or another account
        importing from it), nats-server 2.15.1 can refuse the account's first streams with 10049
        ("error creating store for stream": its storage directory is briefly missing) or leave its
        JetStream API without a responder for a moment (503, reported as 10039). A retry a moment
        later succeeds; an account that really has no JetStream still fails, a few seconds later.
        """
        delay = 0.25
        for attempt in range(STORE_RETRIES + 1):
            try:
                return await self.request(f"STREAM.CREATE.{config['name']}", {**config, "pedantic": True},
                                          context=f"creating stream {config['name']}")
            except JetStreamApiError as exc:
                transient = exc.err_code == STREAM_STORE_FAILED or (
                    exc.err_code == JS_NOT_ENABLED and exc.code == 503)  # no responder yet
                if not transient or attempt == STORE_RETRIES:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    async def stream_update(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request(f"STREAM.UPDATE.{config['name']}", {**config, "pedantic": True},
                                  context=f"updating stream {config['name']}")

    async def stream_delete(self, name: str) -> bool:
        """True when deleted, False when it was already gone."""
        try:
            await self.request(f"STREAM.DELETE.{name}", context=f"deleting stream {name}")
            return True
        except JetStreamApiError as exc:
            if exc.err_code == STREAM_NOT_FOUND:
                return False
            raise

    async def stream_msg_count(self, name: str) -> Optional[int]:
        info = await self.stream_info(name)
        return None if info is None else int(info.get("state", {}).get("messages", 0))

    async def stream_msg_get(self, name: str, seq: int) -> Optional[dict[str, Any]]:
        try:
            reply = await self.request(f"STREAM.MSG.GET.{name}", {"seq": int(seq)})
        except JetStreamApiError as exc:
            if exc.err_code == NO_MESSAGE:
                return None
            raise
        message: dict[str, Any] = reply["message"]
        return message

    # Consumers
    async def consumer_info(self, stream: str, name: str) -> Optional[dict[str, Any]]:
        try:
            return await self.request(f"CONSUMER.INFO.{stream}.{name}")
        except JetStreamApiError as exc:
            if exc.err_code in (CONSUMER_NOT_FOUND, STREAM_NOT_FOUND):
                return None
            raise

    async def consumer_create(self, stream: str, config: Mapping[str, Any], action: str = "create") -> dict[str, Any]:
        """``action`` "create" succeeds only if absent or identical; "update" only if present."""
        name = config["durable_name"]
        body = {"stream_name": stream, "config": dict(config), "action": action, "pedantic": True}
        return await self.request(f"CONSUMER.CREATE.{stream}.{name}", body,
                                  context=f"{'creating' if action == 'create' else 'updating'} consumer {stream}/{name}")

    async def consumer_delete(self, stream: str, name: str) -> bool:
        try:
            await self.request(f"CONSUMER.DELETE.{stream}.{name}", context=f"deleting consumer {stream}/{name}")
            return True
        except JetStreamApiError as exc:
            if exc.err_code in (CONSUMER_NOT_FOUND, STREAM_NOT_FOUND):
                return False
            raise
