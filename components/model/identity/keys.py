"""NATS nkeys: creating key pairs, signing and verifying.

Seeds are the only secret in the identity model. They are created from the OS random source and
never derived, so a lost state file cannot be rebuilt by re-running the program; that is why the
resources keep seeds as Pulumi secrets. ``KeyPair.__repr__`` hides the seed so that a key pair
that ends up in a log line or a test failure message does not leak it.

The ``nkeys`` package encodes and decodes seeds but cannot verify with a bare public key, so
``verify`` decodes the public key itself (base32: one prefix byte, 32 key bytes, CRC16) and uses
PyNaCl directly.
"""
from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing
import nkeys

from components.model.errors import NatsTenancyError

#: First character of each public key role the identity model uses.
OPERATOR_PREFIX = "O"
ACCOUNT_PREFIX = "A"
USER_PREFIX = "U"

_ROLE_BYTES = {
    OPERATOR_PREFIX: nkeys.PREFIX_BYTE_OPERATOR,
    ACCOUNT_PREFIX: nkeys.PREFIX_BYTE_ACCOUNT,
    USER_PREFIX: nkeys.PREFIX_BYTE_USER,
}


class NkeyError(NatsTenancyError, ValueError):
    """A seed or public key that cannot be decoded (wrong role, bad checksum, wrong length)."""


@dataclass(frozen=True)
class KeyPair:
    """An nkey seed and its public key; ``repr`` never shows the seed."""

    seed: str
    public_key: str

    @property
    def role(self) -> str:
        """``O``, ``A`` or ``U``: the first letter of the public key."""
        return self.public_key[:1]

    def __repr__(self) -> str:
        return f"KeyPair(public_key={self.public_key!r}, seed=<hidden>)"

    __str__ = __repr__


def _new_key(role: str) -> KeyPair:
    seed = nkeys.encode_seed(os.urandom(32), _ROLE_BYTES[role])
    return keypair_from_seed(seed.decode("ascii"))


def new_operator_key() -> KeyPair:
    """A fresh operator key pair (``O…``) from 32 bytes of OS randomness."""
    return _new_key(OPERATOR_PREFIX)


def new_account_key() -> KeyPair:
    """A fresh account key pair (``A…``) from 32 bytes of OS randomness."""
    return _new_key(ACCOUNT_PREFIX)


def new_user_key() -> KeyPair:
    """A fresh user key pair (``U…``) from 32 bytes of OS randomness."""
    return _new_key(USER_PREFIX)


def keypair_from_seed(seed: str) -> KeyPair:
    """The key pair of an existing seed (e.g. adopted from ``nsc``)."""
    try:
        kp = nkeys.from_seed(seed.encode("ascii"))
        public = kp.public_key.decode("ascii")
    except (nkeys.NkeysError, UnicodeError, binascii.Error, ValueError) as e:
        raise NkeyError(f"not a valid nkey seed: {type(e).__name__}") from None
    return KeyPair(seed=seed, public_key=public)


def sign(seed: str, data: bytes) -> bytes:
    """Raw 64-byte ed25519 signature of ``data`` by the key of ``seed``."""
    try:
        kp = nkeys.from_seed(seed.encode("ascii"))
    except (nkeys.NkeysError, UnicodeError, binascii.Error, ValueError) as e:
        raise NkeyError(f"not a valid nkey seed: {type(e).__name__}") from None
    return bytes(kp.sign(data))


@functools.lru_cache(maxsize=4096)
def decode_public_key(public_key: str, roles: str = "OAU") -> bytes:
    """The raw 32-byte ed25519 key behind an encoded public key; checks role and checksum."""
    if not isinstance(public_key, str) or len(public_key) != 56 or public_key[:1] not in roles:
        raise NkeyError(f"not a public nkey of role {'/'.join(roles)}: {public_key!r}")
    try:
        raw = base64.b32decode(public_key)
    except (binascii.Error, ValueError):
        raise NkeyError(f"public nkey is not base32: {public_key!r}") from None
    body, checksum = raw[:-2], int.from_bytes(raw[-2:], "little")
    if nkeys.crc16(bytearray(body)) != checksum:  # CRC-16/XMODEM, table-driven in nkeys
        raise NkeyError(f"public nkey checksum mismatch: {public_key!r}")
    return body[1:]


def is_public_key(value: str, roles: str = "OAU") -> bool:
    """True when ``value`` is an encoded public nkey of one of ``roles`` with a valid checksum."""
    try:
        decode_public_key(value, roles)
    except NkeyError:
        return False
    return True


def verify(public_key: str, data: bytes, sig: bytes) -> bool:
    """True if ``sig`` is the signature of ``data`` by ``public_key``; False on any mismatch."""
    try:
        raw = decode_public_key(public_key)
        nacl.signing.VerifyKey(raw).verify(data, sig)
    except (NkeyError, nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError, TypeError):
        return False
    return True
