"""Names and id rules: the one place that says what an id, a server name and a name template are.

Changing how a name is rendered renames streams, consumers or buckets on the server (which means
replacing them and losing their data), so names are stable functions of the ids written in the
environment file. The templates themselves are the layout's (``layout.NameTemplates``; their
defaults are the names this project always gave, documented in ``docs/environments.md``):

- default ids (tenant, domain, consumer, bucket, customer, tier) match ``[a-z0-9][a-z0-9-]{0,62}``;
  ``_`` is not allowed in them, so turning ``-`` into ``_`` (``upper_snake``) is reversible and the
  only separator in a default derived name is the ``_`` the template puts between parts; a layout
  may declare another tenant id rule (``layout.tenant_id``);
- server names (streams, consumers, buckets) are at most 255 of ``A-Z a-z 0-9 _ -``: they become
  subject tokens of the JetStream API and file names on the server.

Different tenants live in different accounts, so equal names there would not clash on the server;
they are still refused (``estate_checks``) because dashboards, outputs and operators see all
accounts side by side.
"""
from __future__ import annotations

import re
import string
from typing import Optional, Sequence

from components.model import subjects

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ID_FIX = "use 1-63 lower-case letters, digits or '-', starting with a letter or digit (no dots, '_', '*' or '>')"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_NAME_LENGTH = 255


def upper_snake(token: str) -> str:
    """The UPPER form of a template value: ``acme-corp`` → ``ACME_CORP``."""
    return token.replace("-", "_").replace(".", "_").upper()


def render(template: str, **values: str) -> str:
    """Fill a name template; every value also has its upper-snake twin (``{TENANT}``)."""
    full = dict(values)
    for key, value in values.items():
        full[key.upper()] = upper_snake(value)
    return template.format_map(full)


def placeholders(template: str) -> list[str]:
    """The placeholder names a template uses (``"{TENANT}_{name}"`` → ``["TENANT", "name"]``).

    Raises ValueError on a malformed template (an unclosed ``{``).
    """
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def valid_server_name(name: str) -> bool:
    """What JetStream accepts for stream, consumer and bucket names (we keep to the safe subset)."""
    return 0 < len(name) <= MAX_NAME_LENGTH and NAME_PATTERN.match(name) is not None


def join_subject(*parts: Optional[str]) -> str:
    """The non-empty ``parts`` joined with dots: an unset prefix or tree leaves no empty token."""
    return ".".join(p for p in parts if p)


def valid_subject(subject: str, allow_wildcards: bool = True) -> bool:
    """True when ``subject`` is a NATS subject (``allow_wildcards``: ``*`` and a final ``>`` too)."""
    return subjects.is_valid_subject(subject, allow_wildcards)


def subjects_overlap(a: str, b: str) -> bool:
    """True when at least one concrete subject matches both patterns.

    JetStream refuses two streams in one account whose subjects overlap.
    """
    return subjects.subjects_overlap(a, b)


def subject_within(inner: str, outer: str) -> bool:
    """True when every subject matching ``inner`` also matches ``outer``."""
    return subjects.subject_contains(outer, inner)


def within_any(inner: str, outers: Sequence[str]) -> bool:
    """True when every subject matching ``inner`` also matches at least one of ``outers``."""
    return any(subject_within(inner, o) for o in outers)


def shard_of(tenant: str, shards: int, jump: bool = False) -> int:
    """The ingest shard of a tenant: rendezvous hashing of its id, or jump hashing with ``jump``.

    Jump hashing is for shard stacks, whose counts reach hundreds (see ``identity.sharding``).
    Adding or removing tenants never moves another tenant; raising the shard count moves only the
    tenants that land on the new shard, a visible change in the preview (their imports move).
    """
    from components.model.identity import sharding  # identity imports the id rules from here

    return sharding.jump_shard_of(tenant, shards) if jump else sharding.shard_of(tenant, shards)
