"""User claims.

Server rules:
- a user signed by an account **signing key** must name its account in ``issuer_account``;
- a user signed by a **scoped** signing key must carry no permission or limit field at all (not
  even ``subs: -1``), or the server answers "Authorization Violation"; the key's template applies.
  ``user_claims(..., scoped=True)`` therefore writes only ``type``, ``version`` and ``issuer_account``
  and refuses a spec that sets permissions it would have to drop;
- the user JWT travels in the client's CONNECT line, capped at 4096 bytes (``max_control_line``):
  keep permission lists short (``MAX_USER_JWT_BYTES`` leaves room for the rest of CONNECT).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from components.model.errors import Problems, SpecError
from components.model.identity.keys import is_public_key
from components.model.identity.permissions import (
    UserLimits,
    UserPermissions,
    validate_connection_types,
    validate_limits,
    validate_permissions,
)

#: The CONNECT line also carries the signature, client name, version and flags: stay well below 4096.
MAX_USER_JWT_BYTES = 3584


@dataclass(frozen=True)
class UserSpec:
    """Everything a user JWT says besides its account.

    Permissions, limits, bearer mode, connection types, expiry and tags.
    """

    name: str
    permissions: UserPermissions = field(default_factory=UserPermissions)
    limits: UserLimits = field(default_factory=UserLimits)
    bearer_token: bool = False
    allowed_connection_types: tuple[str, ...] = ()
    expires: Optional[int] = None  # unix seconds; None = never
    tags: tuple[str, ...] = ()

    def has_own_permissions(self) -> bool:
        return (not self.permissions.is_empty() or not self.limits.is_default() or self.bearer_token
                or bool(self.allowed_connection_types))


def validate_user(spec: UserSpec, source: str = "") -> Problems:
    """All problems of ``spec`` (not raised), so callers can merge them with their own."""
    problems = Problems(source or f"user {spec.name}")
    if not spec.name:
        problems.add("name", "user name is empty", "give the user a name")
    validate_permissions(spec.permissions, "permissions", problems)
    validate_limits(spec.limits, "limits", problems)
    validate_connection_types(spec.allowed_connection_types, "allowed_connection_types", problems)
    if spec.expires is not None and spec.expires <= 0:
        problems.add("expires", f"{spec.expires!r} is not a unix time", "seconds since the epoch, or None")
    return problems


def user_claims_template(
    spec: UserSpec,
    account_pub: str,
    issuer_is_signing_key: bool = False,
    scoped: bool = False,
    source: str = "",
) -> dict[str, Any]:
    """Claims of a user JWT without ``sub`` (and iss/iat/jti); raises SpecError listing every problem.

    ``issuer_is_signing_key``: the JWT will be signed by a signing key of ``account_pub`` rather
    than by the account key itself. ``scoped``: that signing key is a scoped one (implies the first).
    """
    problems = validate_user(spec, source)
    if not is_public_key(account_pub, "A"):
        problems.add("account_pub", f"{account_pub!r} is not an account public key", "an A… nkey")
    if scoped and spec.has_own_permissions():
        problems.add("permissions", "a user of a scoped signing key must not carry permissions or limits",
                     "put them in the signing key's template, or sign with an unscoped key")
    problems.raise_if_any()

    nats: dict[str, Any] = {"type": "user", "version": 2}
    if not scoped:
        nats.update(spec.permissions.to_claims())
        nats.update(spec.limits.to_claims())
        if spec.bearer_token:
            nats["bearer_token"] = True
        if spec.allowed_connection_types:
            nats["allowed_connection_types"] = sorted(set(spec.allowed_connection_types))
    if issuer_is_signing_key or scoped:
        nats["issuer_account"] = account_pub
    if spec.tags:
        nats["tags"] = sorted(set(spec.tags))
    claims: dict[str, Any] = {"name": spec.name, "nats": nats}
    if spec.expires is not None:
        claims["exp"] = int(spec.expires)
    return claims


def user_claims(
    spec: UserSpec,
    user_pub: str,
    account_pub: str,
    issuer_is_signing_key: bool,
    scoped: bool = False,
    source: str = "",
) -> dict[str, Any]:
    """Claims (without iss/iat/jti) of a user JWT; raises SpecError listing every problem."""
    problems = Problems(source or f"user {spec.name}")
    template: dict[str, Any] = {}
    try:
        template = user_claims_template(spec, account_pub, issuer_is_signing_key, scoped, source)
    except SpecError as e:
        problems.extend(e)
    if not is_public_key(user_pub, "U"):
        problems.add("user_pub", f"{user_pub!r} is not a user public key", "a U… nkey")
    problems.raise_if_any()
    return {"sub": user_pub, **template}
