"""Talk to the servers' ``full`` account resolver as the system user (``$SYS.REQ.CLAIMS.*``).

Connections are opened with in-memory creds. The callers are Pulumi dynamic providers, which are
pickled into state and called from worker threads, so nothing is kept on them: the synchronous
functions take their connection from ``nats_connections``, which keeps one per server list and
system creds for the whole provider process (every account and user operation goes through it; the
system account has no connection limit) and closes it after ``IDLE_TIMEOUT`` seconds without use.
The ``*_async`` variants are there for callers that already run an event loop; they open and close
a connection of their own.

Every exchange here may run twice after a broken reused connection: lookups and lists only read, a
second push of the same JWT is answered "jwt updated" again (the resolver keeps the newer of two
JWTs), and a second delete of the same accounts is answered with success again (nats-server 2.15).

Server rules this module relies on:
- ``$SYS.REQ.CLAIMS.UPDATE`` and ``.DELETE`` are answered by **every** server with a full resolver
  (no queue group), so replies are collected on our own inbox until ``expect_servers`` answered or
  the timeout passed; a missing or failed answer is an error, never skipped;
- a reply is ``{"server": {...}, "data": {"code": 200, ...}}`` or ``{"server": ..., "error":
  {"code": 500, "description": "..."}}``;
- deleting needs a generic JWT signed by the operator (``sub == iss``) and ``allow_delete``.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Awaitable, Callable, Optional, Sequence, TypeVar

import nats
import nats.errors
from nats.aio.client import Client, RawCredentials

from components.model.identity.jwt_codec import JwtError, issue, verify
from components.model.identity.keys import keypair_from_seed
from components.model.identity.operator import delete_accounts_claims
from components.providers import nats_connections, tls_client

T = TypeVar("T")
UPDATE_SUBJECT = "$SYS.REQ.CLAIMS.UPDATE"
DELETE_SUBJECT = "$SYS.REQ.CLAIMS.DELETE"
LIST_SUBJECT = "$SYS.REQ.CLAIMS.LIST"
LOOKUP_SUBJECT = "$SYS.REQ.ACCOUNT.{account}.CLAIMS.LOOKUP"
#: Seconds the pooled system-account connection stays open without use.
IDLE_TIMEOUT = 30.0


class ResolverError(RuntimeError):
    """The resolver refused a request, did not answer, or no server could be reached."""

    def __init__(self, message: str, replies: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.replies = list(replies)


async def _connect(servers: Sequence[str], creds: str, timeout: float) -> Client:
    errors: list[str] = []

    async def on_error(e: Exception) -> None:
        errors.append(f"{type(e).__name__}: {e}".rstrip(": "))

    # nats-py 2.16 treats max_reconnect_attempts=0 as "no limit" during the initial connect and
    # retries a refused port forever; 1 means one retry per server, then NoServersError. The outer
    # wait_for bounds the whole attempt in case a server accepts TCP but never answers.
    try:
        return await asyncio.wait_for(nats.connect(
            servers=list(servers),
            user_credentials=RawCredentials(creds),
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            connect_timeout=timeout,
            error_cb=on_error,
            name="nats-tenancy-resolver",
            tls=tls_client.client_context(),   # servers with TLS: CA and client certificate (tls_client)
        ), timeout=2 * timeout * len(servers) + 1)
    except (nats.errors.Error, OSError, asyncio.TimeoutError) as e:
        detail = "; ".join(dict.fromkeys(errors + [f"{type(e).__name__}: {e}".rstrip(": ")]))
        raise ResolverError(f"no NATS server reachable at {', '.join(servers)}: {detail}") from None


def _server_name(reply: dict[str, Any]) -> str:
    server = reply.get("server") or {}
    return str(server.get("name") or server.get("id") or "?")


async def _gather(nc: Client, subject: str, payload: bytes, expect: int, timeout: float) -> list[bytes]:
    """Publish with our own inbox as reply and gather up to ``expect`` reply bodies.

    The inbox subscription is removed however this ends: the connection may be pooled and serve
    other requests afterwards."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        try:
            await nc.publish(subject, payload, reply=inbox)
        except nats.errors.MaxPayloadError as e:
            raise ResolverError(f"{subject}: payload of {len(payload)} bytes exceeds the server's max_payload: {e}") from None
        await nc.flush(timeout=max(1, int(timeout)))
        replies: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(replies) < expect:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                msg = await sub.next_msg(timeout=remaining)
            except nats.errors.TimeoutError:
                break
            if msg.headers and msg.headers.get("Status") == "503":
                # "no responders": nobody subscribes to the subject in our account, i.e. the creds are
                # not a system-account user or no server runs a resolver. Never mistake it for success.
                where = nc.connected_url.netloc if nc.connected_url else "?"
                raise ResolverError(f"{subject}: no responders at {where}; the creds must belong to a user of "
                                    "the system account and the servers must run the full resolver")
            replies.append(bytes(msg.data))
        return replies
    finally:
        try:
            await sub.unsubscribe()
        except nats.errors.Error:  # the connection closed meanwhile: nothing left to remove
            pass


