"""When a change would destroy stored messages, and what the operator is told about it.

Pure rules and message texts; the providers read the server and call these. Server rules behind
them:
- a stream's ``storage``, ``retention`` (to/from workqueue) and several flags can't be changed
  (err 10052), so such a change replaces the stream: it is deleted, with every message it holds,
  and created empty. KV buckets and object stores are streams (``KV_<b>``, ``OBJ_<b>``).
- ``deny_delete`` / ``deny_purge`` say the stream's messages must not be removed one by one or
  purged (WORM-like evidence): deleting the whole stream would defeat that, so such a stream needs
  the acknowledgement even when it is empty. KV buckets are exempt: nats-py creates every bucket
  with ``deny_delete`` (keys are deleted with markers, not the message API), so the flag says
  nothing about what the bucket holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Optional


class Loss(str, Enum):
    """How a change ends an object's data: the object is made again (replace) or removed (delete)."""

    REPLACE = "replace"
    DELETE = "delete"


class Kind(str, Enum):
    """The kind of JetStream object that holds data; the value is how messages name it.

    KV buckets and object stores are streams underneath (``KV_<bucket>``, ``OBJ_<bucket>``, see
    ``STREAM_PREFIX``).
    """

    STREAM = "stream"
    KV = "key-value bucket"
    OBJECT_STORE = "object store"


STREAM_PREFIX = {Kind.STREAM: "", Kind.KV: "KV_", Kind.OBJECT_STORE: "OBJ_"}


@dataclass(frozen=True)
class DataProtection:
    """The environment's ``data_protection`` section.

    ``allow_data_loss``: names of objects (stream names, bucket names) whose messages may be lost by
    the change being applied. ``backup_before_loss``: a directory (relative to the project) where a
    snapshot of each object is written before it is replaced or deleted.
    """

    allow_data_loss: frozenset[str] = field(default_factory=frozenset)
    backup_before_loss: Optional[str] = None

    def allows(self, name: str, stream: str) -> bool:
        return name in self.allow_data_loss or stream in self.allow_data_loss


@dataclass(frozen=True)
class StoredState:
    """What the server holds for one object right now (``exists`` False: nothing to lose).

    ``unreadable``: why the server could not tell; the loss is then unknown and treated as a loss."""

    exists: bool
    messages: int = 0
    bytes: int = 0
    deny_delete: bool = False
    deny_purge: bool = False
    unreadable: str = ""

    @classmethod
    def unknown(cls, reason: str) -> "StoredState":
        return cls(exists=True, unreadable=reason)

    @classmethod
    def from_stream_info(cls, info: Optional[Mapping[str, Any]]) -> "StoredState":
        """From a STREAM.INFO reply or a JSZ ``stream_detail`` entry (both carry config and state)."""
        if not info:
            return cls(exists=False)
        state = info.get("state") or {}
        config = info.get("config") or {}
        return cls(True, int(state.get("messages", 0)), int(state.get("bytes", 0)),
                   bool(config.get("deny_delete")), bool(config.get("deny_purge")))


@dataclass(frozen=True)
class Impact:
    """One object a change would replace or delete, with what it holds and what the environment says."""

    kind: Kind
    name: str          # as the environment names it: stream name or bucket name
    stream: str        # the stream underneath
    account: str       # tenant id (account label)
    loss: Loss
    state: StoredState
    acknowledged: bool
    backup_dir: Optional[str] = None

    @property
    def worm(self) -> bool:
        return self.kind is Kind.STREAM and (self.state.deny_delete or self.state.deny_purge)

    @property
    def needs_acknowledgement(self) -> bool:
        return self.state.exists and (self.state.messages > 0 or self.worm or bool(self.state.unreadable))

    @property
    def refused(self) -> bool:
        return self.needs_acknowledgement and not self.acknowledged


def human_bytes(n: int) -> str:
    """``n`` bytes in binary units with one decimal (``1.5 MiB``), whole bytes below 1 KiB."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _what(i: Impact) -> str:
    return f"{i.kind.value} {i.name} (account {i.account})"


def _held(s: StoredState) -> str:
    if s.unreadable:
        return f"an unknown number of messages (the server could not be read: {s.unreadable})"
    size = f"{s.bytes:,} bytes" if s.bytes < 1024 else f"{human_bytes(s.bytes)}, {s.bytes:,} bytes"
    return f"{s.messages:,} messages ({size})"


def _flags(s: StoredState) -> str:
    flags = [f for f, on in (("deny_delete", s.deny_delete), ("deny_purge", s.deny_purge)) if on]
    return " and ".join(flags)


def _action(i: Impact) -> str:
    return ("this change replaces it (delete, then create empty)" if i.loss is Loss.REPLACE
            else "it is no longer in the environment, so it is deleted")


def preview_line(i: Impact) -> str:
    """The line the preview prints for every object a change replaces or deletes."""
    if not i.state.exists:
        return f"data impact: {_what(i)}: {_action(i)}; not on the server, nothing to lose"
    head = f"data impact: {_what(i)}: {_action(i)}, losing {_held(i.state)}"
    if i.worm:
        head += f"; WORM-protected ({_flags(i.state)})"
    if i.backup_dir and i.state.messages > 0:   # an empty object has nothing to snapshot
        head += f"; a snapshot is written to {i.backup_dir}/{i.stream} first"
    if not i.needs_acknowledgement:
        return head + "; empty, allowed"
    return head + ("; acknowledged in data_protection.allow_data_loss" if i.acknowledged else "; REFUSED")


def refusal(i: Impact) -> str:
    """Why one object's loss is refused."""
    held = f"holds {_held(i.state)}"
    why = f"it is WORM-protected ({_flags(i.state)}) and {held}" if i.worm else f"it {held}"
    lost = ", which would be lost" if i.state.messages or i.state.unreadable else ""
    return f"{_what(i)}: {_action(i)}, but {why}{lost}"


def refusals_text(impacts: list[Impact], file: str) -> str:
    """The error for every refused object, with the exact lines that accept the loss."""
    refused = [i for i in impacts if i.refused]
    names = ", ".join(sorted({i.name for i in refused}))
    body = "".join(f"\n- {refusal(i)}" for i in refused)
    return (f"data loss refused; no stream, bucket or object store was replaced or deleted:{body}\n"
            f"To accept the loss, add to {file}:\n"
            f"    data_protection:\n      allow_data_loss: [{names}]\n"
            f"(with 'backup_before_loss: .state/backups' beside it to snapshot first), or revert the change.")
