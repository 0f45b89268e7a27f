"""A team's layout: how its tenant subjects, ids and names are spelled (pure).

Every team that wrote a design in ``shared/seeds`` has its own spelling, and most of them cannot
change it (a subject schema marked "v1 IMMUTABLE", dashboards keyed on stream names). So nothing
here is fixed: the environment's ``layout`` section gives

- ``tenant_id``: the rule a tenant id must follow (``acme``, ``t-qa``, ``acme_corp``);
- ``subjects.root``: the template of the tokens a tenant owns (``{tenant}``, ``xorb.{tenant}``,
  ``VENTURE.{tenant}``), case kept; ``subjects.trees``: the trees below the root the tenant exports
  (today ``logs``, ``events``, ``otel``; an empty list means the whole root is one tree);
  ``subjects.stored``: the tree under which a domain's ``live`` stream captures ``<domain>.>``
  (``events``; empty: domains sit right below the root); ``subjects.schema``: an optional rule per
  token below the root (enum, pattern, length range); ``subjects.legacy``: whether unprefixed
  subjects (``events.x``) keep working during a migration (``prefixed`` | ``legacy`` | ``both``);
- ``names``: templates of the names of accounts, users, domain streams, consumers, buckets,
  dead-letter streams, the platform account and its streams.

The default layout is the one the project always had, so an environment without ``layout`` keeps
every name and subject it had (renaming a stream is a replace: its messages would be lost).

Templates use ``{placeholder}`` fields: lower case as written in the file (``{tenant}``), and an
upper-snake twin (``{TENANT}``: ``acme-corp`` → ``ACME_CORP``) for every field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Optional, Protocol

from components.model.environment.names import ID_FIX, ID_PATTERN, placeholders, render
from components.model.subjects import subject_problem

DEFAULT_TENANT_ID = ID_PATTERN
DEFAULT_TENANT_ID_FIX = ID_FIX
DEFAULT_TREES = ("logs", "events", "otel")
DELIVER_TREE = "deliver"
"""Where push consumers deliver unless a layout says otherwise: a tree of the tenant's own that no
stream captures (a push consumer whose deliver subject its stream captures would feed itself)."""
DELIVER_OUTSIDE = "_deliver.{root}"
"""The default for a layout without trees, whose streams may capture the whole root."""


class LegacyMode(str, Enum):
    """Which subject spellings a tenant's publishers may use while they move to prefixed subjects.

    Seed 001 §1.2.4 / §1.3.4: during the move to tenant-prefixed subjects, collectors keep
    publishing ``events.x``; an account subject mapping turns that into ``<root>.events.x``.
    """

    PREFIXED = "prefixed"   # only ``<root>.<tree>.…`` is accepted
    LEGACY = "legacy"       # publishers use ``<tree>.…``; the account maps it under the root
    BOTH = "both"           # both spellings are accepted; the stored subject is always prefixed


@dataclass(frozen=True)
class IdRule:
    """The tenant id rule of a layout: ids must match ``pattern``; ``fix`` is the hint a mismatch shows."""

    pattern: re.Pattern[str] = DEFAULT_TENANT_ID
    fix: str = DEFAULT_TENANT_ID_FIX

    def problem(self, value: str) -> Optional[str]:
        if self.pattern.fullmatch(value):
            return None
        return f"{value!r} is not valid: the layout's tenant ids match {self.pattern.pattern!r}"


@dataclass(frozen=True)
class TokenRule:
    """One token of the subject schema below the tenant root (seed 002's v1 schema)."""

    name: str
    enum: tuple[str, ...] = ()
    pattern: Optional[re.Pattern[str]] = None
    min_length: int = 1
    max_length: int = 255

    def problem(self, token: str) -> Optional[str]:
        if self.enum and token not in self.enum:
            return f"{self.name} {token!r} is not one of {', '.join(self.enum)}"
        if not self.min_length <= len(token) <= self.max_length:
            return f"{self.name} {token!r} is {len(token)} characters long, allowed {self.min_length}-{self.max_length}"
        if self.pattern is not None and not self.pattern.fullmatch(token):
            return f"{self.name} {token!r} does not match {self.pattern.pattern!r}"
        return None

    @property
    def permission_token(self) -> tuple[str, ...]:
        """What a publish permission can say about this token: the enum values, or ``*`` (a
        pattern or length rule cannot be written as a subject, so the linter checks it)."""
        return self.enum or ("*",)


@dataclass(frozen=True)
class SubjectLayout:
    """Where a tenant's subjects live: its root, the trees under it and the schema of their tokens.

    ``stored`` is the tree streams store; ``legacy`` says how unprefixed publishers are handled;
    ``deliver`` is the tree push consumers deliver to.
    """

    root: str = "{prefix}.{tenant}"   # an unset subject_prefix leaves just the tenant token
    trees: tuple[str, ...] = DEFAULT_TREES
    stored: str = "events"
    schema: tuple[TokenRule, ...] = ()
    legacy: LegacyMode = LegacyMode.PREFIXED
    deliver: str = DELIVER_TREE


@dataclass(frozen=True)
class NameTemplates:
    """Templates of derived names; the placeholders each may use are in ``PLACEHOLDERS``."""

    account: str = "{tenant}"
    user: str = "{tenant}-{user}"
    stream: str = "{TENANT}_{DOMAIN}_{CLASS}"
    consumer: str = "{stream}_{CONSUMER}"
    kv: str = "{tenant}_{name}"
    object_store: str = "{tenant}_{name}"
    dead_letter: str = "{TENANT}_DEAD_LETTERS"
    platform_account: str = "platform-ingest-{shard}"
    platform_stream: str = "PLATFORM_{TREE}"
    platform_consumer: str = "{stream}_{CONSUMER}"


PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "root": ("tenant", "prefix", "stack"),
    "account": ("tenant", "stack"),
    "user": ("tenant", "user", "account"),
    "stream": ("tenant", "domain", "class", "stack"),
    "consumer": ("tenant", "stream", "consumer", "domain", "class"),
    "kv": ("tenant", "name", "stack"),
    "object_store": ("tenant", "name", "stack"),
    "dead_letter": ("tenant", "stack"),
    "platform_account": ("shard", "stack"),
    "platform_stream": ("tree", "stack"),
    "platform_consumer": ("stream", "consumer", "tree"),
    # Items of layout.every_tenant and of a tenant's own streams/consumers/buckets.
    "item": ("tenant", "root", "account", "stack"),
}


