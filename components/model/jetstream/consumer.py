"""Durable consumer config: user input → canonical form, server config → the same form.

Defaults follow nats-server ``setConsumerConfigDefaults``: ack_wait 30s when acks are on (the first
backoff step when a backoff is given), max_deliver -1, max_ack_pending 1000 when acks are on,
max_waiting 512 for pull consumers. One deliberate difference: an omitted ``ack_policy`` means
``explicit`` here (the server's own default is ``none``, which silently drops unprocessed messages on
a crash; nats-py and the nats CLI also default to explicit). Every consumer is durable
(``durable_name`` = ``name``): without it the server makes an ephemeral that vanishes when idle.
"""
from __future__ import annotations

from typing import Any, Mapping

from components.model.jetstream._fields import Fields
from components.model.subjects import subject_problem

DELIVER = ("all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject")
ACK = ("none", "all", "explicit")
REPLAY = ("instant", "original")
ACK_WAIT_DEFAULT = 30 * 1_000_000_000
MAX_ACK_PENDING_DEFAULT = 1000
MAX_WAITING_DEFAULT = 512

PUSH_ONLY = ("deliver_group", "flow_control", "idle_heartbeat", "rate_limit_bps")
PULL_ONLY = ("max_waiting", "max_batch", "max_expires", "max_bytes")
CONFIG_FIELDS = (
    "name", "description", "deliver_policy", "opt_start_seq", "opt_start_time", "ack_policy", "ack_wait",
    "max_deliver", "backoff", "filter_subject", "filter_subjects", "replay_policy", "sample_freq",
    "max_ack_pending", "headers_only", "inactive_threshold", "num_replicas", "mem_storage", "metadata",
    "deliver_subject",
) + PUSH_ONLY + PULL_ONLY
USER_FIELDS = ("stream", "durable_name") + CONFIG_FIELDS
ALWAYS_SENT = ("name", "durable_name", "deliver_policy", "ack_policy", "replay_policy", "max_deliver")


