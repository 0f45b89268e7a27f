"""Streams and consumers declared with JetStream fields of their own (``streams:`` of a tenant, of
``layout.every_tenant`` and of a named account).

A layout that is not "domains with live and replay classes" (seed 004's one ``EVENTS_{tenant}``
stream with its exact config, seed 003's ``prod_convex_wal``) lists its streams here. Names, subjects
and filters are templates (``EVENTS_{tenant}``, ``{root}.>``, ``{root}.artifact.build_started.>``);
every other key is a field of the JetStream catalogue (``components.model.jetstream``) and is
checked by it, so a field added to the catalogue is usable here without a change in this module.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from components.model.environment.layout import render_item
from components.model.environment.model import JsConsumer, JsStream
from components.model.environment.schema import Reader, child, item
from components.model.errors import SpecError
from components.model.jetstream.consumer import validate_and_normalize_consumer
from components.model.jetstream.stream import validate_and_normalize_stream
from components.model.subjects import subject_contains, subject_problem


def read_js_streams(r: Reader, value: Any, path: str, values: Mapping[str, str],
                    deliver_root: Optional[str] = None) -> tuple[JsStream, ...]:
    """The streams of one account declared with their own JetStream fields, consumers included.

    ``values`` fill the templates (``tenant``, ``root``, ``account``…). Push consumers without a
    ``deliver_subject`` deliver to ``<deliver_root>.<stream>.<consumer>``.
    """
    out: list[JsStream] = []
    for i, raw in enumerate(r.sequence(value, path)):
        spath = item(path, i)
        if not isinstance(raw, dict) or "name" not in raw:
            r.add(spath, "a stream needs at least a name", "write {name: ..., subjects: [...], ...}")
            continue
        rendered = render_item(r, raw, spath, values)
        if rendered is None:
            continue
        consumers_raw = rendered.pop("consumers", None)
        inputs = {k: v for k, v in rendered.items()}
        if not catalogue_check(r, validate_and_normalize_stream, inputs, spath):
            continue
        name = str(inputs["name"])
        consumers = _read_consumers(r, consumers_raw, child(spath, "consumers"), name,
                                    tuple(inputs.get("subjects") or (name,)), deliver_root)
        out.append(JsStream(name=name, inputs=inputs, consumers=consumers))
    return tuple(out)


def _read_consumers(r: Reader, value: Any, path: str, stream: str, captured: tuple[str, ...],
                    deliver_root: Optional[str]) -> tuple[JsConsumer, ...]:
    out: list[JsConsumer] = []
    for i, raw in enumerate(r.sequence(value, path)):
        cpath = item(path, i)
        if not isinstance(raw, dict) or "name" not in raw:
            r.add(cpath, "a consumer needs at least a name", "write {name: ..., filter: ..., ...}")
            continue
        m = dict(raw)
        name = str(m.pop("name"))
        kind = m.pop("kind", "pull")
        dead_letter = m.pop("dead_letter", False)
        filt = m.pop("filter", None)
        if kind not in ("pull", "push"):
            r.add(child(cpath, "kind"), f"{kind!r} not in pull|push", "use pull or push")
            continue
        if not isinstance(dead_letter, bool):
            r.add(child(cpath, "dead_letter"), f"{dead_letter!r} is not true or false", "write true or false")
            continue
        inputs: dict[str, Any] = {"stream": stream, "name": name, "ack_policy": "explicit", **m}
        if filt is not None:
            why = subject_problem(filt)
            if why:
                r.add(child(cpath, "filter"), why, "a subject inside the stream's subjects, e.g. '{root}.orders.>'")
                continue
            if not any(subject_contains(c, filt) for c in captured):
                r.add(child(cpath, "filter"), f"{filt!r} is outside the stream's subjects ({', '.join(captured)})",
                      "use a filter under one of the stream's subjects")
                continue
            inputs["filter_subject"] = filt
        if kind == "push" and "deliver_subject" not in inputs:
            if deliver_root is None:
                r.add(cpath, "a push consumer here needs a deliver_subject", "set deliver_subject")
                continue
            inputs["deliver_subject"] = f"{deliver_root}.{stream}.{name}"
        if dead_letter and "max_deliver" not in inputs:
            inputs["max_deliver"] = 5
        if not catalogue_check(r, validate_and_normalize_consumer, inputs, cpath):
            continue
        out.append(JsConsumer(name=name, stream=stream, inputs=inputs, dead_letter=dead_letter))
    return tuple(out)


def catalogue_check(r: Reader, validate: Any, inputs: Mapping[str, Any], path: str) -> bool:
    """Run the catalogue's validation; report its problems under this file's field path."""
    try:
        validate(inputs, "environment")
    except SpecError as exc:
        for p in exc.problems:
            r.add(child(path, p.field) if p.field else path, p.reason, p.fix or "see docs/environments.md")
        return False
    return True


#: Keys of a domain's stream class and of its consumers that the environment model reads itself
#: (names, subjects, defaults from the tenant's quotas); every other catalogue field passes through.
_OWN = {
    "stream": ("name", "subjects", "sources", "mirror", "max_age", "max_bytes", "max_msgs", "max_msg_size",
               "storage", "num_replicas", "duplicate_window", "discard", "deny_delete", "deny_purge", "retention"),
    "consumer": ("name", "stream", "durable_name", "filter_subject", "filter_subjects", "ack_wait", "max_deliver",
                 "max_ack_pending", "rate_limit_bps", "deliver_subject", "ack_policy"),
}


def catalogue_extras(kind: str) -> tuple[str, ...]:
    """Catalogue fields a domain's stream class (``kind`` "stream") or consumer may set directly."""
    # the catalogues own the field lists
    from components.model.jetstream.consumer_fields import CONFIG_FIELDS
    from components.model.jetstream.stream_fields import STREAM_FIELDS
    fields = STREAM_FIELDS if kind == "stream" else CONFIG_FIELDS
    return tuple(f for f in fields if f not in _OWN[kind])
