"""User permissions and per-user limits, shared by user JWTs, account defaults and scoped keys.

Server rules:
- an empty allow list means "everything", so a role that must not publish needs ``deny: [">"]``;
- ``subs``, ``data`` and ``payload`` are Go ``omitempty`` ints: absent reads as 0, which blocks
  every subscription or message, so they default to -1 (unlimited) and are always written;
- ``resp`` lets a user publish replies to requests it received, without a publish permission on
  ``_INBOX.>``; ``max``/``ttl`` 0 let the server apply its defaults (1 reply within 2 minutes).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Optional

from components.model.errors import Problems
from components.model.subjects import subject_problem

#: Connection types a user JWT may restrict itself to (nats-server names).
CONNECTION_TYPES = ("STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS", "IN_PROCESS")


@dataclass(frozen=True)
class Permission:
    """Allow/deny subject lists for one direction (publish or subscribe)."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def to_claims(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if self.allow:
            out["allow"] = list(self.allow)
        if self.deny:
            out["deny"] = list(self.deny)
        return out

    def is_empty(self) -> bool:
        return not self.allow and not self.deny


@dataclass(frozen=True)
class ResponsePermission:
    """Permission to answer requests: ``max`` replies within ``ttl_ns`` nanoseconds."""

    max: int = 1
    ttl_ns: int = 0

    def to_claims(self) -> dict[str, int]:
        return {"max": self.max, "ttl": self.ttl_ns}


@dataclass(frozen=True)
class UserPermissions:
    """A user's publish and subscribe allow/deny lists and, optionally, permission to answer requests."""

    pub: Permission = field(default_factory=Permission)
    sub: Permission = field(default_factory=Permission)
    resp: Optional[ResponsePermission] = None

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pub": self.pub.to_claims(), "sub": self.sub.to_claims()}
        if self.resp is not None:
            out["resp"] = self.resp.to_claims()
        return out

    def is_empty(self) -> bool:
        return self.pub.is_empty() and self.sub.is_empty() and self.resp is None


@dataclass(frozen=True)
class TimeRange:
    """A daily window in which connections are allowed, ``HH:MM:SS`` in ``times_location``."""

    start: str
    end: str


@dataclass(frozen=True)
class UserLimits:
    """A user's connection limits: subscriptions, bytes, source networks and time windows.

    ``subs``, ``data`` and ``payload`` are -1 for unlimited; ``src`` lists CIDRs and ``times`` daily
    windows.
    """

    subs: int = -1
    data: int = -1
    payload: int = -1
    src: tuple[str, ...] = ()
    times: tuple[TimeRange, ...] = ()
    times_location: Optional[str] = None

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subs": self.subs, "data": self.data, "payload": self.payload}
        if self.src:
            out["src"] = list(self.src)
        if self.times:
            out["times"] = [{"start": t.start, "end": t.end} for t in self.times]
        if self.times_location:
            out["times_location"] = self.times_location
        return out

    def is_default(self) -> bool:
        return self == UserLimits()


def _check_time(value: str) -> bool:
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() and len(p) == 2 for p in parts):
        return False
    h, m, s = (int(p) for p in parts)
    return h < 24 and m < 60 and s < 60


def validate_permissions(perms: UserPermissions, field_path: str, problems: Problems) -> None:
    """Adds a problem to ``problems`` for each invalid subject and an out-of-range response permission.

    A subscribe entry may carry a queue group after a space (``subj queue``); only the subject is
    checked.
    """
    for direction, perm in (("pub", perms.pub), ("sub", perms.sub)):
        for kind, subjects in (("allow", perm.allow), ("deny", perm.deny)):
            for i, subject in enumerate(subjects):
                # subscribe permissions may carry a queue group after a space: "subj queue"
                text = subject.split(" ", 1)[0] if direction == "sub" and isinstance(subject, str) else subject
                why = subject_problem(text)
                if why:
                    problems.add(f"{field_path}.{direction}.{kind}[{i}]", why,
                                 "use dot-separated tokens; '*' and '>' only as whole tokens")
    if perms.resp is not None:
        if perms.resp.max < -1 or perms.resp.ttl_ns < 0:
            problems.add(f"{field_path}.resp", f"max={perms.resp.max} ttl_ns={perms.resp.ttl_ns} out of range",
                         "max >= -1 and ttl_ns >= 0 (0 = server default)")


def validate_limits(limits: UserLimits, field_path: str, problems: Problems) -> None:
    """Adds a problem to ``problems`` for each limit below -1, non-CIDR source and bad time window.

    Time windows are ``HH:MM:SS`` to ``HH:MM:SS``.
    """
    for name in ("subs", "data", "payload"):
        value = getattr(limits, name)
        if not isinstance(value, int) or value < -1:
            problems.add(f"{field_path}.{name}", f"{value!r} is not a limit", "-1 (unlimited) or a count >= 0")
    for i, cidr in enumerate(limits.src):
        if not _is_cidr(cidr):
            problems.add(f"{field_path}.src[{i}]", f"{cidr!r} is not a CIDR", "e.g. 10.0.0.0/8 or 127.0.0.1/32")
    for i, t in enumerate(limits.times):
        if not (_check_time(t.start) and _check_time(t.end)):
            problems.add(f"{field_path}.times[{i}]", f"{t.start!r}-{t.end!r} is not HH:MM:SS", "e.g. 08:00:00")


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def validate_connection_types(types: tuple[str, ...], field_path: str, problems: Problems) -> None:
    """Adds a problem to ``problems`` for each connection type the server does not know.

    The known types are ``CONNECTION_TYPES``.
    """
    for i, t in enumerate(types):
        if t not in CONNECTION_TYPES:
            problems.add(f"{field_path}[{i}]", f"{t!r} is not a connection type", " | ".join(CONNECTION_TYPES))
