"""Key-value bucket → the ``KV_<bucket>`` stream exactly as nats-py 2.16 ``create_key_value`` makes it.

Applications call ``js.create_key_value`` with the same settings at start-up; the server accepts
that only if the stream it describes is identical to the one we made (else 10058). So every flag
nats-py sets is set here too, including ``allow_msg_ttl`` (always on since nats-py 2.13 and
irreversible on the server), ``deny_delete`` and ``discard: new``. History is capped at 64 by the
client libraries, not the server; the cap is kept so a bucket stays usable from every client.
``direct`` is on by default as nats.go makes buckets (see ``bucket_fields``). The inputs, their
defaults and update rules are the rows of ``bucket_fields.KV_CATALOGUE``.
"""
from __future__ import annotations

from typing import Any, Mapping

from components.model.errors import SpecError
from components.model.jetstream import catalogue as cat
from components.model.jetstream._fields import Fields
from components.model.jetstream.bucket_fields import (  # noqa: F401 - re-exported for callers
    BUCKET_RE,
    BUCKET_RULE,
    KV_CATALOGUE,
    MAX_HISTORY,
    stream_to_input,
)
from components.model.jetstream.stream import normalize_server_stream, validate_and_normalize_stream

KV_FIELDS = cat.names(KV_CATALOGUE)
# KV input name for each stream field it sets (used to name replaced inputs in a diff).
STREAM_TO_INPUT = stream_to_input(KV_CATALOGUE)


def validate_and_normalize_kv(inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Canonical KV inputs (units resolved, defaults filled); SpecError lists every problem."""
    f = Fields(inputs, where, KV_FIELDS)
    out = cat.read_all(KV_CATALOGUE, f, user=True)
    if out["history"] > MAX_HISTORY:
        f.problems.add("history", f"{out['history']} is above the client limit of {MAX_HISTORY}",
                       f"use 1..{MAX_HISTORY}")
    if not f.problems:
        try:
            kv_stream_config(out, where)
        except SpecError as exc:
            for p in exc.problems:
                f.problems.add(STREAM_TO_INPUT.get(p.field, p.field), p.reason, p.fix)
    f.problems.raise_if_any()
    return out


def kv_stream_config(kv: Mapping[str, Any], where: str = "kv") -> dict[str, Any]:
    """The canonical stream config of a bucket from canonical KV inputs."""
    stream: dict[str, Any] = {
        "name": f"KV_{kv['bucket']}",
        "description": kv["description"],
        "subjects": [f"$KV.{kv['bucket']}.>"],
        "max_msgs_per_subject": kv["history"],
        "max_age": kv["ttl"],
        "max_bytes": kv["max_bytes"],
        "max_msg_size": kv["max_value_size"],
        "storage": kv["storage"],
        "num_replicas": kv["replicas"],
        "allow_direct": kv["direct"],
        "compression": kv.get("compression", "none"),
        "metadata": dict(kv.get("metadata") or {}),
        "allow_rollup_hdrs": True,
        "allow_msg_ttl": True,
        "deny_delete": True,
        "discard": "new",
        "max_msgs": -1,
        "max_consumers": -1,
    }
    if kv["limit_marker_ttl"]:
        stream["subject_delete_marker_ttl"] = kv["limit_marker_ttl"]
    return validate_and_normalize_stream(stream, where)


def normalize_server_kv(config: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical KV inputs recovered from the bucket's stream config (for ``read``)."""
    s = normalize_server_stream(config)
    out = {f.name: s[f.stream_field] for f in KV_CATALOGUE}
    out["bucket"] = s["name"][3:] if s["name"].startswith("KV_") else s["name"]
    return out
