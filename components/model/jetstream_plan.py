"""The JetStream objects of a tenant or platform shard, as resource inputs (pure).

Maps the validated environment onto the user-facing inputs of the Stream, Consumer, KeyValue and
ObjectStore resources. Durations travel as exact Go-style strings ("720h") and sizes as integers:
Pulumi carries numbers as doubles, which cannot hold every nanosecond count above 2^53.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from components.model.environment.model import (
    ConsumerKind,
    ConsumerSpec,
    Environment,
    JsStream,
    KvSpec,
    NamedAccount,
    ObjectStoreSpec,
    PlatformConsumerSpec,
    StreamClass,
    Tenant,
)
from components.model.jetstream.units import format_duration

DEAD_LETTER_MAX_AGE = "720h"


def stream_inputs(sc: StreamClass) -> dict[str, Any]:
    """The Stream resource's inputs for a domain's stream class; catalogue extras are passed as written.

    Retention is by limits; a stream that sources another takes no publishes of its own, so it
    gets no duplicate window.
    """
    props: dict[str, Any] = {
        "name": sc.name,
        "retention": "limits",
        "storage": sc.storage.value,
        "num_replicas": sc.replicas,
        "discard": sc.discard.value,
        "max_age": format_duration(sc.max_age_ns),
        "deny_delete": sc.deny_delete,
        "deny_purge": sc.deny_purge,
    }
    if sc.subjects:
        props["subjects"] = list(sc.subjects)
    if sc.sources:
        props["sources"] = [{"name": s} for s in sc.sources]
    else:
        props["duplicate_window"] = format_duration(sc.duplicate_window_ns)
    for key in ("max_bytes", "max_msgs", "max_msg_size"):
        value = getattr(sc, key)
        if value is not None:
            props[key] = value
    props.update(dict(sc.extra))
    return props


def dead_letter_inputs(tenant: Tenant) -> dict[str, Any]:
    """The tenant's dead-letter stream: max-delivery and termination advisories of its DLQ consumers.

    The advisory carries the stream sequence of the dead message, which stays fetchable with
    ``STREAM.MSG.GET`` for as long as the source stream retains it. It has as many replicas as the
    tenant's most replicated stream, so it survives whatever server loss they survive.
    """
    props: dict[str, Any] = {
        "name": tenant.dead_letter_stream,
        "subjects": list(tenant.dead_letter_subjects),
        "retention": "limits",
        "storage": "file",
        "max_age": DEAD_LETTER_MAX_AGE,
        "description": f"Dead letters of tenant {tenant.id}",
    }
    replicas = max((sc.replicas for sc in tenant.streams), default=1)
    if replicas > 1:   # 1 is the server default: left out so single-server stacks see no change
        props["num_replicas"] = replicas
    return props


def consumer_inputs(c: ConsumerSpec) -> dict[str, Any]:
    """The Consumer resource's inputs for a domain consumer: explicit acks, durable under its name.

    A push consumer gets flow control and a 5s idle heartbeat, which the server requires together.
    """
    props: dict[str, Any] = {
        "stream": c.stream,
        "name": c.durable,
        "ack_policy": "explicit",
        "ack_wait": format_duration(c.ack_wait_ns),
        "max_deliver": c.max_deliver,
        "max_ack_pending": c.max_ack_pending,
    }
    if c.filter_subject:
        props["filter_subject"] = c.filter_subject
    if c.kind is ConsumerKind.PUSH:
        props["deliver_subject"] = c.deliver_subject
        props["flow_control"] = True
        props["idle_heartbeat"] = "5s"
        if c.rate_limit_bps:
            props["rate_limit_bps"] = c.rate_limit_bps
    props.update(dict(c.extra))
    return props


def kv_inputs(kv: KvSpec) -> dict[str, Any]:
    """The KV bucket resource's inputs; settings equal to the catalogue defaults are left out."""
    props: dict[str, Any] = {"bucket": kv.bucket, "history": kv.history}
    if kv.ttl_ns:
        props["ttl"] = format_duration(kv.ttl_ns)
    if kv.max_bytes is not None:
        props["max_bytes"] = kv.max_bytes
    if kv.replicas > 1:   # 1 is the server default: left out so single-server stacks see no change
        props["replicas"] = kv.replicas
    if not kv.direct:     # on is the catalogue's default
        props["direct"] = False
    return props


def object_store_inputs(o: ObjectStoreSpec) -> dict[str, Any]:
    """The object-store resource's inputs; settings equal to the catalogue defaults are left out."""
    props: dict[str, Any] = {"bucket": o.bucket}
    if o.ttl_ns:
        props["ttl"] = format_duration(o.ttl_ns)
    if o.max_bytes is not None:
        props["max_bytes"] = o.max_bytes
    if o.replicas > 1:
        props["replicas"] = o.replicas
    return props


