"""An environment's series mapping: the exporter's canonical series renamed, relabelled and chosen
so that it emits exactly the contract a team's dashboards already use (pure).

The canonical series are ``ops_metrics.METRICS`` (``nats_tenant_*``). A mapping

- renames labels everywhere (``labels``) or for one series (a series' own ``labels``, which win);
  a label mapped to ``None`` is dropped; ``account_name`` (the account JWT name) is exported only
  when a mapping names it;
- renames series (``series``); with ``unlisted="drop"`` only the listed series are emitted.

Dropping a label can make two samples equal in name and labels; Prometheus refuses duplicate
series in one exposition, so they are merged by the metric's ``combine`` rule (counts add up, a
ratio keeps the largest). The exporter's own health series (``nats_tenant_exporter_*``) are never
mapped: alerts on a broken exporter must not depend on a team's naming.

Names follow the Prometheus data model: series ``[a-zA-Z_:][a-zA-Z0-9_:]*``, labels
``[a-zA-Z_][a-zA-Z0-9_]*``, and labels starting with ``__`` are reserved for Prometheus itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from components.model.ops_metrics import METRIC_BY_NAME, METRICS, MetricDef, Sample

SERIES_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SERIES_FIX = "use letters, digits, '_' and ':' not starting with a digit, e.g. nats_stream_messages_total"
LABEL_FIX = "use letters, digits and '_' not starting with a digit or '__', e.g. tenant_id"
UNLISTED = ("keep", "drop")
#: Every label a canonical series can carry (default or on request).
LABELS: tuple[str, ...] = tuple(dict.fromkeys(lab for m in METRICS for lab in (*m.labels, *m.extra)))

LabelMap = tuple[tuple[str, Optional[str]], ...]


@dataclass(frozen=True)
class SeriesRename:
    """One canonical series under a new ``name``, with label renames of its own (these win)."""

    canonical: str
    name: str
    labels: LabelMap = ()


@dataclass(frozen=True)
class SeriesMapping:
    """The default (empty) mapping emits today's series unchanged."""

    labels: LabelMap = ()
    series: tuple[SeriesRename, ...] = ()
    unlisted: str = "keep"

    @property
    def is_default(self) -> bool:
        return not self.labels and not self.series and self.unlisted == "keep"

    def exported(self, metric: MetricDef) -> Optional[tuple[str, tuple[tuple[str, str], ...]]]:
        """``(series name, ((canonical label, exported label), …))`` for ``metric``, or None when
        the mapping leaves it out."""
        rename = next((r for r in self.series if r.canonical == metric.name), None)
        if rename is None and self.unlisted == "drop":
            return None
        chosen = {**dict(self.labels), **dict(rename.labels if rename else ())}
        pairs: list[tuple[str, str]] = []
        for label in (*metric.labels, *metric.extra):
            default = label if label in metric.labels else None
            target = chosen[label] if label in chosen else default
            if target:
                pairs.append((label, target))
        return (rename.name if rename else metric.name), tuple(pairs)


@dataclass(frozen=True)
class Family:
    """One series as the exporter exposes it: name, help text, label names and its samples."""

    name: str
    help: str
    labels: tuple[str, ...]
    samples: tuple[tuple[tuple[str, ...], float], ...]


def problems(mapping: SeriesMapping) -> list[tuple[str, str, str]]:
    """``(field, reason, fix)`` for every way ``mapping`` cannot be emitted.

    Fields are relative to the mapping (``series.nats_tenant_stream_messages.labels.consumer``).
    """
    out: list[tuple[str, str, str]] = []
    if mapping.unlisted not in UNLISTED:
        out.append(("unlisted", f"{mapping.unlisted!r} not in {'|'.join(UNLISTED)}", "use keep or drop"))
    out += _label_problems(mapping.labels, "labels", LABELS)
    seen: dict[str, str] = {}
    clashes: set[tuple[str, str, tuple[str, ...]]] = set()
    for r in mapping.series:
        where = f"series.{r.canonical}"
        metric = METRIC_BY_NAME.get(r.canonical)
        if metric is None:
            out.append((where, f"unknown series {r.canonical!r}",
                        f"map one of the exporter's series: {', '.join(sorted(METRIC_BY_NAME))}"))
            continue
        if not SERIES_NAME.match(r.name):
            out.append((f"{where}.name", f"{r.name!r} is not a Prometheus series name", SERIES_FIX))
        out += _label_problems(r.labels, f"{where}.labels", (*metric.labels, *metric.extra))
    for metric in METRICS:
        shown = mapping.exported(metric)
        if shown is None:
            continue
        name, pairs = shown
        if name in seen and seen[name] != metric.name:
            out.append((f"series.{metric.name}", f"exported as {name!r}, the name {seen[name]} is exported as",
                        "give every series its own name"))
        seen.setdefault(name, metric.name)
        targets = [t for _, t in pairs]
        field = f"series.{metric.name}.labels" if any(r.canonical == metric.name for r in mapping.series) else "labels"
        for t in sorted({t for t in targets if targets.count(t) > 1}):
            sources = [c for c, x in pairs if x == t]
            if (field, t, tuple(sources)) in clashes:
                continue   # a clash of the global labels is reported once, not for every series
            clashes.add((field, t, tuple(sources)))
            of = f" of {name}" if field != "labels" else ""
            out.append((field, f"{', '.join(sources)} would all be exported as label {t!r}{of}",
                        f"drop all but one of them (e.g. {sources[0]}: null) or give each its own name"))
    return out


