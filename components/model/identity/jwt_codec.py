"""NATS JWT v2 tokens: encode, decode, verify, and a content fingerprint.

Tokens are built by hand rather than through pyjwt: the algorithm name ``ed25519-nkey`` is not
one pyjwt knows, the issuer key is an nkey (not a PEM/JWK key), and the whole format is three
base64url parts joined by dots. Registering a custom pyjwt ``Algorithm`` would add a global,
process-wide side effect for about ten lines of code; signing by hand keeps this module pure.

Server rules this module follows:
- header ``{"typ":"JWT","alg":"ed25519-nkey"}``; the v1 ``ed25519`` algorithm signs only the
  payload and is never emitted, and ``verify`` rejects it;
- parts are base64url **without** padding; the signature covers ``"<header>.<payload>"``;
- servers refuse tokens larger than 1 MiB (``MAX_TOKEN_BYTES``);
- ``jti`` is a SHA-512/256 hash (base32, no padding) of the whole claims object. The reference
  library hashes only the standard claims, but the full resolver skips a JWT whose jti it already
  stores, so a hash that ignored ``nats`` could hide a content change from the resolver sync.
"""
from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import time
from typing import Any, Mapping, Optional

from components.model.errors import NatsTenancyError
from components.model.identity.keys import NkeyError, keypair_from_seed, sign
from components.model.identity.keys import verify as verify_signature

ALGORITHM = "ed25519-nkey"
HEADER: dict[str, str] = {"typ": "JWT", "alg": ALGORITHM}
MAX_TOKEN_BYTES = 1024 * 1024

#: Claims that change on every signing without a change of meaning.
VOLATILE_CLAIMS = ("iat", "jti", "iss")


class JwtError(NatsTenancyError, ValueError):
    """A token that is malformed, uses the wrong algorithm or carries a bad signature."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as e:
        raise JwtError(f"token part is not base64url: {e}") from None


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _hash_id(claims: Mapping[str, Any]) -> str:
    digest = hashlib.new("sha512_256", _canonical(claims)).digest()
    return base64.b32encode(digest).rstrip(b"=").decode("ascii")


def issue(claims: Mapping[str, Any], issuer_seed: str, iat: Optional[int] = None,
          max_bytes: Optional[int] = MAX_TOKEN_BYTES) -> str:
    """Sign ``claims`` with ``issuer_seed``; stamps ``iss``, ``iat`` and ``jti``.

    ``iat`` defaults to now. Callers that re-issue must never lower it: the resolver keeps the
    newer of two JWTs by ``iat``. ``max_bytes=None`` skips the size check (only for measuring).
    """
    try:
        issuer = keypair_from_seed(issuer_seed)
    except NkeyError as e:
        raise JwtError(f"cannot sign: {e}") from None
    body: dict[str, Any] = copy.deepcopy(dict(claims))
    body.pop("jti", None)
    body["iss"] = issuer.public_key
    body["iat"] = int(time.time()) if iat is None else int(iat)
    body["jti"] = _hash_id(body)
    header = _b64encode(_canonical(HEADER))
    payload = _b64encode(_canonical(body))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = _b64encode(sign(issuer_seed, signing_input))
    token = f"{header}.{payload}.{signature}"
    if max_bytes is not None and len(token) > max_bytes:
        raise JwtError(f"token is {len(token)} bytes; servers refuse JWTs over {max_bytes} bytes")
    return token


def _split(token: str) -> tuple[str, str, str]:
    if not isinstance(token, str):
        raise JwtError("token is not a string")
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        raise JwtError(f"token is {len(token)} bytes; servers refuse JWTs over {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwtError("token must have three non-empty dot-separated parts")
    return parts[0], parts[1], parts[2]


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(part))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise JwtError(f"token {what} is not JSON: {e}") from None
    if not isinstance(value, dict):
        raise JwtError(f"token {what} is not a JSON object")
    return value


def decode(token: str) -> dict[str, Any]:
    """The claims of ``token`` WITHOUT checking the signature (for display and diffing)."""
    _, payload, _ = _split(token)
    return _json_part(payload, "payload")


def verify(token: str) -> dict[str, Any]:
    """The claims of ``token`` after checking header, algorithm and the issuer's signature."""
    header_part, payload_part, sig_part = _split(token)
    header = _json_part(header_part, "header")
    if str(header.get("typ", "")).upper() != "JWT":
        raise JwtError(f"token type {header.get('typ')!r} is not JWT")
    if header.get("alg") != ALGORITHM:
        raise JwtError(f"token algorithm {header.get('alg')!r} is not {ALGORITHM} (v1 tokens are not accepted)")
    claims = _json_part(payload_part, "payload")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise JwtError("token has no issuer (iss)")
    signature = _b64decode(sig_part)
    if not verify_signature(issuer, f"{header_part}.{payload_part}".encode("ascii"), signature):
        raise JwtError(f"bad signature: token is not signed by its issuer {issuer}")
    return claims


def fingerprint(claims: Mapping[str, Any]) -> str:
    """A stable hash of what ``claims`` mean: everything but ``iat``, ``jti`` and ``iss``.

    Two issues of the same content (different times, or signed by another key of the same
    operator) share a fingerprint, so a provider compares fingerprints and re-signs only when
    the content changed; comparing token text would show a change on every run.
    """
    content = {k: v for k, v in claims.items() if k not in VOLATILE_CLAIMS}
    return hashlib.sha256(_canonical(content)).hexdigest()
