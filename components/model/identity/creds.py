"""The standard NATS creds file: a user JWT and its seed in one text block.

The layout is fixed by the reference tooling and read by every client: nats-py takes the line
right after each ``BEGIN`` marker and drops its last character, so lines end in ``\\n`` only
(a ``\\r`` would become part of the JWT). The BEGIN markers have 5 dashes each side, the END
markers 6.
"""
from __future__ import annotations

from components.model.errors import NatsTenancyError
from components.model.identity.jwt_codec import JwtError, decode

JWT_BEGIN = "-----BEGIN NATS USER JWT-----"
JWT_END = "------END NATS USER JWT------"
SEED_BEGIN = "-----BEGIN USER NKEY SEED-----"
SEED_END = "------END USER NKEY SEED------"
BANNER = "*" * 25 + " IMPORTANT " + "*" * 25
WARNING = (
    "NKEY Seed printed below can be used to sign and prove identity.\n"
    "NKEYs are sensitive and should be treated as secrets."
)
CLOSING = "*" * 61


class CredsError(NatsTenancyError, ValueError):
    """Text that is not a creds file, or a JWT/seed that cannot go into one."""


def format_user_creds(jwt: str, seed: str) -> str:
    """The creds file text for a user JWT and the user's seed (ends with a newline)."""
    jwt, seed = jwt.strip(), seed.strip()
    if not seed.startswith("SU"):
        raise CredsError("the seed of a creds file must be a user seed (SU…)")
    try:
        decode(jwt)
    except JwtError as e:
        raise CredsError(f"not a JWT: {e}") from None
    return (
        f"{JWT_BEGIN}\n{jwt}\n{JWT_END}\n"
        f"\n{BANNER}\n{WARNING}\n"
        f"\n{SEED_BEGIN}\n{seed}\n{SEED_END}\n"
        f"\n{CLOSING}\n"
    )


def _block(lines: list[str], begin: str, end: str) -> str:
    try:
        start = lines.index(begin)
    except ValueError:
        raise CredsError(f"creds text has no {begin!r} line") from None
    if start + 2 >= len(lines) or lines[start + 2] != end:
        raise CredsError(f"{begin!r} must be followed by one line and {end!r}")
    value = lines[start + 1].strip()
    if not value:
        raise CredsError(f"empty value after {begin!r}")
    return value


def parse_creds(text: str) -> tuple[str, str]:
    """``(jwt, seed)`` from creds text; tolerant of CRLF and surrounding whitespace."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _block(lines, JWT_BEGIN, JWT_END), _block(lines, SEED_BEGIN, SEED_END)