def _label_problems(labels: LabelMap, where: str, allowed: Iterable[str]) -> list[tuple[str, str, str]]:
    allowed = tuple(allowed)
    out = []
    for label, target in labels:
        if label not in allowed:
            out.append((f"{where}.{label}", f"unknown label {label!r}", f"use one of {', '.join(allowed)}"))
        elif target is not None and (not LABEL_NAME.match(target) or target.startswith("__")):
            out.append((f"{where}.{label}", f"{target!r} is not a Prometheus label name", LABEL_FIX))
    return out


def families(mapping: SeriesMapping, found: Iterable[Sample]) -> list[Family]:
    """The metric families to expose, in the canonical order.

    Samples are merged where dropped labels made them equal (the metric's ``combine`` rule).
    """
    grouped: dict[str, list[Sample]] = {m.name: [] for m in METRICS}
    for s in found:
        grouped[s.name].append(s)
    out = []
    for metric in METRICS:
        shown = mapping.exported(metric)
        if shown is None:
            continue
        name, pairs = shown
        merged: dict[tuple[str, ...], float] = {}
        for s in grouped[metric.name]:
            values = dict((*s.labels, *s.extra))
            key = tuple(values.get(c, "") for c, _ in pairs)
            if key not in merged:
                merged[key] = s.value
            elif metric.combine == "max":
                merged[key] = max(merged[key], s.value)
            else:
                merged[key] += s.value
        out.append(Family(name, metric.help, tuple(t for _, t in pairs), tuple(sorted(merged.items()))))
    return out


# -- the JSON document the stack writes for the exporter (``--series FILE``) -------------------

def to_document(mapping: SeriesMapping) -> dict[str, Any]:
    """``mapping`` as the JSON-ready part of the exporter's series document."""
    return {
        "labels": dict(mapping.labels),
        "series": {r.canonical: {"name": r.name, "labels": dict(r.labels)} for r in mapping.series},
        "unlisted": mapping.unlisted,
    }


def from_document(doc: Any, where: str = "series") -> SeriesMapping:
    """The series mapping of a series document; the inverse of ``to_document``.

    It also reads what a person writes by hand (a series given as just its new name). Raises
    ``ValueError`` naming the field.
    """
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where}: expected a JSON object")
    labels = _label_map(doc.get("labels") or {}, f"{where}.labels")
    series = []
    raw_series = doc.get("series") or {}
    if not isinstance(raw_series, Mapping):
        raise ValueError(f"{where}.series: expected an object of canonical series names")
    for canonical, value in raw_series.items():
        if isinstance(value, str):
            series.append(SeriesRename(str(canonical), value))
        elif isinstance(value, Mapping) and isinstance(value.get("name", canonical), str):
            series.append(SeriesRename(str(canonical), str(value.get("name", canonical)),
                                       _label_map(value.get("labels") or {}, f"{where}.series.{canonical}.labels")))
        else:
            raise ValueError(f"{where}.series.{canonical}: expected a name or an object with name and labels")
    mapping = SeriesMapping(labels, tuple(series), str(doc.get("unlisted", "keep")))
    bad = problems(mapping)
    if bad:
        raise ValueError("; ".join(f"{where}.{field}: {reason} (fix: {fix})" for field, reason, fix in bad))
    return mapping


def _label_map(value: Any, where: str) -> LabelMap:
    if not isinstance(value, Mapping) or not all(v is None or isinstance(v, str) for v in value.values()):
        raise ValueError(f"{where}: expected an object of label -> new name (or null to drop it)")
    return tuple((str(k), (v or None)) for k, v in value.items())
