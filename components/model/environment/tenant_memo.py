"""Tenants checked once, kept between runs: a tenant whose YAML did not change is not read again.

Why: checking a tenant (its domains, streams and consumers through the JetStream catalogue, its
names, quotas and users) is most of what loading a large environment costs: 15 of the 21 s a
10,000-tenant file took on this project's 2-core machine. The estate driver loads the whole file on
every command, so without this an onboarding at 10,000 tenants paid for checking the 9,999 that
did not change.

What a kept tenant depends on is all in its key: the tenant's own mapping as the YAML parser
returned it (its ``repr``: keys in file order, merge keys already applied), everything the reader
takes from the rest of the file (``TenantContext``: prefix, servers, tiers, layout,
``every_tenant``, roles) and the model's source (``fingerprint.py``). Only tenants read without a
problem are kept, so a file with a mistake is always reported in full. The checks across tenants
(duplicate ids, names that collide, the servers' capacity) still run over every tenant each time.
Entries not used by a load are dropped when it is saved, so the file holds one estate's tenants.

The YAML itself is the other part of the cost (6 of the 21 s; PyPI's libyaml still resolves every
scalar's type in Python). ``parse`` splits the block list under ``tenants:`` into one piece of text
per tenant and parses only the pieces it has not seen, with the rest of the file around them, so
the document is the one a full parse gives. It falls back to the full parse (``schema.parse_yaml``)
when the section is not a block list at the top level, when it holds an anchor or alias (a piece
would then depend on another), and when the reduced text does not parse, so a YAML error is always
reported with the lines of the file itself.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import re
from typing import Any, Optional

import yaml

from components.model.environment.model import Tenant
from components.model.environment.schema import parse_yaml, strict_load
from components.model.errors import Problems
from components.model.fingerprint import model_fingerprint

#: An anchor or alias token (``&x``, ``*x``) where YAML allows one; false hits only cost speed.
_ANCHOR_OR_ALIAS = re.compile(r"(?:^|[\s\[{,])[&*][^\s,\]}]")
_TENANTS_KEY = re.compile(r"^tenants:[ \t]*(?:#.*)?$")


class TenantMemo:
    """Checked tenants by key, read from and saved to ``path`` (a pickle the driver owns)."""

    def __init__(self, path: str):
        self.path = path
        self._kept: dict[bytes, Tenant] = {}
        self._used: dict[bytes, Tenant] = {}
        self._pieces: dict[bytes, Any] = {}        # a tenant's text -> its parsed mapping
        self._pieces_used: dict[bytes, Any] = {}
        self.hits = 0
        self.parsed_pieces = 0
        if os.path.exists(path):
            with open(path, "rb") as f:
                made_by, kept, pieces = pickle.load(f)  # noqa: S301 - written by this project's driver under .state
            if made_by == model_fingerprint() and isinstance(kept, dict) and isinstance(pieces, dict):
                self._kept, self._pieces = kept, pieces

    def parse(self, text: str, problems: Problems) -> Any:
        """The document of ``text``, as ``schema.parse_yaml`` returns it, parsing only the tenants
        whose text this memo has not seen."""
        split = split_tenants(text)
        if split is None:
            return parse_yaml(text, problems)
        head, pieces, tail = split
        digests = [hashlib.sha256(p.encode("utf-8")).digest() for p in pieces]
        unseen = [i for i, d in enumerate(digests) if d not in self._pieces]
        try:
            doc = strict_load(head + "".join(pieces[i] for i in unseen) + tail)
        except yaml.YAMLError:
            return parse_yaml(text, problems)   # reported with the file's own lines
        if not isinstance(doc, dict):
            return parse_yaml(text, problems)
        fresh = doc.get("tenants") or []
        if not isinstance(fresh, list) or len(fresh) != len(unseen):
            return parse_yaml(text, problems)
        parsed = dict(zip(unseen, fresh))
        tenants = []
        for i, d in enumerate(digests):
            raw = parsed[i] if i in parsed else self._pieces[d]
            self._pieces_used[d] = raw
            tenants.append(raw)
        self.parsed_pieces += len(unseen)
        doc["tenants"] = tenants
        return doc

    def scope(self, context: Any) -> "MemoScope":
        """The keys of tenants read in ``context`` (the ``TenantContext`` of one load)."""
        return MemoScope(hashlib.sha256(repr(context).encode("utf-8") + model_fingerprint()).digest())

    def get(self, key: bytes) -> Optional[Tenant]:
        """The tenant kept under ``key``, if any."""
        tenant = self._kept.get(key) or self._used.get(key)
        if tenant is not None:
            self._used[key] = tenant
            self.hits += 1
        return tenant

    def put(self, key: bytes, tenant: Tenant) -> None:
        """Keeps ``tenant``, read without a problem, under ``key``."""
        self._used[key] = tenant

    def save(self) -> None:
        """Writes the tenants used by this load (only when they differ from what was read)."""
        if self._used.keys() == self._kept.keys() and self._pieces_used.keys() == self._pieces.keys():
            return
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            pickle.dump((model_fingerprint(), self._used, self._pieces_used), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.path)
        self._kept, self._pieces = dict(self._used), dict(self._pieces_used)


class MemoScope:
    """A memo's keys for one context: ``key(raw)`` of a tenant's raw YAML mapping."""

    def __init__(self, context_digest: bytes):
        self._context = context_digest

    def key(self, raw: Any) -> bytes:
        """The key of the tenant written as ``raw`` in this context."""
        return hashlib.sha256(self._context + repr(raw).encode("utf-8")).digest()


def split_tenants(text: str) -> Optional[tuple[str, list[str], str]]:
    """``text`` as the lines before the tenants, one piece of text per tenant, and the lines after.

    The tenants are the items of the top-level block list under ``tenants:``; None when the section
    is not such a list or holds an anchor or alias.
    """
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _TENANTS_KEY.match(line)), None)
    if start is None:
        return None
    first = next((i for i in range(start + 1, len(lines)) if _content(lines[i])), None)
    if first is None or not lines[first].lstrip(" ").startswith("- "):
        return None
    indent = len(lines[first]) - len(lines[first].lstrip(" "))
    marker = " " * indent + "- "
    starts, end = [first], len(lines)
    for i in range(first + 1, len(lines)):
        line = lines[i]
        if not _content(line):
            continue
        depth = len(line) - len(line.lstrip(" "))
        if line.startswith("\t"):
            return None
        if line.startswith(marker):
            starts.append(i)
        elif depth <= indent:
            end = i
            break
    pieces = ["".join(lines[a:b]) for a, b in zip(starts, [*starts[1:], end])]
    if any(_ANCHOR_OR_ALIAS.search(piece) for piece in pieces):
        return None
    return "".join(lines[:first]), pieces, "".join(lines[end:])


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")
