"""NATS subject syntax: well-formedness and wildcard containment.

The server splits subjects on ``.``; every token must be non-empty and free of whitespace, ``*``
matches exactly one token and ``>`` one or more trailing tokens, and both wildcards are only
wildcards when they are a whole token. A malformed subject in an export or permission makes the
server refuse the whole JWT ("jwt validation failed") or silently never match, so we check early.
"""
from __future__ import annotations

from typing import Optional

_WHITESPACE = set(" \t\r\n\f\v")


def subject_problem(subject: object, allow_wildcards: bool = True) -> Optional[str]:
    """Why ``subject`` is not a valid NATS subject, or None when it is."""
    if not isinstance(subject, str):
        return f"subject must be a string, got {type(subject).__name__}"
    if not subject:
        return "subject is empty"
    if any(ch in _WHITESPACE for ch in subject):
        return f"subject {subject!r} contains whitespace"
    tokens = subject.split(".")
    for i, token in enumerate(tokens):
        if not token:
            return f"subject {subject!r} has an empty token (leading, trailing or double dot)"
        if token in ("*", ">"):
            if not allow_wildcards:
                return f"subject {subject!r} must not contain wildcards"
            if token == ">" and i != len(tokens) - 1:
                return f"subject {subject!r}: '>' is only allowed as the last token"
        elif "*" in token or ">" in token:
            return f"subject {subject!r}: wildcards must be whole tokens (token {token!r})"
    return None


def is_valid_subject(subject: object, allow_wildcards: bool = True) -> bool:
    """True when ``subject`` is a NATS subject (``allow_wildcards``: ``*`` and a final ``>`` too)."""
    return subject_problem(subject, allow_wildcards) is None


def has_wildcard(subject: str) -> bool:
    """True when a token of ``subject`` is ``*`` or ``>``: it names many subjects, not one."""
    return any(t in ("*", ">") for t in subject.split("."))


def subject_contains(outer: str, inner: str) -> bool:
    """True if every subject matched by ``inner`` is also matched by ``outer``.

    ``x.>`` contains ``x.y`` and ``x.*``; ``x.*`` contains ``x.y`` but not ``x.>``.
    """
    out_t, in_t = outer.split("."), inner.split(".")
    for i, o in enumerate(out_t):
        if o == ">":
            return len(in_t) > i
        if i >= len(in_t):
            return False
        n = in_t[i]
        if o == "*":
            if n == ">":
                return False
            continue
        if o != n:
            return False
    return len(out_t) == len(in_t)


def subjects_overlap(a: str, b: str) -> bool:
    """True if at least one concrete subject matches both ``a`` and ``b``."""
    at, bt = a.split("."), b.split(".")
    for i in range(max(len(at), len(bt))):
        x = at[i] if i < len(at) else None
        y = bt[i] if i < len(bt) else None
        if x == ">":
            return y is not None
        if y == ">":
            return x is not None
        if x is None or y is None:
            return False
        if x != y and x != "*" and y != "*":
            return False
    return True
