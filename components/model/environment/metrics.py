"""The ``monitoring.metrics`` section: the environment's series mapping (``metrics_series``).

    monitoring:
      metrics:
        unlisted: drop                       # only the series listed below (default: keep)
        labels: {tenant: tenant_id, account: null}
        series:
          nats_tenant_stream_messages: nats_stream_messages_total
          nats_tenant_consumer_num_pending: {name: nats_consumer_pending, labels: {stream: null}}

A label mapped to ``null`` (or ``""``) is dropped. Absent, the exporter emits its canonical series
(``docs/metrics.md``) unchanged.
"""
from __future__ import annotations

from typing import Any, Optional

from components.model.environment.schema import Reader, child, show
from components.model.metrics_series import LabelMap, SeriesMapping, SeriesRename, problems

METRICS_KEYS = ("labels", "series", "unlisted")
SERIES_KEYS = ("name", "labels")


def read_metrics(r: Reader, value: Any, path: str) -> SeriesMapping:
    """The ``monitoring.metrics`` section: label and series renames of the exporter's output.

    Absent, the exporter publishes its canonical series unchanged.
    """
    if value is None:
        return SeriesMapping()
    m = r.mapping(value, path, METRICS_KEYS)
    if m is None:
        return SeriesMapping()
    labels = _labels(r, m.get("labels"), child(path, "labels"))
    unlisted = r.string(m, "unlisted", path, default="keep") or "keep"
    series: list[SeriesRename] = []
    spath = child(path, "series")
    raw = m.get("series")
    if raw is not None and not isinstance(raw, dict):
        r.add(spath, f"expected a mapping of canonical series names, got {show(raw)}",
              "write 'nats_tenant_<series>: <new name>' lines under series")
        raw = None
    for canonical, entry in (raw or {}).items():
        where = child(spath, str(canonical))
        if isinstance(entry, str) and entry:
            series.append(SeriesRename(str(canonical), entry))
            continue
        e = r.mapping(entry, where, SERIES_KEYS)
        if e is None:
            continue
        name = r.string(e, "name", where, default=str(canonical))
        series.append(SeriesRename(str(canonical), name or str(canonical),
                                   _labels(r, e.get("labels"), child(where, "labels"))))
    mapping = SeriesMapping(labels, tuple(series), unlisted)
    for field, reason, fix in problems(mapping):
        r.add(child(path, field), reason, fix)
    return mapping


def _labels(r: Reader, value: Any, path: str) -> LabelMap:
    if value is None:
        return ()
    if not isinstance(value, dict):
        r.add(path, f"expected a mapping of label: new name, got {show(value)}",
              "write 'label: new_name' lines (null drops the label)")
        return ()
    out: list[tuple[str, Optional[str]]] = []
    for label, target in value.items():
        if target is not None and not isinstance(target, str):
            r.add(child(path, str(label)), f"expected a label name or null, got {show(target)}",
                  "write the new label name, or null to drop the label")
            continue
        out.append((str(label), target or None))
    return tuple(out)
