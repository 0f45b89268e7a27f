"""Stream config: user input → canonical form, and server config → the same canonical form.

The canonical form is the server's wire config with every default filled in the way the server
fills it (nats-server ``checkStreamCfg``), so ``STREAM.INFO`` of a stream created from it normalizes
to an equal dict and a diff shows only what the user changed. Each field is a row of
``stream_fields.STREAM_CATALOGUE`` (reader, defaults, update rule); the defaults that depend on
several fields live in ``_build``, shared by both directions; the cross-field rules in ``_check``
apply only to user input, because what the server already holds is the truth to compare against.
"""
from __future__ import annotations

from typing import Any, Mapping

from components.model.errors import Problems
from components.model.jetstream import catalogue as cat
from components.model.jetstream import units
from components.model.jetstream._fields import Fields
from components.model.jetstream.stream_fields import (  # noqa: F401 - re-exported for callers
    COMPRESSION,
    DISCARD,
    FLAGS,
    RETENTION,
    SOURCE_FIELDS,
    STORAGE,
    STREAM_CATALOGUE,
    STREAM_FIELDS,
)
from components.model.subjects import subject_problem, subjects_overlap

TWO_MINUTES = 120 * 1_000_000_000
MIN_MAX_AGE = 100 * 1_000_000  # the server refuses a max_age below 100ms (0 = forever)
MIN_MARKER_TTL = 1_000_000_000
MAX_REPLICAS = 5


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
    """Every catalogue field read, then the server's cross-field defaults (``checkStreamCfg``)."""
    out = cat.read_all(STREAM_CATALOGUE, f, user)
    mirrored = out["mirror"] is not None or bool(out["sources"])
    if not out["subjects"] and not mirrored:
        out["subjects"] = [out["name"]]
    if out["duplicate_window"] == 0 and not mirrored:
        out["duplicate_window"] = TWO_MINUTES if out["max_age"] == 0 else min(TWO_MINUTES, out["max_age"])
    if out["subject_delete_marker_ttl"] > 0:
        # Delete markers are messages with a TTL that roll up their subject: the server needs both.
        for flag in ("allow_msg_ttl", "allow_rollup_hdrs"):
            if not f.has(flag):
                out[flag] = True
    return out


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
        p.add("max_age", f"{units.format_duration(c['max_age'])} is below the server's minimum of 100ms",
              "use 0 (forever) or >= 100ms")
    if 0 < c["duplicate_window"] < MIN_MAX_AGE:
        p.add("duplicate_window",
              f"{units.format_duration(c['duplicate_window'])} is below the server's minimum of 100ms", "use >= 100ms")
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
    _check_rewrites(p, c)


def _check_rewrites(p: Problems, c: dict[str, Any]) -> None:
    """Transforms, republish and source filters: what the server refuses at create (10052, 10144)."""
    transform = c["subject_transform"]
    if transform is not None:
        if not transform["dest"]:
            p.add("subject_transform.dest", "a subject transform needs a destination", "set dest, e.g. 'new.$1'")
        if transform["src"] and subject_problem(transform["src"]):
            p.add("subject_transform.src", subject_problem(transform["src"]) or "", "use a valid subject")
    republish = c["republish"]
    if republish is not None:
        dest = republish["dest"]
        if not dest:
            p.add("republish.dest", "republish needs a destination subject", "set dest, e.g. 'copies.>'")
        elif subject_problem(dest):
            p.add("republish.dest", subject_problem(dest) or "", "use a valid subject")
        else:
            for subject in c["subjects"]:
                if not subject_problem(subject) and subjects_overlap(dest, subject):
                    p.add("republish.dest", f"{dest!r} overlaps the stream's subject {subject!r}: the copies would "
                          "be stored again (the server refuses the cycle)", "republish to subjects outside the stream")
                    break
        if subject_problem(republish["src"]):
            p.add("republish.src", subject_problem(republish["src"]) or "", "use a valid subject")
    origins = [("mirror", c["mirror"])] if c["mirror"] is not None else []
    origins += [(f"sources[{i}]", s) for i, s in enumerate(c["sources"])]
    for path, origin in origins:
        if origin.get("filter_subject") and origin.get("subject_transforms"):
            p.add(f"{path}.subject_transforms", "filter_subject and subject_transforms exclude each other",
                  "move the filter into a transform's src")
