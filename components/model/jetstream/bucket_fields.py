"""Field catalogues of KV buckets and object stores. Each input sets one field of the bucket's
stream (``stream_field``), and a change to it costs what a change to that stream field costs, so the
update rule is taken from the stream catalogue instead of being written twice.

``direct`` is on unless the environment turns it off, as nats.go's ``CreateKeyValue`` makes every
bucket: reads are then direct gets answered by any replica instead of stream-message requests.
(nats-py 2.16's ``create_key_value`` sets ``allow_direct`` only when called with ``direct=True``;
an application that creates the bucket itself must pass the same settings, or bind with
``key_value(bucket)``.) Turning it on for an existing bucket is an update in place.
"""
from __future__ import annotations

import re

from components.model.jetstream import catalogue as cat
from components.model.jetstream._fields import Fields
from components.model.jetstream.catalogue import Field
from components.model.jetstream.stream_fields import COMPRESSION, STORAGE, STREAM_CATALOGUE

BUCKET_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
BUCKET_RULE = "use only letters, digits, '_' and '-'"
MAX_HISTORY = 64  # the client libraries' cap, not the server's
_STREAM = cat.by_name(STREAM_CATALOGUE)


def _bucket(f: Fields, key: str, user: bool) -> str:
    return f.name(key, "bucket", BUCKET_RE, BUCKET_RULE)


def _b(name: str, stream_field: str, type_: str, read: cat.Reader, default: str, description: str,
       client_default: str = "") -> Field:
    """``client_default``: what nats-py/nats.go make when the bucket's creator omits the field,
    where that differs from the server's default for the stream field."""
    s = _STREAM[stream_field]
    return Field(name, type_, read, default, client_default or s.server_default, s.update, description,
                 stream_field=stream_field)


_COMMON_HEAD = (
    _b("bucket", "name", "string", _bucket, "required",
       "Bucket name (letters, digits, `_`, `-`); the stream is `KV_<bucket>` / `OBJ_<bucket>`."),
    _b("description", "description", "string", cat.text(), '""', "Free text."),
)
_COMMON_TAIL = (
    _b("storage", "storage", "file|memory", cat.choice(STORAGE, "file"), "file", "Where the data is stored."),
    _b("replicas", "num_replicas", "whole number 1..5", cat.whole(1, 1), "1", "Copies in a cluster."),
    _b("compression", "compression", "none|s2", cat.choice(COMPRESSION, "none"), "none",
       "On-disk compression of the bucket's stream."),
    _b("metadata", "metadata", "map of strings", cat.metadata(), "{}", "Free key/values on the bucket's stream."),
)

KV_CATALOGUE: tuple[Field, ...] = _COMMON_HEAD + (
    _b("history", "max_msgs_per_subject", "whole number 1..64", cat.whole(1, 1), "1", "Revisions kept per key.",
       "1 (clients)"),
    _b("ttl", "max_age", "duration", cat.duration(), "0 (forever)", "Age after which a value expires."),
    _b("max_bytes", "max_bytes", "size", cat.size_limit(), "-1 (unlimited)",
       "Bucket size; counts against the account's quota times replicas."),
    _b("max_value_size", "max_msg_size", "size", cat.size_limit(), "-1 (unlimited)", "Largest value."),
    _b("direct", "allow_direct", "bool", cat.flag(True), "true", "Reads as direct gets, as nats.go makes buckets.",
       "false (nats-py), true (nats.go)"),
    _b("limit_marker_ttl", "subject_delete_marker_ttl", "duration", cat.duration(), "0 (off)",
       "Leave a marker with this TTL when ttl expires a key (server 2.11+)."),
) + _COMMON_TAIL

OBJECT_STORE_CATALOGUE: tuple[Field, ...] = _COMMON_HEAD + (
    _b("ttl", "max_age", "duration", cat.duration(), "0 (forever)", "Age after which an object expires."),
    _b("max_bytes", "max_bytes", "size", cat.size_limit(), "-1 (unlimited)",
       "Store size; counts against the account's quota times replicas."),
) + _COMMON_TAIL


def stream_to_input(catalogue: cat.Catalogue) -> dict[str, str]:
    """Stream field -> the bucket input that sets it (names replaced inputs in a diff)."""
    return {f.stream_field: f.name for f in catalogue if f.stream_field}
