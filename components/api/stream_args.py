"""``StreamArgs``: the fields of ``stream_fields.STREAM_CATALOGUE``, one typed attribute each.

Every field but ``name`` is optional: ``None`` leaves it to the catalogue's default (filled by the
provider's ``check``, see ``_props``). Durations are strings (``"24h"``, ``"90s"``, ``"1h30m"``) or
whole nanoseconds; sizes are strings (``"512MiB"``, ``"1GB"``) or whole bytes. "A change" in each
field's text says what the server allows on an existing stream: in place (the UPDATE API), or a
replacement (delete and create: the stream's messages are lost, and the preview shows it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Optional, Sequence, Union

import pulumi

Duration = Union[str, int]
"""A duration: ``"24h"``, ``"500ms"``, ``"1h30m"``, or whole nanoseconds."""
Size = Union[str, int]
"""A size: ``"512MiB"``, ``"1GB"``, ``"64KiB"``, or whole bytes; 0 or -1 mean unlimited."""


@dataclass(frozen=True)
class SubjectTransform:
    """A subject mapping ``{src, dest}`` (``$1`` / ``{{wildcard(n)}}`` in ``dest``)."""

    src: Optional[str] = None
    """Subjects it applies to; the server keeps an omitted one as ``""`` (every subject)."""
    dest: Optional[str] = None
    """The subject written instead."""


@dataclass(frozen=True)
class StreamSource:
    """A stream another stream mirrors or sources."""

    name: str
    """The origin stream."""
    filter_subject: Optional[str] = None
    """Only this subject of the origin (excludes ``subject_transforms``)."""
    opt_start_seq: Optional[int] = None
    """First origin sequence to copy."""
    opt_start_time: Optional[str] = None
    """First origin message time to copy (RFC 3339)."""
    external: Optional[Mapping[str, str]] = None
    """Another account or domain: ``{api: "$JS.<domain>.API", deliver: "<prefix>"}``."""
    subject_transforms: Optional[Sequence[SubjectTransform]] = None
    """Rewrite the copied subjects (excludes ``filter_subject``)."""


@dataclass(frozen=True)
class Republish:
    """Publish a copy of each stored message."""

    dest: str
    """Where the copy goes; must not loop back into the stream."""
    src: Optional[str] = None
    """Which stored subjects are republished; the server's default is ``>``."""
    headers_only: Optional[bool] = None
    """Republish headers and size only."""


@dataclass(frozen=True)
class ConsumerLimits:
    """Defaults and caps the stream sets for its consumers."""

    inactive_threshold: Optional[Duration] = None
    """Longest inactive threshold a consumer may have (and the default)."""
    max_ack_pending: Optional[int] = None
    """Largest max_ack_pending a consumer may have (and the default)."""


