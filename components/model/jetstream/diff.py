"""Which changes the server applies in place and which need the object deleted and made again.

Replacing a stream deletes its messages, so only the rules the server itself enforces
(nats-server ``configUpdateCheck`` for streams, ``checkNewConsumerConfig`` for consumers) are
classified as replacements; everything else goes through the UPDATE API. The rules are the
``update`` column of the field catalogues (``stream_fields``, ``consumer_fields``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from components.model.jetstream.catalogue import Rule as UpdateRule
from components.model.jetstream.catalogue import Update, replace, update_rules
from components.model.jetstream.consumer_fields import CONSUMER_CATALOGUE
from components.model.jetstream.stream_fields import STREAM_CATALOGUE


@dataclass(frozen=True)
class FieldChange:
    """One changed field, with whether the change needs a replacement or is refused.

    ``refused``: neither UPDATE nor a replacement gives what was asked (a sealed stream can not be
    unsealed, and replacing it deletes what the seal keeps); such a change also counts as
    ``requires_replace``, so a caller that does not refuse it still never sends an UPDATE the server
    rejects.
    """

    field: str
    old: Any
    new: Any
    requires_replace: bool
    reason: Optional[str] = None
    refused: bool = False


# Field -> the catalogue's update rule, for every field whose change is not always in place.
STREAM_RULES: dict[str, Update] = update_rules(STREAM_CATALOGUE)
CONSUMER_RULES: dict[str, Update] = {
    **update_rules(CONSUMER_CATALOGUE),
    "stream": replace("a consumer belongs to one stream"),
}


def _diff(old: Mapping[str, Any], new: Mapping[str, Any], rules: Mapping[str, Update]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        rule = rules.get(key)
        verdict = rule.verdict(before, after) if rule else None
        reason = rule.reason if rule and verdict else None
        changes.append(FieldChange(key, before, after, verdict is not None, reason, verdict is UpdateRule.REFUSED))
    return changes


def diff_stream(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """Changes between two canonical stream configs, each marked update-in-place or replace."""
    return _diff(old, new, STREAM_RULES)


def diff_consumer(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """Changes between two canonical consumer configs (plus the ``stream`` they belong to)."""
    return _diff(old, new, CONSUMER_RULES)


def replacements(changes: list[FieldChange]) -> list[str]:
    """The fields among ``changes`` whose change needs the object deleted and made again."""
    return [c.field for c in changes if c.requires_replace]


def describe(changes: list[FieldChange]) -> str:
    """The replacement-forcing changes in words (``field: reason; …``), for a preview or an error."""
    return "; ".join(f"{c.field}: {c.reason}" for c in changes if c.requires_replace)
