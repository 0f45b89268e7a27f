"""Talk to the servers' ``full`` account resolver as the system user (``$SYS.REQ.CLAIMS.*``).

Connections are opened with in-memory creds (``components.nats_io.connect``). The callers are
Pulumi dynamic providers, which are pickled into state and called from worker threads, so nothing is
kept on them: the functions take their connection from the pool (``components.nats_io.pool``),
which keeps one per server list and system creds for the whole provider process (every account and
user operation goes through it; the system account has no connection limit) and closes it after
``IDLE_TIMEOUT`` seconds without use.

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

import json
from typing import Any, Awaitable, Callable, Optional, Sequence, TypeVar

from components.model.identity.jwt_codec import JwtError, issue, verify
from components.model.identity.keys import keypair_from_seed
from components.model.identity.operator import delete_accounts_claims
from components.nats_io import messaging, pool
from components.nats_io.connect import Client, connect
from components.nats_io.errors import NatsConnectError, PayloadTooLarge, ResolverError

T = TypeVar("T")
UPDATE_SUBJECT = "$SYS.REQ.CLAIMS.UPDATE"
DELETE_SUBJECT = "$SYS.REQ.CLAIMS.DELETE"
LIST_SUBJECT = "$SYS.REQ.CLAIMS.LIST"
LOOKUP_SUBJECT = "$SYS.REQ.ACCOUNT.{account}.CLAIMS.LOOKUP"
#: Seconds the pooled system-account connection stays open without use.
IDLE_TIMEOUT = 30.0


async def _connect(servers: Sequence[str], creds: str, timeout: float) -> Client:
    try:
        return await connect(servers, creds, name="nats-tenancy-resolver", timeout=timeout)
    except NatsConnectError as exc:
        raise ResolverError(f"no NATS server reachable at {', '.join(servers)}: {exc.detail}") from None


def _server_name(reply: dict[str, Any]) -> str:
    server = reply.get("server") or {}
    return str(server.get("name") or server.get("id") or "?")


async def _gather(nc: Client, subject: str, payload: bytes, expect: int, timeout: float) -> list[bytes]:
    """Up to ``expect`` reply bodies to one publish (``messaging.gather``)."""
    try:
        replies = await messaging.gather(nc, subject, payload, expect, timeout)
    except PayloadTooLarge as exc:
        raise ResolverError(str(exc)) from None
    if replies and messaging.is_no_responders(replies[-1]):
        # "no responders": nobody subscribes to the subject in our account, i.e. the creds are
        # not a system-account user or no server runs a resolver. Never mistake it for success.
        where = nc.connected_url.netloc if nc.connected_url else "?"
        raise ResolverError(f"{subject}: no responders at {where}; the creds must belong to a user of "
                            "the system account and the servers must run the full resolver")
    return [bytes(msg.data) for msg in replies]


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


def _on_pooled_connection(servers: Sequence[str], creds: str, timeout: float,
                          fn: Callable[[Client], Awaitable[T]]) -> T:
    """``fn(nc)`` on the process's pooled system-account connection to ``servers``."""
    return pool.run(servers, creds, lambda: _connect(servers, creds, timeout), fn,
                    kind="resolver", idle_timeout=IDLE_TIMEOUT, replay_safe=True)


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