def validate_and_normalize_consumer(inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Canonical consumer (``stream`` + config); SpecError lists every problem."""
    f = Fields(inputs, where, USER_FIELDS)
    stream = f.name("stream", "stream")
    name = f.name("name", "consumer")
    if f.has("durable_name") and f.raw("durable_name") != name:
        f.problems.add("durable_name", "must equal name (the consumer is always durable under its name)", "remove durable_name")
    canonical = {"stream": stream, **_build(f)}
    _check(f, canonical)
    f.problems.raise_if_any()
    return canonical


def normalize_server_consumer(config: Mapping[str, Any], stream: str = "") -> dict[str, Any]:
    """Canonical form of the ``config`` of CONSUMER.INFO / CREATE (``_nats.`` metadata dropped)."""
    values = {k: v for k, v in config.items() if k in CONFIG_FIELDS}
    values["name"] = config.get("durable_name") or config.get("name") or ""
    values.setdefault("ack_policy", "none")  # the server's own default, in case it is ever omitted
    meta = config.get("metadata")
    values["metadata"] = {k: v for k, v in (meta or {}).items() if not str(k).startswith("_nats.")}
    f = Fields(values, "server", CONFIG_FIELDS)
    return {"stream": stream, **_build(f)}


def consumer_wire_config(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config`` body for CONSUMER.CREATE: zero values are omitted as the server omits them."""
    return {k: v for k, v in canonical.items()
            if k != "stream" and (k in ALWAYS_SENT or v not in (0, "", [], {}, False, None))}


def _build(f: Fields) -> dict[str, Any]:
    name = f.str_("name")
    ack = f.enum("ack_policy", ACK, "explicit")
    push = bool(f.str_("deliver_subject"))
    backoff = [_dur(f, "backoff", i, v) for i, v in enumerate(_list(f, "backoff"))]
    ack_wait = f.duration("ack_wait")
    if ack_wait == 0 and ack != "none":
        ack_wait = backoff[0] if backoff else ACK_WAIT_DEFAULT
    max_deliver = f.int_("max_deliver", -1, minimum=-1) or -1
    max_ack_pending = f.int_("max_ack_pending", 0, minimum=-1)
    if max_ack_pending == 0 and ack != "none":
        max_ack_pending = MAX_ACK_PENDING_DEFAULT
    max_waiting = f.int_("max_waiting", 0, minimum=0)
    if max_waiting == 0 and not push:
        max_waiting = MAX_WAITING_DEFAULT
    return {
        "name": name,
        "durable_name": name,
        "description": f.str_("description"),
        "deliver_policy": f.enum("deliver_policy", DELIVER, "all"),
        "opt_start_seq": f.int_("opt_start_seq", 0, minimum=0),
        "opt_start_time": f.str_("opt_start_time"),
        "ack_policy": ack,
        "ack_wait": ack_wait,
        "max_deliver": max_deliver,
        "backoff": backoff,
        "filter_subject": f.str_("filter_subject"),
        "filter_subjects": f.str_list("filter_subjects"),
        "replay_policy": f.enum("replay_policy", REPLAY, "instant"),
        "sample_freq": f.str_("sample_freq"),
        "max_ack_pending": max_ack_pending,
        "headers_only": f.bool_("headers_only"),
        "inactive_threshold": f.duration("inactive_threshold"),
        "num_replicas": f.int_("num_replicas", 0, minimum=0),
        "mem_storage": f.bool_("mem_storage"),
        "metadata": f.str_map("metadata"),
        "deliver_subject": f.str_("deliver_subject"),
        "deliver_group": f.str_("deliver_group"),
        "flow_control": f.bool_("flow_control"),
        "idle_heartbeat": f.duration("idle_heartbeat"),
        "rate_limit_bps": f.int_("rate_limit_bps", 0, minimum=0),
        "max_waiting": max_waiting,
        "max_batch": f.int_("max_batch", 0, minimum=0),
        "max_expires": f.duration("max_expires"),
        "max_bytes": f.size("max_bytes", 0),
    }


def _list(f: Fields, key: str) -> list[Any]:
    value = f.raw(key)
    if not f.has(key):
        return []
    if not isinstance(value, (list, tuple)):
        f.problems.add(f.path(key), f"{value!r} is not a list", 'write a list of durations, e.g. ["1s", "5s"]')
        return []
    return list(value)


def _dur(f: Fields, key: str, i: int, value: Any) -> int:
    sub = Fields({"v": value}, f.problems.file, ("v",), prefix=f"{key}[{i}]")
    out = sub.duration("v", minimum=1)
    for p in sub.problems.items:
        f.problems.add(f"{key}[{i}]", p.reason, p.fix)
    return out


def _check(f: Fields, c: dict[str, Any]) -> None:
    p = f.problems
    push = bool(c["deliver_subject"])
    for key in PUSH_ONLY if not push else PULL_ONLY:
        if f.has(key) and c[key]:
            mode = "pull" if not push else "push"
            p.add(key, f"not allowed on a {mode} consumer", f"remove {key}" + (" or set deliver_subject" if not push else ""))
    if c["flow_control"] and not c["idle_heartbeat"]:
        p.add("flow_control", "flow control needs idle_heartbeat", "set idle_heartbeat, e.g. 5s")
    if c["filter_subject"] and c["filter_subjects"]:
        p.add("filter_subjects", "filter_subject and filter_subjects are mutually exclusive", "use only filter_subjects")
    for i, subject in enumerate(([c["filter_subject"]] if c["filter_subject"] else []) + c["filter_subjects"]):
        why = subject_problem(subject)
        if why:
            p.add("filter_subject" if c["filter_subject"] else f"filter_subjects[{i}]", why, "use a valid subject")
    policy = c["deliver_policy"]
    if policy == "by_start_sequence" and not c["opt_start_seq"]:
        p.add("opt_start_seq", "deliver_policy by_start_sequence needs opt_start_seq", "set opt_start_seq >= 1")
    if policy != "by_start_sequence" and c["opt_start_seq"]:
        p.add("opt_start_seq", f"only used with deliver_policy by_start_sequence (got {policy})", "remove it")
    if policy == "last_per_subject" and not (c["filter_subject"] or c["filter_subjects"]):
        p.add("deliver_policy", "last_per_subject needs filter_subject or filter_subjects", "add a filter or use last")
    if policy == "by_start_time" and not c["opt_start_time"]:
        p.add("opt_start_time", "deliver_policy by_start_time needs opt_start_time", "set an RFC 3339 time")
    if policy != "by_start_time" and c["opt_start_time"]:
        p.add("opt_start_time", f"only used with deliver_policy by_start_time (got {policy})", "remove it")
    if c["backoff"]:
        if c["ack_policy"] == "none":
            p.add("backoff", "backoff needs acks", "set ack_policy explicit or remove backoff")
        if c["max_deliver"] != -1 and c["max_deliver"] <= len(c["backoff"]):
            p.add("max_deliver", f"must be greater than the {len(c['backoff'])} backoff steps", "raise max_deliver")
        if f.has("ack_wait") and c["ack_wait"] != c["backoff"][0]:
            p.add("ack_wait", "with a backoff the server uses the first backoff step as ack_wait", "remove ack_wait")
    if c["ack_policy"] == "none" and f.has("ack_wait") and c["ack_wait"]:
        p.add("ack_wait", "ack_wait has no effect with ack_policy none", "remove it or set ack_policy explicit")