@dataclass(frozen=True)
class StreamArgs:
    """A JetStream stream's configuration (server field names)."""

    name: pulumi.Input[str]
    """Stream name: no dots, spaces, `*` or `>`, at most 255 characters. Default: required; a change: replace."""
    description: Optional[pulumi.Input[str]] = None
    """Free text shown by `nats stream info`. Default: ""; a change: in place."""
    subjects: Optional[Sequence[pulumi.Input[str]]] = None
    """Subjects the stream captures; none may overlap another of the same stream or account. Default: `[name]` unless
    mirror/sources; a change: in place."""
    retention: Optional[Literal["limits", "interest", "workqueue"]] = None
    """When messages are removed: by limits, once every consumer acked, or once one consumer acked. Default: limits; a
    change: replace to or from workqueue, else in place."""
    storage: Optional[Literal["file", "memory"]] = None
    """Where messages are stored. Default: file; a change: replace."""
    discard: Optional[Literal["old", "new"]] = None
    """At a limit, drop the oldest messages or refuse new ones. Default: old; a change: in place."""
    max_age: Optional[Duration] = None
    """Oldest message kept; 0 keeps forever, else at least 100ms. Default: 0 (forever); a change: in place."""
    duplicate_window: Optional[Duration] = None
    """Window for `Nats-Msg-Id` deduplication; at most max_age. Default: 2m, or max_age if shorter (none for
    mirrors/sources); a change: in place."""
    max_msgs: Optional[int] = None
    """Most messages kept. Default: -1 (unlimited); a change: in place."""
    max_bytes: Optional[Size] = None
    """Most bytes kept; counts against the account's quota times num_replicas. Default: -1 (unlimited); a change: in
    place."""
    max_msg_size: Optional[Size] = None
    """Largest message accepted; at most max_bytes and 2147483647. Default: -1 (unlimited); a change: in place."""
    max_msgs_per_subject: Optional[int] = None
    """Most messages kept per subject (a KV bucket's history). Default: -1 (unlimited); a change: in place."""
    max_consumers: Optional[int] = None
    """Most consumers. Default: -1 (unlimited); a change: in place."""
    num_replicas: Optional[int] = None
    """Copies in a cluster (a single server holds only 1). Default: 1; a change: in place."""
    compression: Optional[Literal["none", "s2"]] = None
    """S2 compression of the stored message blocks (file storage; memory streams accept and keep the setting). Default:
    none; a change: in place."""
    subject_delete_marker_ttl: Optional[Duration] = None
    """Leave a delete marker with this TTL when max_age removes a subject's last message; at least 1s; turns on
    allow_msg_ttl and allow_rollup_hdrs. Default: 0 (off); a change: in place."""
    metadata: Optional[Mapping[str, str]] = None
    """Free key/values; keys starting `_nats.` belong to the server. Default: {}; a change: in place."""
    mirror: Optional[StreamSource] = None
    """Copy another stream: `{name, filter_subject, opt_start_seq, opt_start_time, external, subject_transforms}`; a
    mirror has no subjects, sources or duplicate_window. Default: none; a change: replace when added or changed
    (removing it promotes the stream), else in place."""
    sources: Optional[Sequence[StreamSource]] = None
    """Streams to aggregate, each like a mirror; filter_subject and subject_transforms exclude each other. Default: [];
    a change: in place."""
    subject_transform: Optional[SubjectTransform] = None
    """Rewrite incoming subjects: `{src, dest}` with `$1`/`{{wildcard(n)}}` in dest. Default: none; a change: in
    place."""
    republish: Optional[Republish] = None
    """Publish a copy of each stored message: `{src (default >), dest, headers_only}`; dest must not loop back into the
    stream. Default: none; a change: in place."""
    consumer_limits: Optional[ConsumerLimits] = None
    """Defaults and caps for the stream's consumers: `{inactive_threshold, max_ack_pending}`. Default: {}; a change: in
    place."""
    allow_direct: Optional[bool] = None
    """Answer direct gets (`$JS.API.DIRECT.GET`) from any replica. Default: false; a change: in place."""
    mirror_direct: Optional[bool] = None
    """A mirror answers direct gets for its origin (set by the server from the origin). Default: false; a change: in
    place."""
    sealed: Optional[bool] = None
    """No more writes, deletes or purges; only by an update, never at creation. Default: false; a change: refused when
    turned off, else in place."""
    deny_delete: Optional[bool] = None
    """Refuse deleting single messages. Default: false; a change: replace when turned off, else in place."""
    deny_purge: Optional[bool] = None
    """Refuse purges. Default: false; a change: replace when turned off, else in place."""
    allow_rollup_hdrs: Optional[bool] = None
    """Allow `Nats-Rollup` headers (needs deny_purge false). Default: false; a change: in place."""
    allow_msg_ttl: Optional[bool] = None
    """Allow per-message TTLs (`Nats-TTL`). Default: false; a change: replace when turned off, else in place."""
    discard_new_per_subject: Optional[bool] = None
    """With discard new and max_msgs_per_subject: refuse per subject. Default: false; a change: in place."""
    no_ack: Optional[bool] = None
    """Send no publish acks (needed for subjects with a leading wildcard). Default: false; a change: in place."""