def _parse(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {"error": {"description": "empty reply"}}
    try:
        reply = json.loads(body.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"error": {"description": f"unparseable reply: {body[:200]!r}"}}
    return reply if isinstance(reply, dict) else {"error": {"description": f"unexpected reply {reply!r}"}}


async def _collect(nc: Client, subject: str, payload: bytes, expect: int, timeout: float) -> list[dict[str, Any]]:
    return [_parse(b) for b in await _gather(nc, subject, payload, expect, timeout)]


def _describe(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("description") or error)
    return str(error)


def _check_replies(what: str, replies: list[dict[str, Any]], expect: int, servers: Sequence[str]) -> None:
    failures = [f"{_server_name(r)}: {_describe(r['error'])}" for r in replies if r.get("error")]
    if failures:
        raise ResolverError(f"{what} refused by {len(failures)} server(s): " + "; ".join(failures), replies)
    if len(replies) < expect:
        answered = ", ".join(_server_name(r) for r in replies) or "none"
        raise ResolverError(
            f"{what}: {len(replies)} of {expect} expected server(s) replied (answered: {answered}) via "
            f"{', '.join(servers)}; is the full resolver configured on every server?", replies)


def _preflight(account_jwt: str, trusted_issuers: Sequence[str]) -> None:
    """Refuse locally what the servers would store but never use.

    nats-server 2.15 answers "jwt updated" to an account JWT signed by an operator it does not
    trust, stores it, and only refuses the account's users later ("Authorization Violation"). So
    the signature is checked here, and the issuer too when ``trusted_issuers`` is given.
    """
    try:
        claims = verify(account_jwt.strip())
    except JwtError as e:
        raise ResolverError(f"account JWT not pushed: {e}") from None
    kind = (claims.get("nats") or {}).get("type")
    if kind != "account":
        raise ResolverError(f"account JWT not pushed: nats.type is {kind!r}, not 'account'")
    if trusted_issuers and claims.get("iss") not in trusted_issuers:
        raise ResolverError(f"account JWT for {claims.get('sub')} not pushed: issuer {claims.get('iss')} "
                            f"is not a trusted operator key ({', '.join(trusted_issuers)})")


# Each exchange runs on a connection it is given and checks the replies itself, so that a failure
# seen on a pooled connection (nothing or too little came back) leads to the connection being
# checked and, if it is dead, to one more run on a new connection.

async def _push_on(nc: Client, servers: Sequence[str], payload: bytes, expect: int,
                   timeout: float) -> list[dict[str, Any]]:
    replies = await _collect(nc, UPDATE_SUBJECT, payload, expect, timeout)
    _check_replies("account JWT update", replies, expect, servers)
    return replies


async def _delete_on(nc: Client, servers: Sequence[str], token: bytes, expect: int,
                     timeout: float) -> list[dict[str, Any]]:
    replies = await _collect(nc, DELETE_SUBJECT, token, expect, timeout)
    _check_replies("account delete", replies, expect, servers)
    return replies


async def _lookup_on(nc: Client, servers: Sequence[str], account_pub: str, timeout: float) -> Optional[str]:
    # The answer is the raw JWT, or an empty body when the resolver has no such account.
    bodies = await _gather(nc, LOOKUP_SUBJECT.format(account=account_pub), b"", 1, timeout)
    if not bodies:
        raise ResolverError(f"account lookup of {account_pub}: no server replied via {', '.join(servers)}")
    text = bodies[0].decode(errors="replace").strip()
    if text.startswith("{"):
        reply = _parse(bodies[0])
        if reply.get("error"):
            raise ResolverError(f"account lookup of {account_pub} refused: {reply['error']}", [reply])
        return None
    return text or None


async def _list_on(nc: Client, servers: Sequence[str], expect: int, timeout: float) -> list[str]:
    replies = await _collect(nc, LIST_SUBJECT, b"", expect, timeout)
    _check_replies("account list", replies, expect, servers)
    found: set[str] = set()
    for reply in replies:
        found.update(str(a) for a in reply.get("data") or [])
    return sorted(found)


def _delete_token(operator_seed: str, account_pubs: Sequence[str]) -> bytes:
    operator_pub = keypair_from_seed(operator_seed).public_key
    return issue(delete_accounts_claims(operator_pub, list(account_pubs)), operator_seed).encode()


async def _on_own_connection(servers: Sequence[str], creds: str, timeout: float,
                             fn: Callable[[Client], Awaitable[T]]) -> T:
    nc = await _connect(servers, creds, timeout)
    try:
        return await fn(nc)
    finally:
        await nc.close()


def _on_pooled_connection(servers: Sequence[str], creds: str, timeout: float,
                          fn: Callable[[Client], Awaitable[T]]) -> T:
    """``fn(nc)`` on the process's pooled system-account connection to ``servers``."""
    return nats_connections.run(servers, creds, lambda: _connect(servers, creds, timeout), fn,
                                kind="resolver", idle_timeout=IDLE_TIMEOUT, replay_safe=True)


async def push_account_jwt_async(servers: Sequence[str], system_creds: str, account_jwt: str,
                                 expect_servers: int = 1, timeout: float = 2.0,
                                 trusted_issuers: Sequence[str] = ()) -> list[dict[str, Any]]:
    _preflight(account_jwt, trusted_issuers)
    payload = account_jwt.strip().encode()
    return await _on_own_connection(servers, system_creds, timeout,
                                    lambda nc: _push_on(nc, servers, payload, expect_servers, timeout))


async def delete_accounts_async(servers: Sequence[str], system_creds: str, operator_seed: str,
                                account_pubs: Sequence[str], expect_servers: int = 1,
                                timeout: float = 2.0) -> list[dict[str, Any]]:
    token = _delete_token(operator_seed, account_pubs)
    return await _on_own_connection(servers, system_creds, timeout,
                                    lambda nc: _delete_on(nc, servers, token, expect_servers, timeout))


async def lookup_account_jwt_async(servers: Sequence[str], system_creds: str, account_pub: str,
                                   timeout: float = 2.0) -> Optional[str]:
    """The JWT the resolver holds for ``account_pub``, or None when it has none."""
    return await _on_own_connection(servers, system_creds, timeout,
                                    lambda nc: _lookup_on(nc, servers, account_pub, timeout))


async def list_accounts_async(servers: Sequence[str], system_creds: str, expect_servers: int = 1,
                              timeout: float = 2.0) -> list[str]:
    """Account public keys stored by the resolver (union over the servers that answered)."""
    return await _on_own_connection(servers, system_creds, timeout,
                                    lambda nc: _list_on(nc, servers, expect_servers, timeout))


def push_account_jwt(servers: Sequence[str], system_creds: str, account_jwt: str,
                     expect_servers: int = 1, timeout: float = 2.0,
                     trusted_issuers: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Push an account JWT to every server's resolver; raise ResolverError unless all accept.

    ``trusted_issuers``: the operator identity and signing keys; when given, a JWT issued by any
    other key is refused before it is sent.
    """
    _preflight(account_jwt, trusted_issuers)
    payload = account_jwt.strip().encode()
    return _on_pooled_connection(servers, system_creds, timeout,
                                 lambda nc: _push_on(nc, servers, payload, expect_servers, timeout))


def delete_accounts(servers: Sequence[str], system_creds: str, operator_seed: str, account_pubs: Sequence[str],
                    expect_servers: int = 1, timeout: float = 2.0) -> list[dict[str, Any]]:
    """Delete accounts from every server's resolver (their clients are disconnected)."""
    token = _delete_token(operator_seed, account_pubs)
    return _on_pooled_connection(servers, system_creds, timeout,
                                 lambda nc: _delete_on(nc, servers, token, expect_servers, timeout))


def lookup_account_jwt(servers: Sequence[str], system_creds: str, account_pub: str,
                       timeout: float = 2.0) -> Optional[str]:
    """The JWT the resolver holds for ``account_pub``, or None when it has none."""
    return _on_pooled_connection(servers, system_creds, timeout,
                                 lambda nc: _lookup_on(nc, servers, account_pub, timeout))


def list_accounts(servers: Sequence[str], system_creds: str, expect_servers: int = 1,
                  timeout: float = 2.0) -> list[str]:
    """Account public keys stored by the resolver (union over the servers that answered)."""
    return _on_pooled_connection(servers, system_creds, timeout,
                                 lambda nc: _list_on(nc, servers, expect_servers, timeout))
