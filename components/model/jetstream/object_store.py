"""Object store bucket → the ``OBJ_<bucket>`` stream exactly as nats-py 2.16 ``create_object_store``
makes it, so an application's own ``create_object_store`` with the same settings is accepted.
Chunks and metadata live under ``$O.<bucket>.C.>`` and ``$O.<bucket>.M.>``; rollups replace an
object's metadata; direct get is on; ``discard: new`` so a full bucket refuses new objects instead of
dropping chunks of old ones."""
from __future__ import annotations

from typing import Any, Mapping

from components.model.errors import SpecError
from components.model.jetstream import catalogue as cat
from components.model.jetstream._fields import Fields
from components.model.jetstream.bucket_fields import OBJECT_STORE_CATALOGUE, stream_to_input
from components.model.jetstream.stream import normalize_server_stream, validate_and_normalize_stream

OBJECT_STORE_FIELDS = cat.names(OBJECT_STORE_CATALOGUE)
STREAM_TO_INPUT = stream_to_input(OBJECT_STORE_CATALOGUE)


def validate_and_normalize_object_store(inputs: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Canonical object-store settings from user input; SpecError lists every problem found.

    The bucket's stream is validated too, and its problems are reported under the bucket's own
    field names.
    """
    f = Fields(inputs, where, OBJECT_STORE_FIELDS)
    out = cat.read_all(OBJECT_STORE_CATALOGUE, f, user=True)
    if not f.problems:
        try:
            object_store_stream_config(out, where)
        except SpecError as exc:
            for p in exc.problems:
                f.problems.add(STREAM_TO_INPUT.get(p.field, p.field), p.reason, p.fix)
    f.problems.raise_if_any()
    return out


def object_store_stream_config(obj: Mapping[str, Any], where: str = "object store") -> dict[str, Any]:
    """The canonical config of the ``OBJ_<bucket>`` stream under an object store (see the module rules)."""
    b = obj["bucket"]
    return validate_and_normalize_stream({
        "name": f"OBJ_{b}",
        "description": obj["description"],
        "subjects": [f"$O.{b}.C.>", f"$O.{b}.M.>"],
        "max_age": obj["ttl"],
        "max_bytes": obj["max_bytes"],
        "storage": obj["storage"],
        "num_replicas": obj["replicas"],
        "compression": obj.get("compression", "none"),
        "metadata": dict(obj.get("metadata") or {}),
        "discard": "new",
        "allow_rollup_hdrs": True,
        "allow_direct": True,
    }, where)


def normalize_server_object_store(config: Mapping[str, Any]) -> dict[str, Any]:
    """The object-store settings a server's ``OBJ_<bucket>`` stream config stands for (for diffs)."""
    s = normalize_server_stream(config)
    out = {f.name: s[f.stream_field] for f in OBJECT_STORE_CATALOGUE}
    out["bucket"] = s["name"][4:] if s["name"].startswith("OBJ_") else s["name"]
    return out
