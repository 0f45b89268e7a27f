"""Small typed readers over parsed YAML that record problems instead of raising.

Every reader takes the field path it is reading (``tenants[2].domains.billing.live``) and adds a
problem with that path, the bad value, what is allowed and a fix to the shared ``Problems``; it
returns ``None`` (or the default) so validation goes on and all problems are reported at once.
"""
from __future__ import annotations

import difflib
import re
from enum import Enum
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, TypeVar

import yaml

from components.model.environment.units import DURATION_FIX, SIZE_FIX, parse_duration, parse_size
from components.model.errors import Problems

E = TypeVar("E", bound=Enum)


def child(path: str, key: str) -> str:
    """The path of mapping key ``key`` under ``path`` (``servers.mode``); a bare key at the top."""
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    """The path of list element ``index`` under ``path`` (``tenants[2]``)."""
    return f"{path}[{index}]"


def show(value: Any) -> str:
    """A value as the user wrote it: strings quoted, everything else as YAML would print it."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices``, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'? " if close else ""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML keeps the last one silently). Anchors,
    aliases and merge keys (``<<: *defaults``, ``<<: [*a, *b]``) work as in YAML 1.1: keys written
    next to a merge key override the merged ones, which is not a duplicate; two ``<<`` in one
    mapping are."""


#: The same on libyaml's parser when PyYAML was built with it (the wheels are): the pure-Python
#: parser took 125 s of the 155 s a 10,000-tenant environment file took to load. libyaml's error
#: messages say less ("found undefined alias" without its name), so a file it refuses is parsed
#: again by ``_StrictLoader`` for the message.
_FastStrictLoader: Any = type("_FastStrictLoader", (getattr(yaml, "CSafeLoader", _StrictLoader),),
                              {"__doc__": _StrictLoader.__doc__})


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = "<<" if key_node.tag == _MERGE_TAG else loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]})", key_node.start_mark)
        seen[key] = line
    return dict(loader.construct_mapping(node, deep=deep))


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_FastStrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# Top-level keys with this prefix hold anchors for the rest of the file (``x-stream: &std {...}``),
# as in Compose files; they are dropped after aliases are resolved, so they are never "unknown".
EXTENSION_PREFIX = "x-"


def strict_load(text: str) -> Any:
    """The document of ``text`` by the strict loader on libyaml, top-level ``x-`` keys dropped.

    Raises ``yaml.YAMLError``, whose message may say less than ``parse_yaml``'s.
    """
    return _without_extensions(yaml.load(text, Loader=_FastStrictLoader))  # noqa: S506 - a SafeLoader subclass


def _without_extensions(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: v for k, v in doc.items() if not (isinstance(k, str) and k.startswith(EXTENSION_PREFIX))}
    return doc


def parse_yaml(text: str, problems: Problems) -> Any:
    """The document of ``text`` with top-level ``x-`` keys dropped, or None with a problem added.

    The loader is strict (duplicate keys are errors, not a silent last-one-wins), and a syntax error
    names its line and column.
    """
    try:
        try:
            return strict_load(text)
        except yaml.YAMLError:
            return _without_extensions(yaml.load(text, Loader=_StrictLoader))  # noqa: S506 - for the full message
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problems.add(where, f"not valid YAML: {problem}",
                     "fix the YAML syntax (indentation, quotes, one value per key)")
        return None


