"""Durations and sizes as written in environment files: the grammar of ``jetstream.units``.

There is one grammar (``components.model.jetstream.units``); this module only adds the two rules
an environment file keeps on top of it, and answers ``None`` instead of raising so the readers in
``schema`` can collect every problem of a file:

- a duration needs a unit (``"10"`` would silently mean ten nanoseconds); ``"0"`` is accepted as
  Go writes zero;
- durations and sizes are never negative (``-1`` as "unlimited" belongs to the JetStream API, not
  to the file, where a missing key already means "no limit").
"""
from __future__ import annotations

import re
from typing import Optional

from components.model.jetstream import units as _grammar
from components.model.jetstream.units import (
    DAY,
    HOUR,
    MICROSECOND,
    MILLISECOND,
    MINUTE,
    NANOSECOND,
    SECOND,
    SIZE_HELP,
    UnitError,
    format_duration,
)

__all__ = [
    "NANOSECOND", "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY",
    "DURATION_FIX", "SIZE_FIX", "parse_duration", "parse_size", "format_duration",
]

DURATION_FIX = "use a positive duration like 720h, 30m, 90s or 1h30m"
SIZE_FIX = f"use a whole number of bytes or {SIZE_HELP.split(' or ')[0]}"
_BARE_NUMBER = re.compile(r"^\s*\d+\s*$")


def parse_duration(text: str) -> Optional[int]:
    """Nanoseconds for a duration with a unit (or ``"0"``), or None when ``text`` is not one."""
    if not isinstance(text, str) or (_BARE_NUMBER.match(text) and text.strip() != "0"):
        return None
    try:
        ns = _grammar.parse_duration(text)
    except UnitError:
        return None
    return ns if ns >= 0 else None


def parse_size(value: object) -> Optional[int]:
    """Bytes for an integer or a size string, or None when ``value`` is neither or is negative."""
    try:
        n = _grammar.parse_size(value)
    except UnitError:
        return None
    return n if n >= 0 else None
