"""Stream config: user input → canonical form, and server config → the same canonical form.

The canonical form is the server's wire config with every default filled in the way the server
fills it (nats-server ``checkStreamCfg``), so ``STREAM.INFO`` of a stream created from it normalizes
to an equal dict and a diff shows only what the user changed. Defaults live in ``_build`` and are
shared by both directions; the cross-field rules in ``_check`` apply only to user input, because
what the server already holds is the truth to compare against.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from components.model.errors import Problems, SpecProblem
from components.model.jetstream import units
from components.model.jetstream._fields import Fields
from components.model.subjects import subject_problem, subjects_overlap

RETENTION = ("limits", "interest", "workqueue")
STORAGE = ("file", "memory")
DISCARD = ("old", "new")
COMPRESSION = ("none", "s2")
TWO_MINUTES = 120 * 1_000_000_000
MIN_MAX_AGE = 100 * 1_000_000  # the server refuses a max_age below 100ms (0 = forever)
MIN_MARKER_TTL = 1_000_000_000
MAX_REPLICAS = 5

FLAGS = ("allow_direct", "mirror_direct", "sealed", "deny_delete", "deny_purge", "allow_rollup_hdrs",
         "allow_msg_ttl", "discard_new_per_subject", "no_ack")
LIMITS = ("max_consumers", "max_msgs", "max_msgs_per_subject")
STREAM_FIELDS = (
    "name", "description", "subjects", "retention", "storage", "discard", "max_age", "duplicate_window",
    "max_msgs", "max_bytes", "max_msg_size", "max_msgs_per_subject", "max_consumers", "num_replicas",
    "compression", "metadata", "subject_delete_marker_ttl", "mirror", "sources", "consumer_limits",
) + FLAGS
SOURCE_FIELDS = ("name", "filter_subject", "opt_start_seq", "opt_start_time", "external")
# Keys the server adds to a config that are not settings we manage.
SERVER_ONLY = ("placement", "first_seq", "republish", "subject_transform", "allow_msg_counter",
               "allow_msg_schedules", "allow_atomic", "persist_mode", "allow_batched")


def validate_and_normalize_stream(inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Canonical stream config from user input; SpecError lists every problem found."""
    f = Fields(inputs, where, STREAM_FIELDS)
    canonical = _build(f, user=True)
    _check(f, canonical)
    f.problems.raise_if_any()
    return canonical


