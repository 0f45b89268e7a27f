"""NATS connections reused across the operations of one provider process.

Why: one Pulumi provider process serves every dynamic resource of a deployment, from several gRPC
worker threads at once. A connection per operation costs a TCP connect, INFO, a CONNECT carrying the
user JWT and a signed nonce, the server's JWT checks and a PING/PONG; for a resolver lookup that is
most of the time spent (see benchmarks/README.md), and at 1,000 tenants an ``up`` made about 14,000
of them.

How:
- nats-py clients are bound to the event loop they were made in, and Pulumi calls providers from
  plain threads. So one asyncio loop runs in a daemon thread and owns every pooled client; a
  synchronous caller hands it a coroutine (``run_coroutine_threadsafe``) and waits with a deadline.
- Every coroutine runs on that one thread, so concurrent operations on one client are ordinary
  asyncio concurrency, which nats-py 2.16 supports: ``request`` multiplexes replies on one wildcard
  inbox by token (the inbox SUB is queued before the first request's PUB, so no reply is lost), and
  the resolver's gathers use an inbox subscription of their own.
- Clients are keyed by kind (which connect options made them) and a keyed hash of the server URLs
  and creds; a key may be printed: it shows the URLs without any user:password part, and neither
  the creds nor a password can be recovered from it.
- Only a CONNECTED client is handed out, never a closed, draining or reconnecting one; one that has
  not completed a round trip for ``PROBE_AFTER`` seconds must first answer a PING. The callers
  connect with ``allow_reconnect=False``: a client whose server goes away closes at once and the
  next operation connects again, instead of requests queueing while nats-py retries in the
  background.
- When an operation fails and its client no longer answers a PING, or a PING before a reuse goes
  unanswered, the client is retired: never handed out again, and closed once the last operation
  still using it ends. Not closed at once: under load a PONG can take longer than the probe's
  second, and closing the client would fail every request still waiting on it with "connection
  closed" (two shard stacks of a 10,000-tenant first ``up`` failed that way). If that
  client was reused (it may have died before the operation began, e.g. the server restarted between
  two operations) and the caller says a replay is harmless (``replay_safe``), the operation runs
  once more on a new client. A client opened for the operation itself is never retried: that
  failure is reported exactly as before reuse existed.
- A client idle for its ``idle_timeout`` is closed, and at most ``MAX_IDLE`` idle clients are kept
  (least recently used closed first): every pooled client counts against its account's connection
  limit on the server.
- ``NATS_TENANCY_CONNECTION_REUSE=0`` turns reuse off: each operation connects, runs and closes in
  its own ``asyncio.run``, as before (for comparison and debugging).
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional, Sequence, TypeVar

from nats.aio.client import Client

from components.nats_io.errors import RequestTimeout

T = TypeVar("T")
ConnectFn = Callable[[], Awaitable[Client]]

REUSE_ENV = "NATS_TENANCY_CONNECTION_REUSE"
#: A client without a completed round trip for this long answers a PING before it is handed out.
PROBE_AFTER = 1.0
PROBE_TIMEOUT = 1.0
#: Idle clients kept at most (in use ones are never closed).
MAX_IDLE = 32
#: Safety net for a synchronous caller; the operations bound their own waits well below this.
DEADLINE = 300.0
#: How long closing the pooled clients may delay the process exit.
CLOSE_AT_EXIT = 1.0

_SALT = secrets.token_bytes(32)


def reuse_enabled() -> bool:
    """False when ``NATS_TENANCY_CONNECTION_REUSE`` is 0/false/no/off (read on every call)."""
    return os.environ.get(REUSE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def redact_url(url: str) -> str:
    """``url`` without the user:password or token part, for messages and keys."""
    scheme, sep, rest = url.rpartition("://")
    host = rest.rsplit("@", 1)[-1]
    return f"{scheme}{sep}{'***@' if '@' in rest else ''}{host}"


@dataclass(frozen=True)
class Key:
    """``servers`` are redacted for display; ``digest`` covers the full URLs and the creds."""

    kind: str
    servers: tuple[str, ...]
    digest: str

    @classmethod
    def of(cls, kind: str, servers: Sequence[str], creds: str) -> "Key":
        secret = "\n".join(servers) + "\0" + creds
        digest = hmac.new(_SALT, secret.encode(), hashlib.sha256).hexdigest()[:32]
        return cls(kind, tuple(redact_url(u) for u in servers), digest)

    def __str__(self) -> str:
        return f"{self.kind} {','.join(self.servers)} #{self.digest[:8]}"


@dataclass(eq=False)
class _Pooled:
    key: Key
    nc: Client
    idle_timeout: float
    in_use: int = 0
    last_ok: float = field(default_factory=time.monotonic)  # last completed round trip
    last_used: float = field(default_factory=time.monotonic)
    dropped: bool = False  # forgotten and being closed
    retired: bool = False  # never handed out again; closed when no operation uses it
    expiry: Optional[asyncio.TimerHandle] = None

    def cancel_expiry(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None


@dataclass
class PoolStats:
    opened: int = 0       # clients connected
    reused: int = 0       # operations served by a client that was already open
    retried: int = 0      # operations run again after their reused client broke
    closed_idle: int = 0  # clients closed for being idle (timeout or MAX_IDLE)
    dropped: int = 0      # clients retired because they were broken


def _usable(nc: Client) -> bool:
    return nc.is_connected and not nc.is_draining


class ConnectionPool:
    """Pooled clients and the loop thread that owns them. Most code uses the module's ``run``."""

    def __init__(self, max_idle: int = MAX_IDLE, probe_after: float = PROBE_AFTER,
                 thread_name: str = "nats-connections"):
        self.max_idle = max_idle
        self.probe_after = probe_after
        self.stats = PoolStats()
        self._thread_name = thread_name
        self._guard = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        # Touched only on the loop thread:
        self._clients: "OrderedDict[Key, _Pooled]" = OrderedDict()  # least recently used first
        self._connecting: dict[Key, "asyncio.Task[_Pooled]"] = {}
        self._closing: set["asyncio.Task[None]"] = set()

    # -- called from any thread -----------------------------------------------------------------
    def run(self, key: Key, connect: ConnectFn, fn: Callable[[Client], Awaitable[T]], *,
            idle_timeout: float, replay_safe: bool, deadline: float = DEADLINE) -> T:
        """``fn(client)`` on a pooled client for ``key`` (``connect()`` makes one when needed)."""
        loop = self._ensure_loop()
        if threading.current_thread() is self._thread:
            raise RuntimeError("ConnectionPool.run called from its own loop thread; await the operation instead")
        future = asyncio.run_coroutine_threadsafe(self._run(key, connect, fn, idle_timeout, replay_safe), loop)
        # Not future.result(timeout): on 3.11 its TimeoutError is the builtin one, which the
        # operation itself may raise.
        done, _ = concurrent.futures.wait([future], timeout=deadline)
        if not done:
            future.cancel()
            raise RequestTimeout(f"NATS operation via {', '.join(key.servers)} did not finish within {deadline:g}s")
        return future.result()

    def describe(self) -> list[dict[str, Any]]:
        """The pooled clients now: key (printable), in_use, idle seconds, connected."""
        with self._guard:
            loop = self._loop
        if loop is None:
            return []

        async def snapshot() -> list[dict[str, Any]]:
            now = time.monotonic()
            return [{"key": str(p.key), "kind": p.key.kind, "servers": list(p.key.servers), "in_use": p.in_use,
                     "idle": 0.0 if p.in_use else now - p.last_used, "connected": _usable(p.nc)}
                    for p in self._clients.values()]

        return asyncio.run_coroutine_threadsafe(snapshot(), loop).result(timeout=10)

    def close(self, timeout: float = CLOSE_AT_EXIT) -> None:
        """Close every pooled client and stop the loop thread. For process exit and tests: operations
        still running on the loop are cancelled (their callers get CancelledError)."""
        with self._guard:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None or not thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._close_all(), loop)
        concurrent.futures.wait([future], timeout=timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                # First use, or a forked child (the parent's loop thread does not exist here).
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                self._clients, self._connecting, self._closing = OrderedDict(), {}, set()
                thread = threading.Thread(target=_serve, args=(loop, ready), name=self._thread_name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    # -- on the loop thread ---------------------------------------------------------------------
    async def _run(self, key: Key, connect: ConnectFn, fn: Callable[[Client], Awaitable[T]],
                   idle_timeout: float, replay_safe: bool) -> T:
        pooled, reused = await self._checkout(key, connect, idle_timeout)
        try:
            result = await fn(pooled.nc)
            pooled.last_ok = time.monotonic()
            return result
        except Exception:
            if await self._answers(pooled):
                raise  # an answer from the server (or a local error): the client is fine
            self._retire(pooled)
            if not (reused and replay_safe):
                raise
        finally:
            self._release(pooled)
        # The reused client broke, possibly before anything of this operation reached a server:
        # one more run on a new client.
        self.stats.retried += 1
        pooled, _ = await self._checkout(key, connect, idle_timeout)
        try:
            result = await fn(pooled.nc)
            pooled.last_ok = time.monotonic()
            return result
        except Exception:
            if not await self._answers(pooled):
                self._retire(pooled)
            raise
        finally:
            self._release(pooled)

    async def _checkout(self, key: Key, connect: ConnectFn, idle_timeout: float) -> tuple[_Pooled, bool]:
        pooled = self._clients.get(key)
        if pooled is not None:
            pooled.in_use += 1  # reserved: expiry and eviction leave it alone while we probe
            pooled.cancel_expiry()
            recent = time.monotonic() - pooled.last_ok < self.probe_after
            if _usable(pooled.nc) and (recent or await self._answers(pooled)) and not pooled.retired:
                self._clients.move_to_end(key)
                self.stats.reused += 1
                return pooled, True
            self._retire(pooled)
            self._release(pooled)
        # One connect per key at a time: concurrent operations wait for it (and share its error).
        task = self._connecting.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._open(key, connect, idle_timeout))
            self._connecting[key] = task
            task.add_done_callback(self._connected)
        pooled = await asyncio.shield(task)
        pooled.in_use += 1
        pooled.cancel_expiry()
        return pooled, False

    async def _open(self, key: Key, connect: ConnectFn, idle_timeout: float) -> _Pooled:
        """Connect and put the client in the pool (idle), so that it is closed in time even when
        every operation that waited for it was cancelled meanwhile."""
        nc = await connect()
        self.stats.opened += 1
        pooled = _Pooled(key, nc, idle_timeout)
        old = self._clients.pop(key, None)
        if old is not None and old.in_use == 0:  # one still in use is closed on its release
            self._drop(old, "replaced")
        self._clients[key] = pooled
        self._arm_expiry(pooled)
        return pooled

    async def _answers(self, pooled: _Pooled) -> bool:
        """True when the client is connected and the server answers a PING."""
        if pooled.dropped or pooled.retired or not _usable(pooled.nc):
            return False
        try:
            await pooled.nc.flush(timeout=PROBE_TIMEOUT)  # type: ignore[arg-type]  # nats-py annotates int
        except Exception:  # closed, timed out: either way not usable
            return False
        if not _usable(pooled.nc):
            return False
        pooled.last_ok = time.monotonic()
        return True

    def _release(self, pooled: _Pooled) -> None:
        pooled.in_use -= 1
        pooled.last_used = time.monotonic()
        if pooled.in_use > 0 or pooled.dropped:
            return
        if pooled.retired:
            self._drop(pooled, "retired")
            return
        if self._clients.get(pooled.key) is not pooled:
            self._drop(pooled, "replaced")
            return
        self._arm_expiry(pooled)
        idle = [p for p in self._clients.values() if p.in_use == 0]
        for p in idle[:max(0, len(idle) - self.max_idle)]:
            self._drop(p, "idle")

    def _arm_expiry(self, pooled: _Pooled) -> None:
        pooled.cancel_expiry()
        pooled.expiry = asyncio.get_running_loop().call_later(pooled.idle_timeout, self._expire, pooled)

    def _expire(self, pooled: _Pooled) -> None:
        pooled.expiry = None
        if pooled.in_use == 0:
            self._drop(pooled, "idle")

    def _connected(self, task: "asyncio.Task[_Pooled]") -> None:
        key = next((k for k, t in self._connecting.items() if t is task), None)
        if key is not None:
            del self._connecting[key]
        if not task.cancelled():
            task.exception()  # retrieved here too: every waiter may have been cancelled meanwhile

    def _retire(self, pooled: _Pooled) -> None:
        """A broken client: out of the pool at once, closed by the last ``_release`` of it (now, when
        no operation uses it)."""
        if pooled.dropped or pooled.retired:
            return
        pooled.retired = True
        self.stats.dropped += 1
        if self._clients.get(pooled.key) is pooled:
            del self._clients[pooled.key]
        if pooled.in_use == 0:
            self._drop(pooled, "retired")

    def _drop(self, pooled: _Pooled, reason: str) -> None:
        """Forget the client and close it in the background (closing a broken one is harmless).
        ``reason``: idle, retired, replaced or exit."""
        if pooled.dropped:
            return
        pooled.dropped = True
        if reason == "idle":
            self.stats.closed_idle += 1
        pooled.cancel_expiry()
        if self._clients.get(pooled.key) is pooled:
            del self._clients[pooled.key]
        task = asyncio.get_running_loop().create_task(_close_quietly(pooled.nc))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_all(self) -> None:
        for pooled in list(self._clients.values()):
            self._drop(pooled, "exit")
        if self._closing:
            await asyncio.wait(list(self._closing))


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:  # stopped by close(): end what still runs, then release the loop's resources
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


async def _close_quietly(nc: Client) -> None:
    try:
        await asyncio.wait_for(nc.close(), 2.0)
    except Exception:  # already closed or the socket is gone: nothing left to release
        pass


_default: Optional[ConnectionPool] = None
_default_guard = threading.Lock()


def default_pool() -> ConnectionPool:
    """The process-wide pool, created on first use; its clients are closed at interpreter exit."""
    global _default
    with _default_guard:
        if _default is None:
            _default = ConnectionPool()
            atexit.register(_default.close)
        return _default


def run(servers: Sequence[str], creds: str, connect: ConnectFn, fn: Callable[[Client], Awaitable[T]], *,
        kind: str, idle_timeout: float, replay_safe: bool, deadline: float = DEADLINE) -> T:
    """``fn(client)`` with a client for ``servers`` authenticated by ``creds``.

    ``connect()`` opens a new client with the caller's options; ``kind`` names those options (one
    pooled client per kind, servers and creds). ``replay_safe``: running ``fn`` twice has the same
    effect as once, so it may run again after its reused client broke. With reuse turned off
    (``NATS_TENANCY_CONNECTION_REUSE=0``) the client is opened and closed around ``fn`` in a fresh
    event loop of the calling thread.
    """
    if not reuse_enabled():
        return asyncio.run(_once(connect, fn))
    key = Key.of(kind, servers, creds)
    return default_pool().run(key, connect, fn, idle_timeout=idle_timeout, replay_safe=replay_safe,
                              deadline=deadline)


async def _once(connect: ConnectFn, fn: Callable[[Client], Awaitable[T]]) -> T:
    nc = await connect()
    try:
        return await fn(nc)
    finally:
        await nc.close()
