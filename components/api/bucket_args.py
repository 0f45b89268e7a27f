"""``KeyValueArgs`` and ``ObjectStoreArgs``: the fields of ``bucket_fields.KV_CATALOGUE`` and
``OBJECT_STORE_CATALOGUE``.

Each field sets one field of the bucket's stream (``KV_<bucket>`` / ``OBJ_<bucket>``), and costs
what a change to that stream field costs. The stream is the one nats-py and nats.go make for the
same settings, so an application that binds the bucket by name gets it as declared here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Optional

import pulumi

from components.api.stream_args import Duration, Size


@dataclass(frozen=True)
class KeyValueArgs:
    """A key-value bucket's configuration."""

    bucket: pulumi.Input[str]
    """Bucket name (letters, digits, `_`, `-`); the stream is `KV_<bucket>` / `OBJ_<bucket>`. Default: required; a
    change: replace."""
    description: Optional[pulumi.Input[str]] = None
    """Free text. Default: ""; a change: in place."""
    history: Optional[int] = None
    """Revisions kept per key. Default: 1; a change: in place."""
    ttl: Optional[Duration] = None
    """Age after which a value expires. Default: 0 (forever); a change: in place."""
    max_bytes: Optional[Size] = None
    """Bucket size; counts against the account's quota times replicas. Default: -1 (unlimited); a change: in place."""
    max_value_size: Optional[Size] = None
    """Largest value. Default: -1 (unlimited); a change: in place."""
    direct: Optional[bool] = None
    """Reads as direct gets, as nats.go makes buckets. Default: true; a change: in place."""
    limit_marker_ttl: Optional[Duration] = None
    """Leave a marker with this TTL when ttl expires a key (server 2.11+). Default: 0 (off); a change: in place."""
    storage: Optional[Literal["file", "memory"]] = None
    """Where the data is stored. Default: file; a change: replace."""
    replicas: Optional[int] = None
    """Copies in a cluster. Default: 1; a change: in place."""
    compression: Optional[Literal["none", "s2"]] = None
    """On-disk compression of the bucket's stream. Default: none; a change: in place."""
    metadata: Optional[Mapping[str, str]] = None
    """Free key/values on the bucket's stream. Default: {}; a change: in place."""


@dataclass(frozen=True)
class ObjectStoreArgs:
    """An object store bucket's configuration."""

    bucket: pulumi.Input[str]
    """Bucket name (letters, digits, `_`, `-`); the stream is `KV_<bucket>` / `OBJ_<bucket>`. Default: required; a
    change: replace."""
    description: Optional[pulumi.Input[str]] = None
    """Free text. Default: ""; a change: in place."""
    ttl: Optional[Duration] = None
    """Age after which an object expires. Default: 0 (forever); a change: in place."""
    max_bytes: Optional[Size] = None
    """Store size; counts against the account's quota times replicas. Default: -1 (unlimited); a change: in place."""
    storage: Optional[Literal["file", "memory"]] = None
    """Where the data is stored. Default: file; a change: replace."""
    replicas: Optional[int] = None
    """Copies in a cluster. Default: 1; a change: in place."""
    compression: Optional[Literal["none", "s2"]] = None
    """On-disk compression of the bucket's stream. Default: none; a change: in place."""
    metadata: Optional[Mapping[str, str]] = None
    """Free key/values on the bucket's stream. Default: {}; a change: in place."""
