"""One row per JetStream field: how it is read, its defaults, what a change to it costs, and what
it means. Validation, normalization, the replace rules of ``diff`` and the field tables of
``docs/environments.md`` are all derived from these rows, so a field is added in one place.

A row's ``read`` turns the user's (or the server's) value into the canonical one; cross-field
defaults the server applies (``duplicate_window`` from ``max_age``, ``subjects`` from the name) stay
in each kind's ``_build`` because they need more than one field. ``update`` records the server rule
for changing a field on an existing object: the UPDATE API applies it (in place), the object must be
deleted and made again (replace), or the change is refused because a replacement would defeat the
setting itself (a sealed stream exists to be kept).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping, Optional, Sequence

from components.model.jetstream._fields import Fields


class Rule(str, Enum):
    """What changing a field on an existing object takes: the UPDATE API, a replacement, or a refusal."""

    IN_PLACE = "in place"
    REPLACE = "replace"
    REFUSED = "refused"


@dataclass(frozen=True)
class Update:
    """What a change of one field costs: in place, a replacement, or a refusal.

    ``when`` narrows a replace/refuse to some changes (a flag that may be turned on but never off);
    ``condition`` says the same in words for the docs.
    """

    rule: Rule = Rule.IN_PLACE
    reason: str = ""
    when: Optional[Callable[[Any, Any], bool]] = None
    condition: str = ""

    def verdict(self, old: Any, new: Any) -> Optional[Rule]:
        """``None`` when the UPDATE API applies this change, else REPLACE or REFUSED."""
        if self.rule is Rule.IN_PLACE:
            return None
        if self.when is None or self.when(old, new):
            return self.rule
        return None

    @property
    def summary(self) -> str:
        if self.rule is Rule.IN_PLACE:
            return "in place"
        if not self.condition:
            return str(self.rule.value)
        return f"{self.rule.value} {self.condition}, else in place"


IN_PLACE = Update()


def replace(reason: str, when: Optional[Callable[[Any, Any], bool]] = None, condition: str = "") -> Update:
    """An update rule: changing the field needs the object deleted and made again, for ``reason``."""
    return Update(Rule.REPLACE, reason, when, condition)


def refused(reason: str, when: Optional[Callable[[Any, Any], bool]] = None, condition: str = "") -> Update:
    """An update rule: the change is refused outright, since a replacement would defeat the setting."""
    return Update(Rule.REFUSED, reason, when, condition)


def turned_off(old: Any, new: Any) -> bool:
    """True when a flag goes from set to unset: the one direction some flags may not change."""
    return bool(old) and not bool(new)


# A reader gets the field readers of one object, the key and whether the values come from a user
# (validated strictly) or from the server (trusted, only normalized).
Reader = Callable[[Fields, str, bool], Any]


@dataclass(frozen=True)
class Field:
    """One field of one kind: how it is read, its defaults, its update rule and its meaning.

    ``default`` and ``server_default`` are text for the docs; the values themselves come from
    ``read``. ``settable`` false: derived or fixed by the kind (a KV bucket's ``deny_delete``),
    present in the canonical form but not accepted as input. ``stream_field``: for KV buckets and
    object stores, the field of the underlying stream this input sets.
    """

    name: str
    type: str
    read: Reader
    default: str
    server_default: str
    update: Update
    description: str
    settable: bool = True
    stream_field: str = ""


Catalogue = Sequence[Field]


def names(catalogue: Catalogue, settable_only: bool = True) -> tuple[str, ...]:
    """The field names of ``catalogue`` (``settable_only``: only those a user may write)."""
    return tuple(f.name for f in catalogue if f.settable or not settable_only)


def by_name(catalogue: Catalogue) -> dict[str, Field]:
    """The rows of ``catalogue`` by field name."""
    return {f.name: f for f in catalogue}


def read_all(catalogue: Catalogue, f: Fields, user: bool) -> dict[str, Any]:
    """Every field of ``catalogue`` read from ``f``, defaults filled (``user``: validate strictly)."""
    return {fld.name: fld.read(f, fld.name, user) for fld in catalogue}


def update_rules(catalogue: Catalogue) -> dict[str, Update]:
    """The fields of ``catalogue`` whose change is not applied in place, with their rules."""
    return {f.name: f.update for f in catalogue if f.update.rule is not Rule.IN_PLACE}


# -- standard readers -------------------------------------------------------------------------
def text(default: str = "") -> Reader:
    """A reader of a string field, ``default`` when unset."""
    return lambda f, key, user: f.str_(key, default)


def flag(default: bool = False) -> Reader:
    """A reader of a boolean field, ``default`` when unset."""
    return lambda f, key, user: f.bool_(key, default)


def choice(choices: Sequence[str], default: str) -> Reader:
    """A reader of a field that is one of ``choices`` (any case in, lower case out), ``default`` unset."""
    return lambda f, key, user: f.enum(key, choices, default)


def duration(default: int = 0, minimum: Optional[int] = 0) -> Reader:
    """A reader of a duration in nanoseconds (``"1h30m"`` or an integer), at least ``minimum``."""
    return lambda f, key, user: f.duration(key, default, minimum)


def count_limit() -> Reader:
    """0 or -1 both mean unlimited; the server stores -1."""
    return lambda f, key, user: f.limit(key)


def size_limit(unlimited: int = -1) -> Reader:
    """A reader of a byte limit where 0 means unlimited.

    The server stores ``unlimited`` for it: -1, or 0 for the consumer fields the server omits when
    unset.
    """
    def read(f: Fields, key: str, user: bool) -> int:
        value = f.size(key, unlimited)
        return unlimited if value in (0, -1) else value
    return read


def whole(default: int = 0, minimum: Optional[int] = 0) -> Reader:
    """A reader of an integer field, at least ``minimum`` (None: any), ``default`` when unset."""
    return lambda f, key, user: f.int_(key, default, minimum=minimum)


def string_list() -> Reader:
    """A reader of a list of strings, empty when unset."""
    return lambda f, key, user: f.str_list(key)


def metadata() -> Reader:
    """A reader of user metadata, a map of strings.

    The server adds ``_nats.ver``/``_nats.level``/``_nats.req.level`` (jetstream_versioning.go),
    which never take part in a diff, and a user may not write them.
    """
    def read(f: Fields, key: str, user: bool) -> dict[str, str]:
        if user:
            return f.str_map(key)
        value = f.raw(key)
        if not isinstance(value, Mapping):
            return {}
        return {str(k): str(v) for k, v in sorted(value.items()) if not str(k).startswith("_nats.")}
    return read


# -- docs -------------------------------------------------------------------------------------
def markdown_table(catalogue: Catalogue) -> str:
    """The field table of one kind, as ``docs/environments.md`` shows it (settable fields only)."""
    rows = ["| field | type | default | server default | change | description |",
            "|---|---|---|---|---|---|"]
    for fld in catalogue:
        if not fld.settable:
            continue
        cells = [f"`{fld.name}`", fld.type, fld.default or "—", fld.server_default or "—", fld.update.summary,
                 fld.description]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
