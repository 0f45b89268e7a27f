"""Durations and byte sizes as written in environment files.

Durations use the Go syntax that nats-server and the nats CLI print (``720h``, ``30m``, ``1h30m``,
``500ms``) so values can be copied between them; they are returned as integer nanoseconds because
that is what the JetStream API carries, and integers never pick up float rounding on the way.

Sizes are integers of bytes or a number with a unit. Binary units (``KiB MiB GiB TiB``, also written
``Ki Mi Gi Ti`` as in Kubernetes quantities) are powers of 1024; decimal units (``KB MB GB TB``, or
``K M G T``) are powers of 1000. Units are case-insensitive. Fractions are refused: a size always
names a whole number of bytes.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Optional

NANOSECOND = 1
MICROSECOND = 1_000
MILLISECOND = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_DURATION_UNITS: dict[str, int] = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")

_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mi": 1024**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gi": 1024**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1000**4, "ti": 1024**4, "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")

DURATION_FIX = "use a positive duration like 720h, 30m, 90s or 1h30m"
SIZE_FIX = "use a whole number of bytes or a size like 512MiB, 1GiB, 10GB"


def parse_duration(text: str) -> Optional[int]:
    """Nanoseconds for a Go-style duration, or None when ``text`` is not one.

    ``"0"`` is accepted (it is how Go writes zero); a leading sign is not, so ``-1h`` is refused
    here and callers decide whether zero is meaningful.
    """
    s = text.strip()
    if s == "0":
        return 0
    if not s:
        return None
    pos = 0
    total = Decimal(0)
    while pos < len(s):
        match = _DURATION_PART.match(s, pos)
        if match is None:
            return None
        try:
            number = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the regex only lets digits through
            return None
        total += number * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return int(total)


def format_duration(ns: int) -> str:
    """The shortest exact Go-style text for ``ns`` (``720h``, ``1h30m``, ``250ms``)."""
    if ns == 0:
        return "0s"
    parts: list[str] = []
    rest = ns
    for unit, size in (("h", HOUR), ("m", MINUTE), ("s", SECOND), ("ms", MILLISECOND),
                       ("us", MICROSECOND), ("ns", NANOSECOND)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(value: object) -> Optional[int]:
    """Bytes for an integer or a size string, or None when ``value`` is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    match = _SIZE.match(value)
    if match is None:
        return None
    unit = match.group(2).lower()
    if unit not in _SIZE_UNITS:
        return None
    return int(match.group(1)) * _SIZE_UNITS[unit]