class Reader:
    """Typed access to one file's parsed YAML; collects every problem in ``problems``."""

    def __init__(self, problems: Problems):
        self.problems = problems

    def add(self, path: str, reason: str, fix: str) -> None:
        self.problems.add(path, reason, fix)

    # -- containers -------------------------------------------------------------------------
    def mapping(self, value: Any, path: str, allowed: Sequence[str],
                required: Sequence[str] = ()) -> Optional[Mapping[str, Any]]:
        """``value`` as a mapping whose keys are all in ``allowed``; unknown keys are reported with
        the closest allowed key, missing required keys are reported too."""
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping with keys {', '.join(allowed)}, got {show(value)}",
                     "write it as 'key: value' lines indented under this key")
            return None
        for key in value:
            if not isinstance(key, str):
                self.add(child(path, str(key)), f"key {show(key)} is not a string",
                         f"use one of {', '.join(allowed)}")
            elif key not in allowed:
                self.add(child(path, key), f"unknown key {key!r}",
                         f"{did_you_mean(key, allowed)}allowed keys: {', '.join(allowed)}")
        for key in required:
            if key not in value:
                self.add(child(path, key), "missing", f"add '{key}:' under {path or 'the top level'}")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, f"expected a list, got {show(value)}", "write it as lines starting with '- '")
            return []
        return value

    def named_map(self, value: Any, path: str, pattern: re.Pattern[str], pattern_fix: str) -> dict[str, Any]:
        """A mapping from user-chosen names (tiers, domains) to settings."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping of names to settings, got {show(value)}",
                     "write it as 'name:' lines with the settings indented under each")
            return {}
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if not isinstance(key, str) or pattern.match(key) is None:
                self.add(child(path, str(key)), f"{show(key)} is not a valid name", pattern_fix)
                continue
            out[key] = sub
        return out

    # -- scalars ----------------------------------------------------------------------------
    def string(self, m: Mapping[str, Any], key: str, path: str, default: Optional[str] = None,
               pattern: Optional[re.Pattern[str]] = None, fix: str = "") -> Optional[str]:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if not isinstance(value, str) or value == "":
            self.add(child(path, key), f"expected a non-empty string, got {show(value)}",
                     fix or "write the value as text (quote it if it looks like a number)")
            return None
        if pattern is not None and pattern.match(value) is None:
            self.add(child(path, key), f"{value!r} is not valid", fix or f"match {pattern.pattern}")
            return None
        return value

    def integer(self, m: Mapping[str, Any], key: str, path: str, default: Optional[int] = None,
                minimum: Optional[int] = None, maximum: Optional[int] = None,
                allow: Sequence[int] = ()) -> Optional[int]:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        where = child(path, key)
        span = _span(minimum, maximum)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, f"expected a whole number, got {show(value)}", f"use a whole number {span}".strip())
            return None
        if allow and value in allow:
            return value
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            also = f" (or {', '.join(str(a) for a in allow)})" if allow else ""
            self.add(where, f"{value} is out of range", f"use a whole number {span}{also}")
            return None
        return value

    def port(self, m: Mapping[str, Any], key: str, path: str, default: Optional[int] = None) -> Optional[int]:
        return self.integer(m, key, path, default, minimum=1, maximum=65535)

    def boolean(self, m: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        if not isinstance(value, bool):
            self.add(child(path, key), f"expected true or false, got {show(value)}", "write true or false")
            return default
        return value

    def choice(self, m: Mapping[str, Any], key: str, path: str, enum: type[E],
               default: Optional[E] = None) -> Optional[E]:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        allowed = [str(e.value) for e in enum]
        if isinstance(value, str):
            for e in enum:
                if e.value == value:
                    return e
        self.add(child(path, key), f"{show(value)} not in {'|'.join(allowed)}",
                 f"use one of {', '.join(allowed)}")
        return None

    def duration(self, m: Mapping[str, Any], key: str, path: str, default: Optional[int] = None,
                 allow_zero: bool = False) -> Optional[int]:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        ns = parse_duration(value) if isinstance(value, str) else None
        if ns is None or (ns == 0 and not allow_zero):
            self.add(child(path, key), f"{show(value)} is not a duration" if ns is None
                     else f"{show(value)} must be greater than zero", DURATION_FIX)
            return None
        return ns

    def size(self, m: Mapping[str, Any], key: str, path: str, default: Optional[int] = None) -> Optional[int]:
        if key not in m or m[key] is None:
            return default
        value = m[key]
        n = parse_size(value)
        if n is None or n <= 0:
            self.add(child(path, key), f"{show(value)} is not a size" if n is None
                     else f"{show(value)} must be greater than zero", SIZE_FIX)
            return None
        return n


def _span(minimum: Optional[int], maximum: Optional[int]) -> str:
    if minimum is not None and maximum is not None:
        return f"from {minimum} to {maximum}"
    if minimum is not None:
        return f"of at least {minimum}"
    if maximum is not None:
        return f"of at most {maximum}"
    return ""


T = TypeVar("T")


def read_unique(r: Reader, value: Any, path: str, read_one: Callable[[Any, str], Optional[T]],
                key: Callable[[T], str], field: str, what: str) -> tuple[T, ...]:
    """The entries of a list read by ``read_one(raw, path)``, each ``key`` at most once.

    A repeat is reported at its ``field`` with the path of the first
    (``duplicate tenant id 'acme' (also tenants[0])``).
    """
    out: list[T] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(r.sequence(value, path)):
        ipath = item(path, i)
        entry = read_one(raw, ipath)
        if entry is None:
            continue
        k = key(entry)
        if k in seen:
            r.add(child(ipath, field), f"duplicate {what} {field} {k!r} (also {seen[k]})",
                  f"give every {what} its own {field}")
            continue
        seen[k] = ipath
        out.append(entry)
    return tuple(out)
