"""Hypothesis strategies for valid stream inputs, written the ways users (and Pulumi) write them."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SEC = 1_000_000_000
names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=20)


def _duration(ns: int) -> st.SearchStrategy[Any]:
    """The same duration as int nanoseconds, a whole float (Pulumi), or a string with a unit."""
    options: list[Any] = [ns, float(ns) if ns < 2**53 else ns]
    if ns % SEC == 0:
        options.append(f"{ns // SEC}s")
    if ns % (60 * SEC) == 0:
        options.append(f"{ns // (60 * SEC)}m")
    if ns % 1_000_000 == 0:
        options.append(f"{ns // 1_000_000}ms")
    return st.sampled_from(options)


def _limit() -> st.SearchStrategy[Any]:
    return st.one_of(st.just(-1), st.just(0), st.integers(1, 10**6), st.integers(1, 10**6).map(float))


@st.composite
def stream_inputs(draw: st.DrawFn, name: str | None = None) -> dict[str, Any]:
    name = name or draw(names)
    out: dict[str, Any] = {"name": name}
    n_subjects = draw(st.integers(0, 3))
    if n_subjects:
        tails = draw(st.lists(st.sampled_from([">", "*", "x", "*.y", "z.>"]), min_size=n_subjects, max_size=n_subjects))
        out["subjects"] = [f"{name}.s{i}.{t}" for i, t in enumerate(tails)]
    max_age = draw(st.one_of(st.just(0), st.integers(1, 7200).map(lambda s: s * SEC),
                             st.integers(100, 5000).map(lambda ms: ms * 1_000_000)))
    if max_age or draw(st.booleans()):
        out["max_age"] = draw(_duration(max_age))
    if draw(st.booleans()):
        cap = max_age or 600 * SEC
        out["duplicate_window"] = draw(_duration(draw(st.integers(100, cap // 1_000_000)) * 1_000_000))
    for key in ("retention", "storage", "discard", "compression"):
        choices = {"retention": ["limits", "interest", "workqueue"], "storage": ["file", "memory"],
                   "discard": ["old", "new"], "compression": ["none", "s2"]}[key]
        if draw(st.booleans()):
            out[key] = draw(st.sampled_from(choices))
    for key in ("max_msgs", "max_msgs_per_subject", "max_consumers"):
        if draw(st.booleans()):
            out[key] = draw(_limit())
    if draw(st.booleans()):
        out["max_bytes"] = draw(st.sampled_from([-1, 0, "1MiB", "5MB", "10KiB", 1048576.0, "64MiB"]))
    if draw(st.booleans()):
        out["max_msg_size"] = draw(st.sampled_from([-1, "1KiB", 4096, 512.0]))
    for flag in ("deny_delete", "deny_purge", "allow_rollup_hdrs", "allow_direct", "allow_msg_ttl"):
        if draw(st.booleans()):
            out[flag] = draw(st.booleans())
    if out.get("deny_purge") and out.get("allow_rollup_hdrs"):
        out.pop("deny_purge")
    if draw(st.booleans()):
        out["description"] = draw(st.text(alphabet="abc xyz-_.:", max_size=30))
    if draw(st.booleans()):
        keys, values = st.sampled_from(["team", "tier", "owner"]), st.text("abc123", max_size=8)
        out["metadata"] = draw(st.dictionaries(keys, values, max_size=3))
    if draw(st.integers(0, 4)) == 0 and not out.get("deny_purge"):
        out["subject_delete_marker_ttl"] = draw(st.sampled_from(["1s", "5m", 30 * SEC]))
        out.pop("allow_msg_ttl", None)
        out.pop("allow_rollup_hdrs", None)
    per_subject = out.get("max_msgs_per_subject")
    if out.get("discard") == "new" and isinstance(per_subject, int) and per_subject > 0:
        out["discard_new_per_subject"] = draw(st.booleans())
    if out.get("max_bytes") not in (None, -1, 0) and out.get("max_msg_size") not in (None, -1):
        out.pop("max_msg_size")
    if draw(st.integers(0, 3)) == 0:
        out["subject_transform"] = {"src": f"{name}.s0.>" if n_subjects else name, "dest": f"moved.{name}.>"
                                    if n_subjects else f"moved.{name}"}
    if draw(st.integers(0, 3)) == 0:
        out["republish"] = {"dest": f"copy.{name}.>", "headers_only": draw(st.booleans())}
        if draw(st.booleans()):
            out["republish"]["src"] = ">"
    return out


@st.composite
def consumer_inputs(draw: st.DrawFn, stream: str, name: str) -> dict[str, Any]:
    """Valid durable consumers on ``stream`` whose subjects are ``<stream>.>``."""
    out: dict[str, Any] = {"stream": stream, "name": name}
    push = draw(st.booleans())
    ack = draw(st.sampled_from(["none", "all", "explicit", None]))
    if ack:
        out["ack_policy"] = ack
    if push:
        out["deliver_subject"] = f"deliver.{name}"
        if draw(st.booleans()):
            out["idle_heartbeat"] = draw(st.sampled_from(["5s", 2 * SEC, "500ms"]))
            out["flow_control"] = draw(st.booleans())
        if draw(st.booleans()):
            out["rate_limit_bps"] = draw(st.integers(1, 10**7))
        if draw(st.booleans()):
            out["deliver_group"] = draw(st.sampled_from(["workers", "q-1"]))
    else:
        for key, values in (("max_waiting", [1, 10, 512.0]), ("max_batch", [1, 100]), ("max_expires", ["1s", "30s"]),
                            ("max_bytes", ["1KiB", 4096])):
            if draw(st.booleans()):
                out[key] = draw(st.sampled_from(values))
        if draw(st.integers(0, 2)) == 0:
            out["priority_groups"] = draw(st.lists(st.sampled_from(["jobs", "bulk", "a/b=c-_"]), min_size=1,
                                                   max_size=2, unique=True))
            out["priority_policy"] = draw(st.sampled_from(["overflow", "pinned_client", "prioritized"]))
            if out["priority_policy"] == "pinned_client" and draw(st.booleans()):
                out["priority_timeout"] = draw(st.sampled_from(["30s", "2m", 5 * SEC]))
    out["deliver_policy"] = draw(st.sampled_from(["all", "last", "new", "last_per_subject", "by_start_sequence"]))
    if out["deliver_policy"] == "by_start_sequence":
        out["opt_start_seq"] = draw(st.integers(1, 100))
    if ack != "none":
        if draw(st.booleans()):
            steps = draw(st.lists(st.sampled_from(["1s", "5s", "30s"]), min_size=1, max_size=3))
            out["backoff"] = steps
            out["max_deliver"] = len(steps) + draw(st.integers(1, 5))
        else:
            if draw(st.booleans()):
                out["ack_wait"] = draw(_duration(draw(st.integers(1, 120)) * SEC))
            if draw(st.booleans()):
                out["max_deliver"] = draw(st.sampled_from([-1, 0, 1, 5, 10.0]))
        if draw(st.booleans()):
            out["max_ack_pending"] = draw(st.sampled_from([-1, 1, 50, 1000, 20000.0]))
    filters = draw(st.integers(0, 2))
    if filters == 1:
        out["filter_subject"] = f"{stream}.{draw(st.sampled_from(['a', 'b.*', 'c.>']))}"
    elif filters == 2:
        out["filter_subjects"] = [f"{stream}.a.>", f"{stream}.b"]
    if out["deliver_policy"] == "last_per_subject" and not filters:
        out["deliver_policy"] = "last"
    if draw(st.booleans()):
        out["replay_policy"] = draw(st.sampled_from(["instant", "original"]))
    for flag in ("headers_only", "mem_storage"):
        if draw(st.booleans()):
            out[flag] = draw(st.booleans())
    if draw(st.booleans()):
        out["inactive_threshold"] = draw(st.sampled_from(["1h", "24h"]))
    if draw(st.booleans()):
        out["description"] = draw(st.text(alphabet="abc xyz", max_size=12))
    if draw(st.booleans()):
        out["metadata"] = {"team": draw(st.text(alphabet="abc", max_size=4))}
    if draw(st.booleans()):
        out["sample_freq"] = draw(st.sampled_from(["100%", "50%", "10"]))
    if draw(st.integers(0, 3)) == 0:
        out["pause_until"] = draw(st.sampled_from(["2030-01-01T00:00:00Z", "2031-06-01T12:30:00.25+02:00",
                                                   "2020-01-01T00:00:00.123456789Z"]))
    return out
