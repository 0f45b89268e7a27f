"""The one grammar of durations and sizes, for environment files and resource inputs alike.

Durations are Go-style (``720h``, ``1h30m``, ``500ms``, as nats-server and the nats CLI print them)
plus ``d`` for 24 hours (``7d``); sizes are a number with a unit, where binary units (``KiB MiB GiB
TiB``, also ``Ki Mi Gi Ti`` as in Kubernetes quantities) are powers of 1024 and decimal units
(``KB MB GB TB``, also ``K M G T``) powers of 1000, case-insensitive.

The server stores durations as integer nanoseconds and rejects a JSON ``5.0`` where it expects an
int64, and Pulumi hands every number over as a float. So parsing is exact (``fractions.Fraction``,
never float arithmetic): ``"1.001s"`` is 1_001_000_000 ns, not the 1_000_999_999 a float multiply
gives, which would show as a diff on every run. Bare numbers are already in wire units
(nanoseconds, bytes) so a value read back from the server parses to itself.
"""
from __future__ import annotations

import re
from fractions import Fraction

from components.model.errors import NatsTenancyError

_DURATION_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")

_SIZE_UNITS: dict[str, int] = {
    "b": 1,
    "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mi": 1024**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gi": 1024**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1000**4, "ti": 1024**4, "tib": 1024**4,
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)")

NANOSECOND = 1
MICROSECOND = 1_000
MILLISECOND = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

DURATION_HELP = 'a duration such as "720h", "7d", "2m", "1.5s", "100ms", "1h30m" or an integer of nanoseconds'
SIZE_HELP = ('a size such as "1GiB", "512Mi", "512MB", "10KiB" (K/KB/MB/GB are powers of 1000, '
             'Ki/KiB/MiB/GiB of 1024) or an integer of bytes')


class UnitError(NatsTenancyError, ValueError):
    """A value that is not a valid duration or size; the message says what is accepted."""


def whole_number(value: object) -> int:
    """An int from an int or a whole float (Pulumi sends 5 as 5.0); bools and fractions refused."""
    if isinstance(value, bool):
        raise UnitError(f"{value!r} is a boolean, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
            raise UnitError(f"{value!r} is not a whole number")
        if abs(value) > 2**53:
            raise UnitError(f"{value!r} is too large to pass exactly as a number; write it as a string")
        return int(value)
    raise UnitError(f"{value!r} is not a number")


def parse_duration(value: object) -> int:
    """Nanoseconds from a Go-style duration string or a whole number of nanoseconds."""
    if isinstance(value, str):
        text = value.strip()
        sign = 1
        if text.startswith("-"):
            sign, text = -1, text[1:]
        if text == "0":
            return 0
        if re.fullmatch(r"\d+", text):
            return sign * int(text)
        pos, total = 0, Fraction(0)
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            total += Fraction(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise UnitError(f"{value!r} is not {DURATION_HELP}")
        if total.denominator != 1:
            raise UnitError(f"{value!r} is not a whole number of nanoseconds")
        return sign * int(total)
    try:
        return whole_number(value)
    except UnitError:
        raise UnitError(f"{value!r} is not {DURATION_HELP}") from None


def parse_size(value: object) -> int:
    """Bytes from a size string ("1GiB", "512MB") or a whole number of bytes (-1 = unlimited)."""
    if isinstance(value, str):
        text = value.strip()
        sign = 1
        if text.startswith("-"):
            sign, text = -1, text[1:]
        match = _SIZE.fullmatch(text)
        unit = match.group(2).lower() if match else ""
        if not match or (unit and unit not in _SIZE_UNITS):
            raise UnitError(f"{value!r} is not {SIZE_HELP}")
        total = Fraction(match.group(1)) * _SIZE_UNITS.get(unit, 1)
        if total.denominator != 1:
            raise UnitError(f"{value!r} is not a whole number of bytes")
        return sign * int(total)
    try:
        return whole_number(value)
    except UnitError:
        raise UnitError(f"{value!r} is not {SIZE_HELP}") from None


def format_duration(ns: int) -> str:
    """Shortest exact Go-style rendering, for messages ("2m", "1h30m", "1500ms")."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    rest = abs(ns)
    parts: list[str] = []
    for unit in ("h", "m", "s", "ms", "us", "ns"):
        size = _DURATION_UNITS[unit]
        if rest >= size:
            count, rest = divmod(rest, size)
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
