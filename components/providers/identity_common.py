"""Helpers shared by the identity providers: claim templates, signing that keeps iat, unknowns.

A *claims template* is a JWT claims object without ``sub`` (and without iss/iat/jti): the program
computes it with the pure model (so bad input fails before anything changes), the provider adds the
subject key it generated once and keeps for the life of the resource. A JWT is re-signed, with a
new ``iat``, only when the template's content changes; otherwise the stored token is kept, which is
what makes a second ``pulumi up`` a no-op.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import CheckFailure

from components.model.identity.jwt_codec import fingerprint, issue
from components.model.identity.keys import keypair_from_seed


def is_unknown(value: Any) -> bool:
    """A value not known during a preview: the dynamic provider host passes ``pulumi.output.Unknown``
    objects for computed inputs, and the ``rpc.UNKNOWN`` sentinel string inside nested values."""
    return isinstance(value, pulumi.output.Unknown) or (isinstance(value, str) and value == pulumi.runtime.rpc.UNKNOWN)


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def integral(value: Any) -> Any:
    """Pulumi hands numbers over as floats: turn whole floats back into ints, recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [integral(v) for v in value]
    return value


def generation(props: Mapping[str, Any]) -> int:
    """The rotation generation of a key or user; state written before generations existed counts as 1."""
    return int(props.get("generation") or 1)


def template_failures(claims: Any, kind: str) -> list[CheckFailure]:
    """Check a claims template of ``kind`` (account/user); an unknown one (preview) passes."""
    if claims is None or contains_unknown(claims):
        return []
    if not isinstance(claims, Mapping) or claims.get("nats", {}).get("type") != kind:
        return [CheckFailure("claims", f"expected an {kind} claims template (nats.type = {kind})")]
    if "sub" in claims:
        return [CheckFailure("claims", f"the template must not set 'sub': the {kind} key is its own resource")]
    return []


def with_subject(template: Mapping[str, Any], subject: str) -> dict[str, Any]:
    claims = dict(integral(template))
    claims["sub"] = subject
    return claims


def sign_if_changed(claims: Mapping[str, Any], issuer_seed: str,
                    olds: Optional[Mapping[str, Any]]) -> tuple[str, str, str]:
    """Return (jwt, fingerprint, issuer public key).

    The old token is kept when the claims' content and the issuer are unchanged; otherwise a new one
    is issued (new iat, new jti), which the full resolver accepts because it is newer.
    """
    fp = fingerprint(claims)
    issuer = keypair_from_seed(issuer_seed).public_key
    if olds and olds.get("fingerprint") == fp and olds.get("issuer") == issuer and olds.get("jwt"):
        return str(olds["jwt"]), fp, issuer
    return issue(claims, issuer_seed), fp, issuer
