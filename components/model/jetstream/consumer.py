"""Durable consumer config: user input → canonical form, server config → the same form.

Defaults follow nats-server ``setConsumerConfigDefaults``: ack_wait 30s when acks are on (the first
backoff step when a backoff is given), max_deliver -1, max_ack_pending 1000 when acks are on,
max_waiting 512 for pull consumers. One deliberate difference: an omitted ``ack_policy`` means
``explicit`` here (the server's own default is ``none``, which silently drops unprocessed messages on
a crash; nats-py and the nats CLI also default to explicit). Every consumer is durable
(``durable_name`` = ``name``): without it the server makes an ephemeral that vanishes when idle.
The fields, their defaults and update rules are the rows of ``consumer_fields.CONSUMER_CATALOGUE``.
"""
from __future__ import annotations

from typing import Any, Mapping

from components.model.jetstream import catalogue as cat
from components.model.jetstream._fields import Fields
from components.model.jetstream.consumer_fields import (  # noqa: F401 - re-exported for callers
    ACK,
    ACK_WAIT_DEFAULT,
    CONFIG_FIELDS,
    CONSUMER_CATALOGUE,
    DELIVER,
    MAX_ACK_PENDING_DEFAULT,
    MAX_WAITING_DEFAULT,
    PINNED_TTL_DEFAULT,
    PRIORITY_GROUP_RE,
    PULL_ONLY,
    PUSH_ONLY,
    REPLAY,
)
from components.model.subjects import subject_problem

USER_FIELDS = ("stream", "durable_name") + CONFIG_FIELDS
ALWAYS_SENT = ("name", "durable_name", "deliver_policy", "ack_policy", "replay_policy", "max_deliver")


def validate_and_normalize_consumer(inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Canonical consumer (``stream`` + config); SpecError lists every problem."""
    f = Fields(inputs, where, USER_FIELDS)
    stream = f.name("stream", "stream")
    name = f.name("name", "consumer")
    if f.has("durable_name") and f.raw("durable_name") != name:
        f.problems.add("durable_name", "must equal name (the consumer is always durable under its name)",
                       "remove durable_name")
    canonical = {"stream": stream, **_build(f, user=True)}
    _check(f, canonical)
    f.problems.raise_if_any()
    return canonical


def normalize_server_consumer(config: Mapping[str, Any], stream: str = "") -> dict[str, Any]:
    """Canonical form of the ``config`` of CONSUMER.INFO / CREATE (``_nats.`` metadata dropped)."""
    values = {k: v for k, v in config.items() if k in CONFIG_FIELDS}
    values["name"] = config.get("durable_name") or config.get("name") or ""
    values.setdefault("ack_policy", "none")  # the server's own default, in case it is ever omitted
    f = Fields(values, "server", CONFIG_FIELDS)
    return {"stream": stream, **_build(f, user=False)}


def consumer_wire_config(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config`` body for CONSUMER.CREATE, with zero values omitted as the server omits them.

    ``priority_policy: none`` is left out too, since the server never stores it.
    """
    return {k: v for k, v in canonical.items()
            if k != "stream" and (k in ALWAYS_SENT or v not in (0, "", [], {}, False, None))
            and not (k == "priority_policy" and v == "none")}


def _build(f: Fields, user: bool) -> dict[str, Any]:
    """Every catalogue field read, then the server's defaults that depend on other fields."""
    out = cat.read_all(CONSUMER_CATALOGUE, f, user)
    out["durable_name"] = out["name"]
    acks = out["ack_policy"] != "none"
    push = bool(out["deliver_subject"])
    if out["ack_wait"] == 0 and acks:
        out["ack_wait"] = out["backoff"][0] if out["backoff"] else ACK_WAIT_DEFAULT
    if out["max_ack_pending"] == 0 and acks:
        out["max_ack_pending"] = MAX_ACK_PENDING_DEFAULT
    if out["max_waiting"] == 0 and not push:
        out["max_waiting"] = MAX_WAITING_DEFAULT
    if out["priority_timeout"] == 0 and out["priority_policy"] == "pinned_client":
        out["priority_timeout"] = PINNED_TTL_DEFAULT
    return out


def _check(f: Fields, c: dict[str, Any]) -> None:
    p = f.problems
    push = bool(c["deliver_subject"])
    for key in PUSH_ONLY if not push else PULL_ONLY:
        if f.has(key) and c[key]:
            mode = "pull" if not push else "push"
            fix = f"remove {key}" + (" or set deliver_subject" if not push else "")
            p.add(key, f"not allowed on a {mode} consumer", fix)
    if c["flow_control"] and not c["idle_heartbeat"]:
        p.add("flow_control", "flow control needs idle_heartbeat", "set idle_heartbeat, e.g. 5s")
    if c["filter_subject"] and c["filter_subjects"]:
        p.add("filter_subjects", "filter_subject and filter_subjects are mutually exclusive",
              "use only filter_subjects")
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
    _check_priority(f, c, push)


def _check_priority(f: Fields, c: dict[str, Any], push: bool) -> None:
    """Priority groups (server 2.11+): refused on push consumers (10178), a policy other than none
    needs a group and groups need a policy (10159, 10196), names as the server allows (10162)."""
    p = f.problems
    groups, policy = c["priority_groups"], c["priority_policy"]
    if push and policy != "none":
        p.add("priority_policy", "priority groups are for pull consumers", "remove it or deliver_subject")
    if policy != "none" and not groups:
        p.add("priority_groups", f"priority_policy {policy} needs at least one group", "add priority_groups: [name]")
    if groups and policy == "none":
        p.add("priority_policy", "priority_groups need a policy", "set overflow, pinned_client or prioritized")
    for i, group in enumerate(groups):
        if not PRIORITY_GROUP_RE.match(group):
            p.add(f"priority_groups[{i}]", f"{group!r} is not a valid group name",
                  "use 1-16 characters of A-Z a-z 0-9 - _ / =")
    if len(set(groups)) != len(groups):
        p.add("priority_groups", "a group is listed twice", "list each group once")
    if c["priority_timeout"] and policy != "pinned_client":
        p.add("priority_timeout", "only used with priority_policy pinned_client", "remove it")
