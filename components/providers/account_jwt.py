"""Account: an account's operator-signed JWT, live in the resolver (its key is an ``Nkey`` resource).

create/update push the JWT with ``$SYS.REQ.CLAIMS.UPDATE`` to every server and check every reply;
no reachable server is an error, never a skipped push. read asks the resolver what it holds, so an
account deleted or changed behind our back shows up on ``pulumi refresh`` and the next ``up``
pushes it again. delete removes the account with an operator-signed ``$SYS.REQ.CLAIMS.DELETE``.

Revocations that user deletions added on the server are kept when the account is re-signed
(they are merged from the JWT the resolver holds), so removing a user stays effective.

Signing keys: the template names the account's current signing key(s). A key that leaves the
template stays in the JWT for ``grace_period_s`` more (``retiring_signing_keys`` in the state), so
users it signed keep connecting while they are re-issued; the first ``up`` after that removes it,
and ``diff`` reports that as a change so the preview shows it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Optional

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.model.identity.jwt_codec import decode, fingerprint
from components.model.identity.rotation import due, retire, still_valid
from components.nats_io import resolver
from components.providers.identity_common import (
    contains_unknown,
    integral,
    sign_if_changed,
    template_failures,
    with_subject,
)

SECRET_OUTPUTS = ["operator_seed", "system_creds"]
# Inputs whose change alters the account JWT; servers/system_creds only say where to push it.
_CONTENT = ("claims", "operator_seed", "public_key")

# Every server answers a push at once; the wait only runs out when one does not, so a generous
# limit costs nothing on a healthy estate and avoids false failures on a busy one.
RESOLVER_TIMEOUT = 5.0

# One provider process serves all accounts; re-signing an account (here or on user revocation in
# user_jwt.py) is read-modify-write on the resolver, so it is serialized per process.
ACCOUNT_LOCK = threading.Lock()


def _merge_server_revocations(claims: dict[str, Any], server_jwt: Optional[str]) -> dict[str, Any]:
    if not server_jwt:
        return claims
    try:
        held = decode(server_jwt).get("nats", {}).get("revocations") or {}
    except ValueError:
        return claims
    if not held:
        return claims
    nats = dict(claims.get("nats", {}))
    merged = dict(held)
    merged.update(nats.get("revocations") or {})
    nats["revocations"] = {k: int(merged[k]) for k in sorted(merged)}
    return {**claims, "nats": nats}


def _signing_keys(claims: Any) -> list[str]:
    keys = ((claims or {}).get("nats") or {}).get("signing_keys") or []
    return [k["key"] if isinstance(k, dict) else str(k) for k in keys]


def _with_retiring_keys(props: dict[str, Any], olds: Optional[dict[str, Any]],
                        now: float) -> tuple[dict[str, Any], dict[str, int]]:
    """The claims to sign, with signing keys still in their grace period, and those keys."""
    claims = with_subject(props["claims"], str(props["public_key"]))
    current = _signing_keys(claims)
    previous = _signing_keys((olds or {}).get("claims"))
    retiring = retire((olds or {}).get("retiring_signing_keys") or {}, previous, current, now,
                      float(props.get("grace_period_s") or 0))
    valid = still_valid(retiring, now)
    if valid:
        nats = dict(claims["nats"])
        nats["signing_keys"] = list(nats.get("signing_keys") or []) + list(valid)
        claims["nats"] = nats
    return claims, valid


def _push(props: dict[str, Any], olds: Optional[dict[str, Any]]) -> dict[str, Any]:
    public_key = str(props["public_key"])
    servers = list(props["servers"])
    expect = int(props.get("expect_servers") or len(servers) or 1)
    with ACCOUNT_LOCK:
        claims, retiring = _with_retiring_keys(props, olds, time.time())
        if olds is not None:
            held = resolver.lookup_account_jwt(servers, str(props["system_creds"]), public_key,
                                               timeout=RESOLVER_TIMEOUT)
            claims = _merge_server_revocations(claims, held)
        jwt, fp, issuer = sign_if_changed(claims, str(props["operator_seed"]), olds)
        resolver.push_account_jwt(servers, str(props["system_creds"]), jwt, expect_servers=expect,
                                  timeout=RESOLVER_TIMEOUT)
    return {
        **props,
        "claims": integral(props["claims"]),
        "jwt": jwt,
        "fingerprint": fp,
        "issuer": issuer,
        "resolver_state": "current",
        "retiring_signing_keys": retiring,
    }


class AccountProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = template_failures(news.get("claims"), "account")
        servers = news.get("servers")
        if not contains_unknown(servers) and not servers:
            failures.append(CheckFailure("servers", "no server URL to push the account to"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _CONTENT if integral(olds.get(k)) != integral(news.get(k))]
        if olds.get("resolver_state", "current") != "current":
            changed.append("resolver_state")  # refresh found the resolver out of date: push again
        if due(olds.get("retiring_signing_keys") or {}, time.time()):
            changed.append("retiring_signing_keys")  # a replaced signing key's grace period is over
        # A different key is a different account: the old one is deleted from the resolver.
        replaces = ["public_key"] if "public_key" in changed else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["public_key"]), _push(props, None))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_push(news, olds))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        servers = list(props.get("servers") or [])
        held = resolver.lookup_account_jwt(servers, str(props["system_creds"]), id_, timeout=RESOLVER_TIMEOUT)
        outs = dict(props)
        if not held:
            outs["resolver_state"] = "missing"
        else:
            ours = {k: v for k, v in decode(str(props["jwt"])).items() if k not in ("iat", "jti")}
            theirs = {k: v for k, v in decode(held).items() if k not in ("iat", "jti")}
            # Revocations pushed by user deletions are expected differences.
            for c in (ours, theirs):
                c.get("nats", {}).pop("revocations", None)
            outs["resolver_state"] = "current" if fingerprint(ours) == fingerprint(theirs) else "different"
        return ReadResult(id_, outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        servers = list(props["servers"])
        expect = int(props.get("expect_servers") or len(servers) or 1)
        with ACCOUNT_LOCK:
            if resolver.lookup_account_jwt(servers, str(props["system_creds"]), id_, timeout=RESOLVER_TIMEOUT) is None:
                return
            resolver.delete_accounts(servers, str(props["system_creds"]), str(props["operator_seed"]), [id_],
                                     expect_servers=expect, timeout=RESOLVER_TIMEOUT)


class Account(pulumi.dynamic.Resource, module="nats", name="Account"):
    public_key: pulumi.Output[str]
    jwt: pulumi.Output[str]

    def __init__(self, name: str, *, public_key: pulumi.Input[str], claims: pulumi.Input[dict],
                 operator_seed: pulumi.Input[str],
                 servers: pulumi.Input[list], system_creds: pulumi.Input[str], expect_servers: int = 0,
                 grace_period_s: float = 0, opts: Optional[pulumi.ResourceOptions] = None):
        """``grace_period_s``: how long a signing key removed from ``claims`` stays in the JWT."""
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS))
        super().__init__(AccountProvider(), name, {
            "public_key": public_key,
            "claims": claims,
            "operator_seed": pulumi.Output.secret(operator_seed),
            "servers": servers,
            "system_creds": pulumi.Output.secret(system_creds),
            "expect_servers": expect_servers,
            "grace_period_s": grace_period_s,
            "jwt": None, "fingerprint": None, "issuer": None,
            "resolver_state": None, "retiring_signing_keys": None,
        }, opts)
