"""The ``layout`` section: tenant id rule, subject root and schema, name templates (see ``layout``).

Every template is checked here for its placeholders; the names it renders are checked where they
are rendered (``tenants``, ``accounts``, ``checks``), so a bad name is reported with the
tenant that produced it.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

from components.model.environment.layout import (
    DELIVER_OUTSIDE,
    IdRule,
    Layout,
    LegacyMode,
    NameTemplates,
    SubjectLayout,
    TokenRule,
    template_problem,
)
from components.model.environment.schema import Reader, child, item
from components.model.subjects import subject_problem

LAYOUT_KEYS = ("tenant_id", "subjects", "names", "every_tenant")
TENANT_ID_KEYS = ("pattern", "description")
SUBJECT_KEYS = ("root", "trees", "stored", "schema", "legacy", "deliver")
TOKEN_KEYS = ("token", "enum", "pattern", "length")
NAME_KEYS = tuple(f.name for f in dataclasses.fields(NameTemplates))
_TREE = re.compile(r"^[A-Za-z0-9_-]+$")
# A tenant id becomes a subject token and part of stream names: whatever the rule, never these.
_NEVER_IN_ID = re.compile(r"[.*>\s{}]")


def read_layout(r: Reader, value: Any, path: str, stack: str, prefix: Optional[str]) -> Layout:
    """The ``layout`` section over the default layout: what the file leaves out keeps the default."""
    base = Layout(stack=stack, prefix=prefix)
    if value is None:
        return base
    m = r.mapping(value, path, LAYOUT_KEYS)
    if m is None:
        return base
    return dataclasses.replace(
        base,
        tenant_id=_read_id_rule(r, m.get("tenant_id"), child(path, "tenant_id")),
        subjects=_read_subjects(r, m.get("subjects"), child(path, "subjects")),
        names=_read_names(r, m.get("names"), child(path, "names")),
    )


def _read_id_rule(r: Reader, value: Any, path: str) -> IdRule:
    if value is None:
        return IdRule()
    m = r.mapping(value, path, TENANT_ID_KEYS, required=("pattern",))
    if m is None:
        return IdRule()
    pattern = _regex(r, m, "pattern", path)
    if pattern is None:
        return IdRule()
    desc = r.string(m, "description", path, default=f"match {pattern.pattern}")
    return IdRule(pattern=pattern, fix=f"use an id that {desc}" if desc and not desc.startswith("match") else str(desc))


def _regex(r: Reader, m: Any, key: str, path: str) -> Optional[re.Pattern[str]]:
    text = r.string(m, key, path)
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        r.add(child(path, key), f"{text!r} is not a regular expression: {exc}", "write a Python regular expression")
        return None


def _read_subjects(r: Reader, value: Any, path: str) -> SubjectLayout:
    if value is None:
        return SubjectLayout()
    m = r.mapping(value, path, SUBJECT_KEYS)
    if m is None:
        return SubjectLayout()
    out = SubjectLayout()
    root = r.string(m, "root", path, default=out.root)
    if root is not None:
        why = template_problem(root, "root")
        if why or "{tenant}" not in root:
            r.add(child(path, "root"), why or f"{root!r} has no {{tenant}} token",
                  "write the tenant's root as dot-separated tokens with one {tenant}, e.g. 'xorb.{tenant}'")
        else:
            out = dataclasses.replace(out, root=root)
    if "trees" in m:
        trees = [t for t in r.sequence(m["trees"], child(path, "trees"))]
        bad = [t for t in trees if not isinstance(t, str) or not _TREE.match(t)]
        if bad:
            r.add(child(path, "trees"), f"{bad[0]!r} is not a tree name",
                  "list single subject tokens (letters, digits, '_', '-'), or [] for the whole root")
        else:
            out = dataclasses.replace(out, trees=tuple(trees))
    if "stored" in m:
        stored = m["stored"]
        if stored is None or stored == "":
            out = dataclasses.replace(out, stored="")
        elif not isinstance(stored, str) or not _TREE.match(stored):
            r.add(child(path, "stored"), f"{stored!r} is not a tree name",
                  "one token, or '' for domains right below the root")
        else:
            out = dataclasses.replace(out, stored=stored)
    default_deliver = out.deliver if out.trees else DELIVER_OUTSIDE
    deliver = r.string(m, "deliver", path, default=default_deliver)
    if deliver is not None and subject_problem(deliver.replace("{root}", "x"), allow_wildcards=False):
        r.add(child(path, "deliver"), f"{deliver!r} is not a deliver tree",
              "one token below the root (deliver), or a subject template with {root} (_deliver.{root})")
        deliver = default_deliver
    legacy = r.choice(m, "legacy", path, LegacyMode, LegacyMode.PREFIXED) or LegacyMode.PREFIXED
    schema = tuple(rule for i, raw in enumerate(r.sequence(m.get("schema"), child(path, "schema")))
                   if (rule := _read_token(r, raw, item(child(path, "schema"), i))) is not None)
    if legacy is not LegacyMode.PREFIXED and not out.trees:
        r.add(child(path, "legacy"), "legacy subjects are mapped per tree, and this layout has no trees",
              "list subjects.trees or remove legacy")
    return dataclasses.replace(out, schema=schema, legacy=legacy, deliver=deliver or out.deliver)


def _read_token(r: Reader, raw: Any, path: str) -> Optional[TokenRule]:
    m = r.mapping(raw, path, TOKEN_KEYS, required=("token",))
    if m is None:
        return None
    name = r.string(m, "token", path)
    enum = [e for e in r.sequence(m.get("enum"), child(path, "enum"))]
    if any(not isinstance(e, str) or not _TREE.match(e) for e in enum):
        r.add(child(path, "enum"), "every value must be one subject token",
              "list literal tokens, e.g. [created, updated]")
        enum = []
    pattern = _regex(r, m, "pattern", path) if "pattern" in m else None
    lo, hi = 1, 255
    if "length" in m:
        length = m["length"]
        whole = isinstance(length, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in length)
        if not whole or len(length) != 2 or not 1 <= length[0] <= length[1]:
            r.add(child(path, "length"), f"{length!r} is not a length range", "write [min, max], e.g. [1, 32]")
        else:
            lo, hi = length
    if name is None:
        return None
    if not enum and pattern is None and "length" not in m:
        r.add(path, f"token {name!r} has no rule", "give it enum, pattern or length")
    return TokenRule(name=name, enum=tuple(enum), pattern=pattern, min_length=lo, max_length=hi)


def _read_names(r: Reader, value: Any, path: str) -> NameTemplates:
    if value is None:
        return NameTemplates()
    m = r.mapping(value, path, NAME_KEYS)
    if m is None:
        return NameTemplates()
    chosen: dict[str, str] = {}
    for key in NAME_KEYS:
        text = r.string(m, key, path)
        if text is None:
            continue
        why = template_problem(text, key)
        if why:
            r.add(child(path, key), why, "use only the placeholders listed")
        else:
            chosen[key] = text
    return dataclasses.replace(NameTemplates(), **chosen)


def id_problem(layout: Layout, tenant_id: str) -> Optional[str]:
    """Why ``tenant_id`` cannot be a tenant id in this layout, or None."""
    if _NEVER_IN_ID.search(tenant_id):
        return f"{tenant_id!r} is not valid: '.', '*', '>', braces and whitespace can not be in a subject token"
    return layout.tenant_id.problem(tenant_id)
