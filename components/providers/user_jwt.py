"""User: a user key (generated once, kept), its account-signed JWT and the standard ``.creds`` text.

Users live only in their JWT: the server learns of them when they connect. Removing a user must
therefore revoke it: ``delete`` re-signs the account JWT that the resolver holds with a revocation
entry for the user's key (dated now, so every JWT issued to it so far is refused) and pushes it.
When the account itself is already gone there is nothing left to revoke.

Rotation: raising ``generation`` gives the user a new key and creds in place (the resource and its
name stay). The old key keeps working for ``grace_period_s`` (``retiring_keys`` in the state) and
is revoked by the first ``up`` after that; ``diff`` reports a due revocation as a change, so the
preview lists it. The JWT is signed by ``signing_seed``: the account key itself or, for tenants,
the account's current signing key, so rotating that key re-issues the user's creds.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.model.identity.creds import format_user_creds
from components.model.identity.jwt_codec import decode, issue
from components.model.identity.keys import keypair_from_seed, new_user_key
from components.model.identity.rotation import due, retire, still_valid, withdraw_now
from components.nats_io import resolver
from components.providers.account_jwt import ACCOUNT_LOCK, RESOLVER_TIMEOUT
from components.providers.identity_common import generation, integral, sign_if_changed, template_failures, with_subject

SECRET_OUTPUTS = ["seed", "creds", "signing_seed", "operator_seed", "system_creds"]
_CONTENT = ("claims", "signing_seed", "account_public_key")


def _issue(props: dict[str, Any], seed: str, olds: Optional[dict[str, Any]]) -> dict[str, Any]:
    kp = keypair_from_seed(seed)
    claims = with_subject(props["claims"], kp.public_key)
    jwt, fp, issuer = sign_if_changed(claims, str(props["signing_seed"]), olds)
    return {
        **props,
        "claims": integral(props["claims"]),
        "public_key": kp.public_key,
        "seed": seed,
        "jwt": jwt,
        "fingerprint": fp,
        "issuer": issuer,
        "creds": format_user_creds(jwt, seed),
    }


def revoke_users(servers: list[str], system_creds: str, operator_seed: str, account_pub: str,
                 user_pubs: list[str], at: Optional[int] = None) -> bool:
    """Add revocations for ``user_pubs`` to the account JWT the resolver holds; False if no account."""
    with ACCOUNT_LOCK:
        held = resolver.lookup_account_jwt(servers, system_creds, account_pub, timeout=RESOLVER_TIMEOUT)
        if not held:
            return False
        claims = {k: v for k, v in decode(held).items() if k not in ("iat", "jti", "iss")}
        nats = dict(claims.get("nats", {}))
        revocations = dict(nats.get("revocations") or {})
        for key in user_pubs:
            revocations[key] = int(at if at is not None else time.time())
        nats["revocations"] = {k: int(revocations[k]) for k in sorted(revocations)}
        claims["nats"] = nats
        resolver.push_account_jwt(servers, system_creds, issue(claims, operator_seed),
                                  expect_servers=max(1, len(servers)), timeout=RESOLVER_TIMEOUT)
    return True


class UserProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, template_failures(news.get("claims"), "user"))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _CONTENT if integral(olds.get(k)) != integral(news.get(k))]
        if generation(olds) != generation(news):
            changed.append("generation")
        if due(olds.get("retiring_keys") or {}, time.time()):
            changed.append("retiring_keys")  # an old key's grace period is over: revoke it now
        return DiffResult(changes=bool(changed), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        kp = new_user_key()
        return CreateResult(kp.public_key, {**_issue(props, kp.seed, None), "generation": generation(props),
                                            "retiring_keys": {}})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        now = time.time()
        rotate = generation(olds) != generation(news)
        seed = new_user_key().seed if rotate else str(olds["seed"])
        out = _issue(news, seed, None if rotate else olds)
        previous, current = [str(olds["public_key"])], [out["public_key"]]
        retiring = retire(olds.get("retiring_keys") or {}, previous, current, now,
                          float(news.get("grace_period_s") or 0))
        withdraw = withdraw_now(previous, current, retiring, now)
        if withdraw and news.get("servers"):
            revoke_users(list(news["servers"]), str(news["system_creds"]), str(news["operator_seed"]),
                         str(news["account_public_key"]), withdraw)
        return UpdateResult({**out, "generation": generation(news), "retiring_keys": still_valid(retiring, now)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        servers = list(props.get("servers") or [])
        if not servers:
            return
        # The current key (the id is the first one; rotation changes the key) and any still in grace.
        keys = sorted({str(props.get("public_key") or id_), *(props.get("retiring_keys") or {})})
        revoke_users(servers, str(props["system_creds"]), str(props["operator_seed"]),
                     str(props["account_public_key"]), keys)


class User(pulumi.dynamic.Resource, module="nats", name="User"):
    public_key: pulumi.Output[str]
    seed: pulumi.Output[str]
    jwt: pulumi.Output[str]
    creds: pulumi.Output[str]

    def __init__(self, name: str, *, claims: pulumi.Input[dict], account_public_key: pulumi.Input[str],
                 signing_seed: pulumi.Input[str], servers: pulumi.Input[list], system_creds: pulumi.Input[str],
                 operator_seed: pulumi.Input[str], generation: int = 1, grace_period_s: float = 0,
                 opts: Optional[pulumi.ResourceOptions] = None):
        """``servers``/``system_creds``/``operator_seed`` are what ``delete`` and rotation need to revoke
        keys; ``signing_seed`` signs the JWT (the account key or one of its signing keys)."""
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS))
        super().__init__(UserProvider(), name, {
            "claims": claims,
            "account_public_key": account_public_key,
            "signing_seed": pulumi.Output.secret(signing_seed),
            "generation": generation,
            "grace_period_s": grace_period_s,
            "servers": servers,
            "system_creds": pulumi.Output.secret(system_creds),
            "operator_seed": pulumi.Output.secret(operator_seed),
            "public_key": None, "seed": None, "jwt": None, "fingerprint": None, "issuer": None, "creds": None,
            "retiring_keys": None,
        }, opts)