@dataclass(frozen=True)
class Layout:
    """The naming contract of an environment: tenant id rule, subject layout and name templates.

    Every derived subject and object name is rendered from here, so one layout change renames
    consistently (``stack`` and ``prefix`` fill the templates' ``{stack}`` and ``{prefix}``).
    """

    tenant_id: IdRule = IdRule()
    subjects: SubjectLayout = SubjectLayout()
    names: NameTemplates = NameTemplates()
    stack: str = ""
    prefix: Optional[str] = None
    extra: Mapping[str, str] = field(default_factory=dict)

    # -- subjects --------------------------------------------------------------------------------

    def root(self, tenant: str) -> str:
        """The tokens the tenant owns, without a wildcard (``xorb.t-qa``)."""
        root = render(self.subjects.root, tenant=tenant, prefix=self.prefix or "", stack=self.stack)
        return ".".join(t for t in root.split(".") if t)  # an empty {prefix} leaves no empty token

    def tree(self, tenant: str, tree: str) -> str:
        """One tree of the tenant with its wildcard: ``acme.logs.>``; ``""`` is the whole root."""
        return f"{self.root(tenant)}.{tree}.>" if tree else f"{self.root(tenant)}.>"

    def trees(self, tenant: str) -> dict[str, str]:
        """Exported trees by name: ``{"logs": "acme.logs.>", …}``, or ``{"": "VENTURE.x.>"}``."""
        return {t: self.tree(tenant, t) for t in self.subjects.trees} or {"": self.tree(tenant, "")}

    def all_tenants_tree(self, tree: str) -> str:
        """A tree over every tenant, the tenant token a ``*``: ``*.logs.>``, ``xorb.*.>``."""
        wild = self.root("\x00").replace("\x00", "*")
        return f"{wild}.{tree}.>" if tree else f"{wild}.>"

    def stored_root(self, tenant: str) -> str:
        """Where domain streams capture: ``acme.events`` (``<root>.<domain>.>`` below it)."""
        return f"{self.root(tenant)}.{self.subjects.stored}" if self.subjects.stored else self.root(tenant)

    def deliver_root(self, tenant: str) -> str:
        """Where the tenant's push consumers deliver: ``subjects.deliver``, a tree below the root
        (``acme.deliver``) or a template with ``{root}`` (``_deliver.{root}``, the default when the
        tenant's streams may capture its whole root, so a push consumer never feeds its own stream)."""
        deliver = self.subjects.deliver
        if "{root}" in deliver:
            return deliver.replace("{root}", self.root(tenant))
        return f"{self.root(tenant)}.{deliver}"

    def publish_subjects(self, tenant: str) -> tuple[str, ...]:
        """What a tenant application may publish: the whole root, or with a schema exactly the
        subjects it allows (enum tokens spelled out, others ``*``), so the server refuses a
        non-conforming enum token with a permissions violation."""
        if not self.subjects.schema:
            return (f"{self.root(tenant)}.>",)
        subjects = [self.root(tenant)]
        for rule in self.subjects.schema:
            subjects = [f"{s}.{t}" for s in subjects for t in rule.permission_token]
        return tuple(subjects)

    def legacy_mappings(self, tenant: str) -> dict[str, str]:
        """Account subject mappings from unprefixed to prefixed trees (``events.>`` → ``acme.events.>``)."""
        if self.subjects.legacy is LegacyMode.PREFIXED:
            return {}
        return {f"{t}.>": self.tree(tenant, t) for t in self.subjects.trees}

    def check_subject(self, subject: str, tenant: Optional[str] = None, allow_wildcards: bool = False) -> list[str]:
        """Why a subject breaks the layout (empty list: it conforms). ``tenant`` None means any
        tenant id that follows the id rule; with ``allow_wildcards`` a ``*`` passes any token rule
        and a ``>`` every remaining one (a subscription pattern)."""
        why = subject_problem(subject, allow_wildcards=allow_wildcards)
        if why:
            return [why]
        tokens = subject.split(".")
        template = self.root("\x00").split(".")
        if len(tokens) < len(template) and not (allow_wildcards and ">" in subject.split(".")):
            return [f"{subject!r} is shorter than the tenant root {self.subjects.root!r}"]
        problems: list[str] = []
        if allow_wildcards and ">" in tokens:
            tokens = tokens[:tokens.index(">")]
            template = template[:len(tokens)] if len(tokens) < len(template) else template
            open_end = True
        else:
            open_end = False
        for want, got in zip(template, tokens):
            if got == "*" and allow_wildcards:
                continue
            if want == "\x00":
                if tenant is not None and got != tenant:
                    problems.append(f"tenant token {got!r} is not {tenant!r}")
                elif tenant is None and self.tenant_id.problem(got):
                    problems.append(f"tenant {self.tenant_id.problem(got)}")
            elif want != got:
                problems.append(f"{subject!r} does not start with {self.subjects.root!r} (token {got!r} ≠ {want!r})")
                return problems
        rest = tokens[len(template):]
        schema = self.subjects.schema
        if schema:
            if open_end:
                schema = schema[:len(rest)]
            if len(rest) != len(schema):
                problems.append(f"{subject!r} has {len(rest)} tokens below the root, the schema has {len(schema)} "
                                f"({'.'.join(r.name for r in schema)})")
            for rule, token in zip(schema, rest):
                if token == "*" and allow_wildcards:
                    continue
                why = rule.problem(token)
                if why:
                    problems.append(why)
        return problems


