"""Keys and JWT encoding, checked with an independent decoder written here (not the library's)."""
from __future__ import annotations

import base64
import json

import nacl.signing
import pytest

from components.model.identity import jwt_codec, keys
from components.model.identity.jwt_codec import JwtError, decode, fingerprint, issue, verify


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def independent_verify(token: str) -> tuple[dict, dict]:
    """Split, decode and check the signature with PyNaCl on the issuer's raw key bytes."""
    head, body, sig = token.split(".")
    assert "=" not in token, "parts must be base64url without padding"
    header = json.loads(_b64url(head))
    claims = json.loads(_b64url(body))
    raw = base64.b32decode(claims["iss"])  # 1 prefix byte + 32 key bytes + 2 CRC bytes
    nacl.signing.VerifyKey(raw[1:33]).verify(f"{head}.{body}".encode(), _b64url(sig))
    return header, claims


@pytest.mark.parametrize("factory,prefix", [
    (keys.new_operator_key, ("O", "SO")),
    (keys.new_account_key, ("A", "SA")),
    (keys.new_user_key, ("U", "SU")),
])
def test_new_keys_have_the_role_prefix_and_round_trip(factory, prefix):
    kp = factory()
    assert kp.public_key.startswith(prefix[0]) and len(kp.public_key) == 56
    assert kp.seed.startswith(prefix[1])
    assert keys.keypair_from_seed(kp.seed) == kp


def test_repr_hides_the_seed():
    kp = keys.new_user_key()
    assert kp.seed not in repr(kp) and kp.seed not in str(kp) and kp.seed not in f"{[kp]}"
    assert kp.public_key in repr(kp)


def test_sign_and_verify():
    kp = keys.new_account_key()
    sig = keys.sign(kp.seed, b"hello")
    assert len(sig) == 64
    assert keys.verify(kp.public_key, b"hello", sig)
    assert not keys.verify(kp.public_key, b"hellO", sig)
    assert not keys.verify(keys.new_account_key().public_key, b"hello", sig)
    assert not keys.verify("not-a-key", b"hello", sig)


def test_public_key_checksum_is_checked():
    pub = keys.new_account_key().public_key
    flipped = pub[:-1] + ("A" if pub[-1] != "A" else "B")
    assert keys.is_public_key(pub, "A")
    assert not keys.is_public_key(flipped, "A")
    assert not keys.is_public_key(pub, "U")


def test_bad_seed_is_refused():
    with pytest.raises(keys.NkeyError):
        keys.keypair_from_seed("SUnotaseed")


@pytest.mark.parametrize("claims", [
    {"sub": "x", "nats": {"type": "user", "version": 2}},
    {"sub": "y", "name": "ünïcode", "nats": {"type": "account", "version": 2, "limits": {"conn": -1}}},
    {"sub": "z", "exp": 2_000_000_000, "nats": {"accounts": ["A"], "version": 2}},
])
def test_issue_is_readable_and_verifiable_by_an_independent_decoder(claims):
    issuer = keys.new_account_key()
    token = issue(claims, issuer.seed, iat=1_700_000_000)
    header, decoded = independent_verify(token)
    assert header == {"typ": "JWT", "alg": "ed25519-nkey"}
    assert decoded["iss"] == issuer.public_key
    assert decoded["iat"] == 1_700_000_000
    assert decoded["jti"] and "=" not in decoded["jti"]
    base64.b32decode(decoded["jti"] + "=" * (-len(decoded["jti"]) % 8))  # base32 alphabet
    assert {k: v for k, v in decoded.items() if k not in ("iss", "iat", "jti")} == claims
    assert verify(token) == decoded == decode(token)


def test_jti_changes_with_any_content_change():
    seed = keys.new_operator_key().seed
    a = decode(issue({"sub": "s", "nats": {"type": "account", "version": 2, "limits": {"conn": 1}}}, seed, iat=5))
    b = decode(issue({"sub": "s", "nats": {"type": "account", "version": 2, "limits": {"conn": 2}}}, seed, iat=5))
    c = decode(issue({"sub": "s", "nats": {"type": "account", "version": 2, "limits": {"conn": 1}}}, seed, iat=5))
    assert a["jti"] != b["jti"]
    assert a["jti"] == c["jti"]


def _tamper(token: str, claims_change: dict) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(_b64url(body))
    claims.update(claims_change)
    new_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{new_body}.{sig}"


def _with_header(token: str, header: dict) -> str:
    _, body, sig = token.split(".")
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


def test_verify_rejects_tampering_wrong_alg_and_garbage():
    kp = keys.new_operator_key()
    token = issue({"sub": kp.public_key, "nats": {"type": "operator", "version": 2}}, kp.seed)
    cases = {
        "payload changed": _tamper(token, {"name": "evil"}),
        "issuer swapped": _tamper(token, {"iss": keys.new_operator_key().public_key}),
        "v1 algorithm": _with_header(token, {"typ": "JWT", "alg": "ed25519"}),
        "two parts": token.rsplit(".", 1)[0],
        "not base64": "@@@.@@@.@@@",
        "payload not json": token.split(".")[0] + ".bm90IGpzb24." + token.split(".")[2],
    }
    for why, bad in cases.items():
        with pytest.raises(JwtError):
            verify(bad)
            pytest.fail(why)


def test_fingerprint_is_stable_across_reissue_and_changes_with_content():
    op1, op2 = keys.new_operator_key(), keys.new_operator_key()
    claims = {"sub": "A", "name": "t", "nats": {"type": "account", "version": 2, "limits": {"conn": -1}}}
    t1 = decode(issue(claims, op1.seed, iat=100))
    t2 = decode(issue(claims, op2.seed, iat=200))
    assert t1["jti"] != t2["jti"]
    assert fingerprint(t1) == fingerprint(t2) == fingerprint(claims)
    changed = {**claims, "nats": {**claims["nats"], "limits": {"conn": 5}}}
    assert fingerprint(changed) != fingerprint(claims)
    # key order must not matter
    reordered = {"nats": claims["nats"], "name": "t", "sub": "A"}
    assert fingerprint(reordered) == fingerprint(claims)


def test_oversized_token_is_refused():
    kp = keys.new_account_key()
    with pytest.raises(JwtError, match="1048576"):
        issue({"sub": "x", "blob": "a" * jwt_codec.MAX_TOKEN_BYTES}, kp.seed)
