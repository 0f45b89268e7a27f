"""Derived names and subjects: pure, stable functions of the ids written in the environment file.

Changing any function here renames streams, consumers or buckets on the server (which means
replacing them and losing their data), so the rules are fixed and documented in
``docs/environments.md``:

- ids (tenant, domain, consumer, bucket, customer) match ``[a-z0-9][a-z0-9-]{0,62}``; ``_`` is not
  allowed in ids, so turning ``-`` into ``_`` is reversible and the only separator in a derived
  name is the ``_`` we put between parts.
- stream ``<TENANT>_<DOMAIN>_<CLASS>`` in upper snake case (``acme-corp``/``billing``/live →
  ``ACME_CORP_BILLING_LIVE``); a tenant's dead-letter stream ``<TENANT>_DEAD_LETTERS``; a platform
  ingest stream ``PLATFORM_<CLASS>``.
- consumer ``<STREAM>_<CONSUMER>``.
- KV bucket and object store ``<tenant>_<name>`` (keeps the lower case the apps type).
- subjects ``[<prefix>.]<tenant>.<root>.…`` with the roots ``logs``, ``events`` and ``otel``.

Different tenants live in different accounts, so equal names there would not clash on the server;
they are still refused (see ``spec_checks``) because dashboards, outputs and operators see all
tenants side by side.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from components.model import subjects
from components.model.identity import sharding

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ID_FIX = "use 1-63 lower-case letters, digits or '-', starting with a letter or digit (no dots, '_', '*' or '>')"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_NAME_LENGTH = 255

ROOTS = ("logs", "events", "otel")
"""The three subject roots of every tenant, in this order."""

DELIVER_ROOT = "deliver"
"""Subscribe-only root for push consumers' deliver subjects: outside every stream's subjects, so a
push consumer never feeds its own stream."""


def upper_snake(token: str) -> str:
    return token.replace("-", "_").upper()


def stream_name(tenant: str, domain: str, stream_class: str) -> str:
    return f"{upper_snake(tenant)}_{upper_snake(domain)}_{upper_snake(stream_class)}"


def dead_letter_stream_name(tenant: str) -> str:
    return f"{upper_snake(tenant)}_DEAD_LETTERS"


def platform_stream_name(root: str) -> str:
    return f"PLATFORM_{upper_snake(root)}"


def consumer_name(stream: str, consumer: str) -> str:
    return f"{stream}_{upper_snake(consumer)}"


def bucket_name(tenant: str, bucket: str) -> str:
    """Name of a tenant's KV bucket or object store on the server."""
    return f"{tenant}_{bucket}"


def valid_server_name(name: str) -> bool:
    """What JetStream accepts for stream, consumer and bucket names (we keep to the safe subset)."""
    return 0 < len(name) <= MAX_NAME_LENGTH and NAME_PATTERN.match(name) is not None


def join_subject(*parts: Optional[str]) -> str:
    return ".".join(p for p in parts if p)


def tenant_root(prefix: Optional[str], tenant: str, root: str) -> str:
    """``[<prefix>.]<tenant>.<root>`` without the trailing wildcard."""
    return join_subject(prefix, tenant, root)


def valid_subject(subject: str, allow_wildcards: bool = True) -> bool:
    return subjects.is_valid_subject(subject, allow_wildcards)


def subjects_overlap(a: str, b: str) -> bool:
    """True when at least one concrete subject matches both patterns (JetStream refuses two
    streams in one account whose subjects overlap)."""
    return subjects.subjects_overlap(a, b)


def subject_within(inner: str, outer: str) -> bool:
    """True when every subject matching ``inner`` also matches ``outer``."""
    return subjects.subject_contains(outer, inner)


def within_any(inner: str, outers: Sequence[str]) -> bool:
    return any(subject_within(inner, o) for o in outers)


def shard_of(tenant: str, shards: int) -> int:
    """Ingest shard of a tenant: rendezvous hashing of its id (see ``identity.sharding``).

    Adding or removing tenants never moves another tenant; raising the shard count moves only the
    tenants that land on the new shard, a visible change in the preview (their imports move).
    """
    return sharding.shard_of(tenant, shards)