def template_problem(template: str, kind: str) -> Optional[str]:
    """Why ``template`` cannot be a ``kind`` template (unknown placeholder, bad braces), or None."""
    allowed = PLACEHOLDERS[kind]
    try:
        used = placeholders(template)
    except ValueError as exc:
        return f"{template!r} is not a template: {exc}"
    for name in used:
        if name.lower() not in allowed or (name != name.lower() and name != name.upper()):
            spelled = ", ".join("{" + a + "}" for a in allowed)
            return f"{template!r} uses {{{name}}}; a {kind} template may use {spelled} (or their UPPER forms)"
    return None


class _Reporter(Protocol):
    def add(self, path: str, reason: str, fix: str) -> None: ...


def render_item(r: _Reporter, raw: Mapping[str, Any], path: str, values: Mapping[str, str]) -> Optional[dict[str, Any]]:
    """A declared item (stream, consumer, bucket) with every string filled from ``values``.

    The placeholders are ``{tenant}``, ``{root}``, ``{account}``, ``{stack}`` and their UPPER forms;
    None, with a problem naming the field, when a template uses a placeholder that is not known there.
    """
    ok = True

    def fill(value: Any, where: str) -> Any:
        nonlocal ok
        if isinstance(value, str) and "{" in value:
            try:
                return render(value, **values)
            except (KeyError, ValueError, IndexError) as exc:
                known = ", ".join("{" + k + "}" for k in values) or "none"
                r.add(where, f"{value!r} is not a template here ({exc})", f"use only {known}")
                ok = False
                return value
        if isinstance(value, Mapping):
            return {k: fill(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    out = fill(dict(raw), path)
    return out if ok else None
