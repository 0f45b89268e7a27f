"""Object store bucket → the ``OBJ_<bucket>`` stream exactly as nats-py 2.16 ``create_object_store``
makes it, so an application's own ``create_object_store`` with the same settings is accepted.
Chunks and metadata live under ``$O.<bucket>.C.>`` and ``$O.<bucket>.M.>``; rollups replace an
object's metadata; direct get is on; ``discard: new`` so a full bucket refuses new objects instead of
dropping chunks of old ones."""
from __future__ import annotations

from typing import Any, Mapping

from components.model.errors import SpecError
from components.model.jetstream._fields import Fields
from components.model.jetstream.kv import BUCKET_RE, BUCKET_RULE
from components.model.jetstream.stream import STORAGE, normalize_server_stream, validate_and_normalize_stream

OBJECT_STORE_FIELDS = ("bucket", "description", "ttl", "max_bytes", "storage", "replicas")
STREAM_TO_INPUT = {"name": "bucket", "max_age": "ttl", "max_bytes": "max_bytes", "storage": "storage",
                   "num_replicas": "replicas", "description": "description"}


def validate_and_normalize_object_store(inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    f = Fields(inputs, where, OBJECT_STORE_FIELDS)
    out = {
        "bucket": f.name("bucket", "bucket", BUCKET_RE, BUCKET_RULE),
        "description": f.str_("description"),
        "ttl": f.duration("ttl"),
        "max_bytes": f.size("max_bytes"),
        "storage": f.enum("storage", STORAGE, "file"),
        "replicas": f.int_("replicas", 1, minimum=1),
    }
    out["max_bytes"] = -1 if out["max_bytes"] == 0 else out["max_bytes"]
    if not f.problems:
        try:
            object_store_stream_config(out, where)
        except SpecError as exc:
            for p in exc.problems:
                f.problems.add(STREAM_TO_INPUT.get(p.field, p.field), p.reason, p.fix)
    f.problems.raise_if_any()
    return out


def object_store_stream_config(obj: Mapping[str, Any], where: str = "object store") -> dict[str, Any]:
    b = obj["bucket"]
    return validate_and_normalize_stream({
        "name": f"OBJ_{b}",
        "description": obj["description"],
        "subjects": [f"$O.{b}.C.>", f"$O.{b}.M.>"],
        "max_age": obj["ttl"],
        "max_bytes": obj["max_bytes"],
        "storage": obj["storage"],
        "num_replicas": obj["replicas"],
        "discard": "new",
        "allow_rollup_hdrs": True,
        "allow_direct": True,
    }, where)


def normalize_server_object_store(config: Mapping[str, Any]) -> dict[str, Any]:
    s = normalize_server_stream(config)
    return {
        "bucket": s["name"][4:] if s["name"].startswith("OBJ_") else s["name"],
        "description": s["description"],
        "ttl": s["max_age"],
        "max_bytes": s["max_bytes"],
        "storage": s["storage"],
        "replicas": s["num_replicas"],
    }
