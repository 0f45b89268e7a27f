"""The durable consumer field catalogue, checked against nats-server 2.15.1
(``setConsumerConfigDefaults`` for defaults, ``checkNewConsumerConfig``/``updateConfig`` for what an
update may change; each rule was also tried on a live server).

Two server behaviours shape rows here: ``pause_until`` is accepted by CREATE but an UPDATE leaves
the stored value as it was (a running consumer is paused and resumed through
``$JS.API.CONSUMER.PAUSE``, i.e. ``nats consumer pause|resume``), so a new value needs a new
consumer; and ``priority_timeout`` gets 2 minutes from the server when the policy is
``pinned_client``, so that default is filled in the same way.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from components.model.jetstream import catalogue as cat
from components.model.jetstream._fields import Fields
from components.model.jetstream.catalogue import IN_PLACE, Field, replace

DELIVER = ("all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject")
ACK = ("none", "all", "explicit")
REPLAY = ("instant", "original")
PRIORITY = ("none", "overflow", "pinned_client", "prioritized")
ACK_WAIT_DEFAULT = 30 * 1_000_000_000
PINNED_TTL_DEFAULT = 120 * 1_000_000_000
MAX_ACK_PENDING_DEFAULT = 1000
MAX_WAITING_DEFAULT = 512
# Priority group names as nats-server 2.15.1 accepts them (err 10162). Its message lists
# "-_/=)+", but ')' and '+' are refused: the text quotes the end of its regex, not allowed characters.
PRIORITY_GROUP_RE = re.compile(r"^[A-Za-z0-9/_=-]{1,16}$")
# RFC 3339 as Go writes it; the server keeps the offset it was given, so both sides are put in UTC.
_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$")


def utc_time(value: str) -> Optional[str]:
    """RFC 3339 text in UTC with the fraction Go would print (trailing zeros dropped), or None."""
    match = _TIME_RE.match(value)
    if match is None:
        return None
    day, hh, mm, ss, frac, zone = match.groups()
    try:
        stamp = dt.datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}" + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        return None
    utc = stamp.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    digits = (frac or "").rstrip("0")
    return f"{utc}.{digits}Z" if digits else f"{utc}Z"


def _time(f: Fields, key: str, user: bool) -> str:
    value = f.str_(key)
    if not value:
        return ""
    normal = utc_time(value)
    if normal is None:
        if user:
            f.problems.add(f.path(key), f"{value!r} is not an RFC 3339 time", "write e.g. 2030-01-01T00:00:00Z")
        return value
    return normal


def _durations(f: Fields, key: str, user: bool) -> list[int]:
    if not f.has(key):
        return []
    value = f.raw(key)
    if not isinstance(value, (list, tuple)):
        f.problems.add(f.path(key), f"{value!r} is not a list", 'write a list of durations, e.g. ["1s", "5s"]')
        return []
    out: list[int] = []
    for i, item in enumerate(value):
        sub = Fields({"v": item}, f.problems.file, ("v",))
        out.append(sub.duration("v", minimum=1))
        for p in sub.problems.items:
            f.problems.add(f"{key}[{i}]", p.reason, p.fix)
    return out


def _identity(what: str) -> cat.Update:
    return replace(f"the name is the {what}'s identity")


def _fixed(name: str) -> cat.Update:
    return replace(f"{name} is fixed at creation")


def _push_pull(old: Any, new: Any) -> bool:
    return bool(old) != bool(new)


def _f(name: str, type_: str, read: cat.Reader, default: str, server: str, update: cat.Update, text: str) -> Field:
    return Field(name, type_, read, default, server, update, text)


CONSUMER_CATALOGUE: tuple[Field, ...] = (
    _f("name", "string", cat.text(), "required", "—", _identity("consumer"),
       "Consumer name; also its durable_name (every consumer here is durable)."),
    Field("durable_name", "string", cat.text(), "= name", "= name", _identity("consumer"),
          "Always the name.", settable=False),
    _f("description", "string", cat.text(), '""', '""', IN_PLACE, "Free text."),
    _f("deliver_policy", "|".join(DELIVER), cat.choice(DELIVER, "all"), "all", "all", _fixed("deliver_policy"),
       "Where delivery starts; by_start_sequence/by_start_time need opt_start_seq/opt_start_time, "
       "last_per_subject a filter."),
    _f("opt_start_seq", "whole number", cat.whole(0, 0), "0", "0", _fixed("opt_start_seq"),
       "First stream sequence for by_start_sequence."),
    _f("opt_start_time", "RFC 3339 time", _time, '""', '""', _fixed("opt_start_time"),
       "First message time for by_start_time (kept in UTC)."),
    _f("ack_policy", "|".join(ACK), cat.choice(ACK, "explicit"), "explicit", "none", _fixed("ack_policy"),
       "Acks expected; explicit here, as nats-py and the nats CLI default (the server's none loses messages "
       "on a crash)."),
    _f("ack_wait", "duration", cat.duration(), "30s, or backoff[0]", "same", IN_PLACE,
       "Redelivery after this long without an ack."),
    _f("max_deliver", "count", lambda f, key, user: f.int_(key, -1, minimum=-1) or -1, "-1 (unlimited)", "-1",
       IN_PLACE, "Deliveries per message before the max-deliveries advisory (dead letter)."),
    _f("backoff", "list of durations", _durations, "[]", "[]", IN_PLACE,
       "Redelivery delays per attempt; needs acks and max_deliver above its length."),
    _f("filter_subject", "subject", cat.text(), '""', '""', IN_PLACE, "Only this subject (or use filter_subjects)."),
    _f("filter_subjects", "list of subjects", cat.string_list(), "[]", "[]", IN_PLACE, "Only these subjects."),
    _f("replay_policy", "|".join(REPLAY), cat.choice(REPLAY, "instant"), "instant", "instant",
       _fixed("replay_policy"), "Deliver as fast as possible or at the original pace."),
    _f("sample_freq", "percentage", cat.text(), '""', '""', IN_PLACE, "Share of acks sampled as advisories, e.g. 50%."),
    _f("max_ack_pending", "whole number", cat.whole(0, -1), "1000 with acks", "1000", IN_PLACE,
       "Unacked messages in flight before delivery stops."),
    _f("headers_only", "bool", cat.flag(), "false", "false", IN_PLACE, "Deliver headers and size, not bodies."),
    _f("inactive_threshold", "duration", cat.duration(), "0 (never)", "0 for durables", IN_PLACE,
       "Delete the consumer after this long without interest."),
    _f("num_replicas", "whole number", cat.whole(0, 0), "0 (as the stream)", "0", IN_PLACE, "Replicas of its state."),
    _f("mem_storage", "bool", cat.flag(), "false", "false", _fixed("mem_storage"), "Keep its state in memory."),
    _f("metadata", "map of strings", cat.metadata(), "{}", "adds `_nats.*` (ignored)", IN_PLACE, "Free key/values."),
    _f("deliver_subject", "subject", cat.text(), '"" (pull)', '""',
       replace("a consumer can not switch between push (deliver_subject) and pull", _push_pull,
               "between push and pull"),
       "Push consumer: where messages are sent; empty makes a pull consumer."),
    _f("deliver_group", "string", cat.text(), '""', '""', IN_PLACE,
       "Push only: the queue group that shares the messages (a queue push consumer)."),
    _f("flow_control", "bool", cat.flag(), "false", "false", _fixed("flow_control"),
       "Push only: flow-control messages; needs idle_heartbeat."),
    _f("idle_heartbeat", "duration", cat.duration(), "0 (off)", "0", _fixed("idle_heartbeat"),
       "Push only: heartbeat when idle, so clients notice a stalled consumer."),
    _f("rate_limit_bps", "whole number", cat.whole(0, 0), "0 (off)", "0", IN_PLACE, "Push only: bits per second."),
    _f("max_waiting", "whole number", cat.whole(0, 0), "512 (pull)", "512", _fixed("max_waiting"),
       "Pull only: pending pull requests."),
    _f("max_batch", "whole number", cat.whole(0, 0), "0 (no cap)", "0", IN_PLACE, "Pull only: largest batch."),
    _f("max_expires", "duration", cat.duration(), "0 (no cap)", "0", IN_PLACE, "Pull only: longest request expiry."),
    _f("max_bytes", "size", cat.size_limit(0), "0 (no cap)", "0", IN_PLACE, "Pull only: largest request in bytes."),
    _f("priority_groups", "list of names", cat.string_list(), "[]", "[]", IN_PLACE,
       "Pull only: group names (1-16 of A-Z a-z 0-9 - _ / =); need a priority_policy."),
    _f("priority_policy", "|".join(PRIORITY), cat.choice(PRIORITY, "none"), "none", "none", IN_PLACE,
       "Pull only: how the groups share messages (overflow, pinned_client, prioritized)."),
    _f("priority_timeout", "duration", cat.duration(), "2m with pinned_client", "2m with pinned_client", IN_PLACE,
       "pinned_client only: unpin an idle client after this long."),
    _f("pause_until", "RFC 3339 time", _time, '""', '""',
       replace("the UPDATE API keeps the stored pause_until (pause a running consumer with `nats consumer pause`)"),
       "Deliver nothing before this time (kept in UTC)."),
)

CONFIG_FIELDS = cat.names(CONSUMER_CATALOGUE)
PUSH_ONLY = ("deliver_group", "flow_control", "idle_heartbeat", "rate_limit_bps")
PULL_ONLY = ("max_waiting", "max_batch", "max_expires", "max_bytes", "priority_groups", "priority_timeout")
