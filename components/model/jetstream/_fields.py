"""Shared field readers: each records a problem (field path + fix) instead of raising, so one
check reports every bad field of a resource at once."""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Optional, Sequence

from components.model.errors import Problems
from components.model.jetstream import units

_MISSING = object()
# Names become API subject tokens ($JS.API.STREAM.INFO.<name>) and file names on the server.
NAME_RE = re.compile(r"^[^.*>\s]+$")
NAME_MAX = 255


class Fields:
    """Reads typed values out of a user mapping, collecting problems under ``where``."""

    def __init__(self, inputs: Mapping[str, Any], where: str, allowed: Iterable[str], prefix: str = ""):
        self.inputs = inputs
        self.problems = Problems(where)
        self.prefix = prefix
        known = set(allowed)
        for key in sorted(inputs):
            if key not in known:
                self.problems.add(
                    self.path(key),
                    "unknown field",
                    "remove it or use one of: " + ", ".join(sorted(known)),
                )

    def path(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def raw(self, key: str) -> Any:
        value = self.inputs.get(key, _MISSING)
        return _MISSING if value is None else value

    def has(self, key: str) -> bool:
        return self.raw(key) is not _MISSING

    def str_(self, key: str, default: str = "") -> str:
        value = self.raw(key)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            self.problems.add(self.path(key), f"{value!r} is not a string", "quote the value")
            return default
        return value

    def bool_(self, key: str, default: bool = False) -> bool:
        value = self.raw(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problems.add(self.path(key), f"{value!r} is not true or false", "use true or false")
            return default
        return value

    def enum(self, key: str, choices: Sequence[str], default: str) -> str:
        value = self.raw(key)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or value.lower() not in choices:
            listed = "|".join(choices)
            self.problems.add(self.path(key), f"{value!r} not in {listed}", f"use one of {listed}")
            return default
        return value.lower()

    def int_(self, key: str, default: int, minimum: Optional[int] = None) -> int:
        value = self.raw(key)
        if value is _MISSING:
            return default
        try:
            number = units.whole_number(value)
        except units.UnitError as exc:
            self.problems.add(self.path(key), str(exc), "use a whole number")
            return default
        return self._at_least(key, number, minimum, default, str(number))

    def duration(self, key: str, default: int = 0, minimum: Optional[int] = 0) -> int:
        value = self.raw(key)
        if value is _MISSING:
            return default
        try:
            number = units.parse_duration(value)
        except units.UnitError as exc:
            self.problems.add(self.path(key), str(exc), f"write {units.DURATION_HELP}")
            return default
        return self._at_least(key, number, minimum, default, units.format_duration(number))

    def size(self, key: str, default: int = -1) -> int:
        """A limit in bytes where 0 or -1 mean unlimited (the server stores -1)."""
        value = self.raw(key)
        if value is _MISSING:
            return default
        try:
            number = units.parse_size(value)
        except units.UnitError as exc:
            self.problems.add(self.path(key), str(exc), f"write {units.SIZE_HELP}")
            return default
        return self._at_least(key, number, -1, default, str(number))

    def limit(self, key: str) -> int:
        """A count limit where 0 or -1 mean unlimited; the server turns both into -1."""
        number = self.int_(key, -1, minimum=-1)
        return -1 if number == 0 else number

    def _at_least(self, key: str, number: int, minimum: Optional[int], default: int, shown: str) -> int:
        if minimum is not None and number < minimum:
            self.problems.add(self.path(key), f"{shown} is below the minimum {minimum}", f"use a value >= {minimum}")
            return default
        return number

    def str_list(self, key: str) -> list[str]:
        value = self.raw(key)
        if value is _MISSING:
            return []
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            self.problems.add(self.path(key), f"{value!r} is not a list of strings", 'write a list, e.g. ["a.>"]')
            return []
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.problems.add(f"{self.path(key)}[{i}]", f"{item!r} is not a string", "quote the value")
            else:
                out.append(item)
        return out

    def str_map(self, key: str) -> dict[str, str]:
        value = self.raw(key)
        if value is _MISSING:
            return {}
        if not isinstance(value, Mapping):
            self.problems.add(self.path(key), f"{value!r} is not a map of strings", "write key: value pairs")
            return {}
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(k, str) or not isinstance(v, str):
                self.problems.add(f"{self.path(key)}.{k}", f"{v!r} is not a string", "quote the value")
            elif k.startswith("_nats."):
                self.problems.add(f"{self.path(key)}.{k}", "keys starting with _nats. belong to the server",
                                  "rename the key")
            else:
                out[k] = v
        return out

    def name(self, key: str, what: str, pattern: re.Pattern[str] = NAME_RE,
             rule: str = "no dots, spaces, '*' or '>'") -> str:
        value = self.str_(key)
        if not value:
            self.problems.add(self.path(key), f"a {what} name is required", f"set {key}")
        elif len(value) > NAME_MAX:
            self.problems.add(self.path(key), f"{what} name is {len(value)} characters long", f"use at most {NAME_MAX}")
        elif not pattern.match(value):
            self.problems.add(self.path(key), f"{value!r} is not a valid {what} name", rule)
        return value