def normalize_server_stream(config: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical form of a config returned by STREAM.INFO / CREATE / UPDATE."""
    known = {k: v for k, v in config.items() if k in STREAM_FIELDS}
    f = Fields(known, "server", STREAM_FIELDS)
    return _build(f, user=False)


def stream_wire_config(canonical: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for STREAM.CREATE/UPDATE: the canonical form minus empty optionals."""
    body = {k: v for k, v in canonical.items() if v not in (None, "", [], {}) or k == "subjects"}
    if canonical.get("mirror") is not None:
        body.pop("subjects", None)
    return body


def _build(f: Fields, user: bool) -> dict[str, Any]:
    name = f.name("name", "stream") if user else f.str_("name")
    mirror = _source(f, "mirror", f.raw("mirror")) if f.has("mirror") else None
    sources = _sources(f)
    subjects = f.str_list("subjects")
    if not subjects and mirror is None and not sources:
        subjects = [name]
    max_age = f.duration("max_age")
    marker_ttl = f.duration("subject_delete_marker_ttl")
    duplicate_window = f.duration("duplicate_window")
    if duplicate_window == 0 and mirror is None and not sources:
        duplicate_window = TWO_MINUTES if max_age == 0 else min(TWO_MINUTES, max_age)
    flags = {flag: f.bool_(flag) for flag in FLAGS}
    if marker_ttl > 0:
        # Delete markers are messages with a TTL that roll up their subject: the server needs both.
        for flag in ("allow_msg_ttl", "allow_rollup_hdrs"):
            if not f.has(flag):
                flags[flag] = True
    replicas = f.int_("num_replicas", 1, minimum=0) or 1
    out: dict[str, Any] = {
        "name": name,
        "description": f.str_("description"),
        "subjects": subjects,
        "retention": f.enum("retention", RETENTION, "limits"),
        "storage": f.enum("storage", STORAGE, "file"),
        "discard": f.enum("discard", DISCARD, "old"),
        "max_age": max_age,
        "duplicate_window": duplicate_window,
        "max_msgs": f.limit("max_msgs"),
        "max_bytes": _unlimited(f.size("max_bytes")),
        "max_msg_size": _unlimited(f.size("max_msg_size")),
        "max_msgs_per_subject": f.limit("max_msgs_per_subject"),
        "max_consumers": f.limit("max_consumers"),
        "num_replicas": replicas,
        "compression": f.enum("compression", COMPRESSION, "none"),
        "subject_delete_marker_ttl": marker_ttl,
        "metadata": f.str_map("metadata") if user else _drop_server_metadata(f.raw("metadata")),
        "mirror": mirror,
        "sources": sources,
        "consumer_limits": _consumer_limits(f),
    }
    out.update(flags)
    return out


def _unlimited(value: int) -> int:
    return -1 if value == 0 else value


def _drop_server_metadata(value: Any) -> dict[str, str]:
    """The server adds ``_nats.ver``/``_nats.level``/``_nats.req.level``: never part of a diff."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in sorted(value.items()) if not str(k).startswith("_nats.")}


def _source(f: Fields, path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        f.problems.add(f.path(path), f"{value!r} is not a map", "write {name: <origin stream>, ...}")
        return {"name": ""}
    sub = Fields(value, f.problems.file, SOURCE_FIELDS, prefix=f"{f.path(path)}.")
    out: dict[str, Any] = {"name": sub.str_("name")}
    if not out["name"]:
        sub.problems.add(sub.path("name"), "the origin stream name is required", "set name")
    if sub.str_("filter_subject"):
        out["filter_subject"] = sub.str_("filter_subject")
    if sub.int_("opt_start_seq", 0, minimum=0):
        out["opt_start_seq"] = sub.int_("opt_start_seq", 0)
    if sub.str_("opt_start_time"):
        out["opt_start_time"] = sub.str_("opt_start_time")
    external = sub.raw("external")
    if isinstance(external, Mapping) and external:
        out["external"] = {k: str(v) for k, v in sorted(external.items()) if v}
    f.problems.items.extend(sub.problems.items)
    return out


def _sources(f: Fields) -> list[dict[str, Any]]:
    value = f.raw("sources")
    if not f.has("sources"):
        return []
    if not isinstance(value, (list, tuple)):
        f.problems.add(f.path("sources"), f"{value!r} is not a list", "write a list of {name: ...}")
        return []
    return [_source(f, f"sources[{i}]", item) for i, item in enumerate(value)]


def _consumer_limits(f: Fields) -> dict[str, int]:
    value = f.raw("consumer_limits")
    if not f.has("consumer_limits"):
        return {}
    if not isinstance(value, Mapping):
        f.problems.add(f.path("consumer_limits"), f"{value!r} is not a map", "write {inactive_threshold, max_ack_pending}")
        return {}
    sub = Fields(value, f.problems.file, ("inactive_threshold", "max_ack_pending"), prefix="consumer_limits.")
    out = {"inactive_threshold": sub.duration("inactive_threshold"), "max_ack_pending": sub.int_("max_ack_pending", 0, minimum=0)}
    f.problems.items.extend(sub.problems.items)
    return {k: v for k, v in out.items() if v}


def _check(f: Fields, c: dict[str, Any]) -> None:
    """Cross-field rules the server enforces (in pedantic mode it refuses instead of adjusting)."""
    p: Problems = f.problems
    for i, subject in enumerate(c["subjects"]):
        why = subject_problem(subject)
        if why:
            p.add(f"subjects[{i}]", why, "use dot-separated tokens, with '*' or a final '>' as whole tokens")
    for i, a in enumerate(c["subjects"]):
        for j in range(i + 1, len(c["subjects"])):
            b = c["subjects"][j]
            if not subject_problem(a) and not subject_problem(b) and subjects_overlap(a, b):
                p.add(f"subjects[{j}]", f"{b!r} overlaps {a!r} in the same stream", "keep only the wider subject")
    if 0 < c["max_age"] < MIN_MAX_AGE:
        p.add("max_age", f"{units.format_duration(c['max_age'])} is below the server's minimum of 100ms", "use 0 (forever) or >= 100ms")
    if 0 < c["duplicate_window"] < MIN_MAX_AGE:
        p.add("duplicate_window", f"{units.format_duration(c['duplicate_window'])} is below the server's minimum of 100ms",
              "use >= 100ms")
    if c["max_age"] > 0 and c["duplicate_window"] > c["max_age"]:
        p.add("duplicate_window", f"{units.format_duration(c['duplicate_window'])} is longer than max_age "
              f"{units.format_duration(c['max_age'])}", "make duplicate_window <= max_age")
    if c["num_replicas"] > MAX_REPLICAS:
        p.add("num_replicas", f"{c['num_replicas']} replicas", f"use 1..{MAX_REPLICAS}")
    if c["max_msg_size"] > 2**31 - 1:
        p.add("max_msg_size", f"{c['max_msg_size']} does not fit the server's int32", "use at most 2147483647")
    if c["max_bytes"] > 0 and c["max_msg_size"] > c["max_bytes"]:
        p.add("max_msg_size", "larger than max_bytes", "make max_msg_size <= max_bytes")
    marker = c["subject_delete_marker_ttl"]
    if marker:
        if marker < MIN_MARKER_TTL:
            p.add("subject_delete_marker_ttl", f"{units.format_duration(marker)} is below 1s", "use at least 1s")
        for flag in ("allow_msg_ttl", "allow_rollup_hdrs"):
            if not c[flag]:
                p.add(flag, "must be true when subject_delete_marker_ttl is set", f"remove {flag}: false")
        if c["deny_purge"]:
            p.add("deny_purge", "must be false when subject_delete_marker_ttl is set", "remove deny_purge")
        if c["mirror"] is not None:
            p.add("subject_delete_marker_ttl", "a mirror can not set delete markers", "remove it")
    if c["allow_rollup_hdrs"] and c["deny_purge"] and not marker:
        p.add("allow_rollup_hdrs", "roll-ups purge older messages, so they need deny_purge: false",
              "remove deny_purge or allow_rollup_hdrs")
    if c["discard_new_per_subject"] and (c["discard"] != "new" or c["max_msgs_per_subject"] <= 0):
        p.add("discard_new_per_subject", "needs discard: new and max_msgs_per_subject > 0", "set both or remove it")
    if c["mirror"] is not None:
        if f.str_list("subjects"):
            p.add("subjects", "a mirror can not have subjects", "remove subjects")
        if c["sources"]:
            p.add("sources", "a stream can not be a mirror and have sources", "use mirror or sources")
        if c["duplicate_window"]:
            p.add("duplicate_window", "a mirror does not deduplicate", "remove duplicate_window")


def overlapping_streams(streams: Mapping[str, Sequence[str]], where: str) -> list[SpecProblem]:
    """Problems for subjects captured by two streams of one account: the server refuses the second
    stream with 10065, so report it while validating the spec instead of half-way through an apply."""
    problems: list[SpecProblem] = []
    names = sorted(streams)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for sa in streams[a]:
                for sb in streams[b]:
                    if not subject_problem(sa) and not subject_problem(sb) and subjects_overlap(sa, sb):
                        problems.append(SpecProblem(where, f"{b}.subjects", f"{sb!r} overlaps {sa!r} of stream {a}",
                                                    "give each stream its own subjects"))
    return problems