def platform_stream_inputs(env: Environment) -> list[dict[str, Any]]:
    """One ingest stream per subject class that a platform consumer reads, over all tenants' trees.

    ``no_ack``: the server refuses a stream subject with a leading wildcard (``*.logs.>``) unless the
    stream sends no publish acks, since such a subject also covers ``$JS.…``. An ingest stream wants
    no acks anyway: it captures imported copies, and the tenant's publisher is acked by its own
    account's stream.
    """
    streams: dict[str, dict[str, Any]] = {}
    for pc in env.platform.consumers:
        if pc.stream in streams:
            continue
        root = pc.filter_subject
        streams[pc.stream] = {
            "name": pc.stream,
            "subjects": [pc.stream_subject] if root else [],
            "retention": "limits",
            "storage": "file",
            "max_age": "168h",
            "no_ack": True,
            "description": f"All tenants' {pc.tree} trees, as imported by the platform",
        }
        if env.servers.replicas > 1:   # replicated like the tenants' streams (at most 3)
            streams[pc.stream]["num_replicas"] = min(env.servers.replicas, 3)
    return [streams[k] for k in sorted(streams)]


def platform_consumer_inputs(pc: PlatformConsumerSpec) -> dict[str, Any]:
    """The Consumer resource's inputs for a platform consumer: explicit acks, 1000 pending at most."""
    return {
        "stream": pc.stream,
        "name": pc.durable,
        "ack_policy": "explicit",
        "filter_subject": pc.filter_subject,
        "max_ack_pending": 1000,
    }


@dataclass(frozen=True)
class StreamPlan:
    """One stream as its resource gets it, with the streams it depends on.

    ``after``: streams of the account it sources or mirrors, which must exist first (and outlive it
    on delete).
    """

    name: str
    inputs: Mapping[str, Any]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsumerPlan:
    """One consumer as its resource gets it, with the stream it is created on."""

    name: str
    stream: str
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class JetStreamPlan:
    """The JetStream objects of one account, in creation order, as the resources' inputs.

    Origins come before the streams that source them, consumers after their stream.
    """

    streams: tuple[StreamPlan, ...] = ()
    consumers: tuple[ConsumerPlan, ...] = ()
    kv_buckets: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    object_stores: tuple[tuple[str, Mapping[str, Any]], ...] = ()


def tenant_jetstream(t: Tenant) -> JetStreamPlan:
    """The JetStream plan of one tenant's account.

    Its domain streams (live before replay), dead letters, declared streams, their consumers, KV
    buckets and object stores.
    """
    streams = [StreamPlan(sc.name, stream_inputs(sc), tuple(sc.sources))
               for sc in sorted(t.streams, key=lambda s: bool(s.sources))]
    if t.dead_letter_stream:
        streams.append(StreamPlan(t.dead_letter_stream, dead_letter_inputs(t)))
    consumers = [ConsumerPlan(c.durable, c.stream, consumer_inputs(c)) for c in t.consumers]
    declared = _declared(t.js_streams, t.kv_buckets, t.object_stores)
    return JetStreamPlan(streams=(*streams, *declared.streams), consumers=(*consumers, *declared.consumers),
                         kv_buckets=declared.kv_buckets, object_stores=declared.object_stores)


def account_jetstream(a: NamedAccount) -> JetStreamPlan:
    """A declared account's streams, consumers, KV buckets and object stores."""
    return _declared(a.streams, a.kv_buckets, a.object_stores)


def _declared(js_streams: tuple[JsStream, ...], kvs: tuple[KvSpec, ...], objects: tuple[ObjectStoreSpec, ...]
              ) -> JetStreamPlan:
    def origins(s: JsStream) -> tuple[str, ...]:
        mirror = s.inputs.get("mirror")
        sources = tuple(src.get("name") for src in (s.inputs.get("sources") or []))
        return sources + ((mirror.get("name"),) if mirror else ())

    ordered = sorted(js_streams, key=lambda s: bool(origins(s)))
    streams = tuple(StreamPlan(s.name, dict(s.inputs), origins(s)) for s in ordered)
    consumers = tuple(ConsumerPlan(c.name, s.name, dict(c.inputs)) for s in js_streams for c in s.consumers)
    return JetStreamPlan(streams=streams, consumers=consumers,
                         kv_buckets=tuple((kv.bucket, kv_inputs(kv)) for kv in kvs),
                         object_stores=tuple((o.bucket, object_store_inputs(o)) for o in objects))
