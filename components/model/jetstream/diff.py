"""Which changes the server applies in place and which need the object deleted and made again.

Replacing a stream deletes its messages, so only the rules the server itself enforces
(nats-server ``configUpdateCheck`` for streams, ``checkNewConsumerConfig`` for consumers) are
classified as replacements; everything else goes through the UPDATE API.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    requires_replace: bool
    reason: Optional[str] = None


Rule = Callable[[Any, Any], Optional[str]]


def _always(why: str) -> Rule:
    return lambda old, new: why


def _no_unset(why: str) -> Rule:
    """Flags the server lets you turn on but never off again."""
    return lambda old, new: why if bool(old) and not bool(new) else None


def _workqueue(old: Any, new: Any) -> Optional[str]:
    if (old == "workqueue") != (new == "workqueue"):
        return "the server can not change retention to or from workqueue"
    return None


def _mirror(old: Any, new: Any) -> Optional[str]:
    if old is not None and new is None:
        return None  # removing the mirror promotes the stream, in place
    return "the server can not add or change a stream's mirror (10055)"


STREAM_RULES: dict[str, Rule] = {
    "name": _always("the name is the stream's identity"),
    "storage": _always("the server can not move a stream between file and memory storage"),
    "retention": _workqueue,
    "sealed": _no_unset("a sealed stream can not be unsealed"),
    "deny_delete": _no_unset("deny_delete can not be turned off once set"),
    "deny_purge": _no_unset("deny_purge can not be turned off once set"),
    "allow_msg_ttl": _no_unset("allow_msg_ttl can not be turned off once set"),
    "mirror": _mirror,
}


def _push(value: Any) -> bool:
    return bool(value)


def _push_pull(old: Any, new: Any) -> Optional[str]:
    if _push(old) != _push(new):
        return "a consumer can not switch between push (deliver_subject) and pull"
    return None


CONSUMER_RULES: dict[str, Rule] = {
    "name": _always("the name is the consumer's identity"),
    "durable_name": _always("the name is the consumer's identity"),
    "stream": _always("a consumer belongs to one stream"),
    "deliver_policy": _always("deliver_policy is fixed at creation"),
    "opt_start_seq": _always("opt_start_seq is fixed at creation"),
    "opt_start_time": _always("opt_start_time is fixed at creation"),
    "ack_policy": _always("ack_policy is fixed at creation"),
    "replay_policy": _always("replay_policy is fixed at creation"),
    "idle_heartbeat": _always("idle_heartbeat is fixed at creation"),
    "flow_control": _always("flow_control is fixed at creation"),
    "mem_storage": _always("mem_storage is fixed at creation"),
    "max_waiting": _always("max_waiting is fixed at creation"),
    "deliver_subject": _push_pull,
}


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], rules: Mapping[str, Rule]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        rule = rules.get(key)
        reason = rule(before, after) if rule else None
        changes.append(FieldChange(key, before, after, reason is not None, reason))
    return changes


def diff_stream(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """Changes between two canonical stream configs, each marked update-in-place or replace."""
    return _diff(old, new, STREAM_RULES)


def diff_consumer(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """Changes between two canonical consumer configs (plus the ``stream`` they belong to)."""
    return _diff(old, new, CONSUMER_RULES)


def replacements(changes: list[FieldChange]) -> list[str]:
    return [c.field for c in changes if c.requires_replace]


def describe(changes: list[FieldChange]) -> str:
    return "; ".join(f"{c.field}: {c.reason}" for c in changes if c.requires_replace)
