"""Tiers and tenants: read, apply defaults, check against the tenant's own quotas.

Subject mapping of a domain (why ``replay`` sources ``live``): JetStream refuses two streams in one
account with overlapping subjects, and an event must be published once. So the ``live`` stream of
domain ``d`` owns ``[<prefix>.]<tenant>.events.d.>`` (or the ``subjects`` given, all under the
tenant's ``events`` root), and the ``replay`` stream has no subjects of its own: it sources the live
stream and keeps the same messages longer (default 90 days against 30) for re-processing, with its
own consumers. ``logs`` and ``otel`` are not stored per tenant: the platform's ingest shards take
them (see ``spec_platform``).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping, Optional

from components.model import spec_names as names
from components.model.spec_model import (
    QUOTA_FIELDS, ConsumerKind, ConsumerSpec, DiscardPolicy, Domain, KvSpec, ObjectStoreSpec,
    Quotas, ServersSpec, StorageType, StreamClass, StreamClassKind, Tenant, TenantSubjects, Tier,
    UserRole, UserSpec,
)
from components.model.spec_schema import Reader, child, item
from components.model.spec_units import HOUR, MINUTE, SECOND, format_duration

TIER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TENANT_KEYS = ("id", "name", "tier", "quotas", "domains", "kv_buckets", "object_stores", "users")
DOMAIN_KEYS = ("live", "replay")
CLASS_KEYS = ("max_age", "max_bytes", "max_msgs", "max_msg_size", "storage", "replicas",
              "duplicate_window", "discard", "deny_delete", "deny_purge", "subjects", "consumers")
CONSUMER_KEYS = ("name", "kind", "filter", "ack_wait", "max_deliver", "max_ack_pending",
                 "rate_limit", "dead_letter")
KV_KEYS = ("name", "history", "ttl", "max_bytes")
OBJECT_KEYS = ("name", "max_bytes", "ttl")
USER_KEYS = ("name", "role")
RESERVED_USERS = ("service", "reader", "leaf", "provisioning")

CLASS_DEFAULT_MAX_AGE = {StreamClassKind.LIVE: 720 * HOUR, StreamClassKind.REPLAY: 2160 * HOUR}
DEFAULT_DUPLICATE_WINDOW = 2 * MINUTE
DEFAULT_ACK_WAIT = 30 * SECOND
DEAD_LETTER_MAX_DELIVER = 5
KV_MAX_HISTORY = 64
_PLACEHOLDER_QUOTAS = Quotas(1, 1, 1, 1, 1, 1, 1)


@dataclasses.dataclass(frozen=True)
class TenantContext:
    """What reading a tenant needs from the rest of the file."""

    prefix: Optional[str]
    servers: Optional[ServersSpec]
    tiers: Mapping[str, Tier]


def read_quotas(r: Reader, value: Any, path: str, base: Optional[Quotas]) -> Optional[Quotas]:
    """A complete set of quotas (a tier, ``base`` None) or overrides of ``base`` (a tenant)."""
    m = r.mapping(value, path, QUOTA_FIELDS, required=QUOTA_FIELDS if base is None else ())
    if m is None:
        return base
    got: dict[str, Optional[int]] = {}
    for key in QUOTA_FIELDS:
        if key in ("max_bytes", "max_memory"):
            got[key] = r.size(m, key, path)
        else:
            got[key] = r.integer(m, key, path, minimum=1)
    if base is None:
        if any(v is None for v in got.values()):
            return None
        return Quotas(**{k: int(v) for k, v in got.items() if v is not None})
    return dataclasses.replace(base, **{k: v for k, v in got.items() if v is not None})


def read_tiers(r: Reader, value: Any, path: str) -> dict[str, Tier]:
    tiers: dict[str, Tier] = {}
    raw = r.named_map(value, path, TIER_NAME, names.ID_FIX)
    if not raw and value is None:
        r.add(path, "missing", "declare at least one tier, e.g. 'tiers: {standard: {max_streams: 20, …}}'")
    for name, settings in raw.items():
        quotas = read_quotas(r, settings, child(path, name), None)
        if quotas is not None:
            tiers[name] = Tier(name, quotas)
    return tiers


def read_tenants(r: Reader, value: Any, path: str, ctx: TenantContext) -> tuple[Tenant, ...]:
    tenants: list[Tenant] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(r.sequence(value, path)):
        tpath = item(path, i)
        tenant = _read_tenant(r, raw, tpath, ctx)
        if tenant is None:
            continue
        if tenant.id in seen:
            r.add(child(tpath, "id"), f"duplicate tenant id {tenant.id!r} (also {seen[tenant.id]})",
                  "give every tenant its own id")
            continue
        seen[tenant.id] = tpath
        tenants.append(tenant)
    return tuple(tenants)


def _read_tenant(r: Reader, raw: Any, path: str, ctx: TenantContext) -> Optional[Tenant]:
    m = r.mapping(raw, path, TENANT_KEYS, required=("id", "tier"))
    if m is None:
        return None
    tid = r.string(m, "id", path, pattern=names.ID_PATTERN, fix=names.ID_FIX)
    display = r.string(m, "name", path, default=tid)
    tier_name = r.string(m, "tier", path)
    tier = ctx.tiers.get(tier_name) if tier_name else None
    if tier_name and tier is None:
        known = ", ".join(sorted(ctx.tiers)) or "(none declared)"
        r.add(child(path, "tier"), f"unknown tier {tier_name!r}", f"use one of the tiers declared under 'tiers': {known}")
    quotas: Optional[Quotas] = None
    if tier is not None:
        quotas = tier.quotas
        if "quotas" in m:
            quotas = read_quotas(r, m["quotas"], child(path, "quotas"), tier.quotas)
    elif "quotas" in m:  # still report problems inside the overrides
        read_quotas(r, m["quotas"], child(path, "quotas"), _PLACEHOLDER_QUOTAS)
    if tid is None or quotas is None or tier_name is None:
        return None
    subjects = TenantSubjects(*(names.tenant_root(ctx.prefix, tid, root) + ".>" for root in names.ROOTS),
                              deliver=names.tenant_root(ctx.prefix, tid, names.DELIVER_ROOT) + ".>")
    domains: list[Domain] = []
    dpath = child(path, "domains")
    for dname, draw in r.named_map(m.get("domains"), dpath, names.ID_PATTERN, names.ID_FIX).items():
        domain = _read_domain(r, draw, child(dpath, dname), ctx, tid, dname, quotas)
        if domain is not None:
            domains.append(domain)
    kvs = _read_kv(r, m.get("kv_buckets"), child(path, "kv_buckets"), tid, quotas)
    objects = _read_objects(r, m.get("object_stores"), child(path, "object_stores"), tid, quotas)
    users = _read_users(r, m.get("users"), child(path, "users"))
    any_dead_letter = any(c.dead_letter for d in domains for s in d.streams for c in s.consumers)
    tenant = Tenant(id=tid, name=display or tid, tier=tier_name, quotas=quotas, subjects=subjects,
                    domains=tuple(domains), kv_buckets=kvs, object_stores=objects, users=users,
                    dead_letter_stream=names.dead_letter_stream_name(tid) if any_dead_letter else None)
    _check_quota_counts(r, tenant, path)
    return tenant


def _check_quota_counts(r: Reader, t: Tenant, path: str) -> None:
    streams = len(t.streams) + len(t.kv_buckets) + len(t.object_stores) + (1 if t.dead_letter_stream else 0)
    if streams > t.quotas.max_streams:
        r.add(child(path, "quotas.max_streams"),
              f"the tenant needs {streams} streams (domains, KV buckets, object stores, dead letters) "
              f"but max_streams is {t.quotas.max_streams}",
              f"raise quotas.max_streams to at least {streams} or use a larger tier")
    if len(t.consumers) > t.quotas.max_consumers:
        r.add(child(path, "quotas.max_consumers"),
              f"the tenant declares {len(t.consumers)} consumers but max_consumers is {t.quotas.max_consumers}",
              f"raise quotas.max_consumers to at least {len(t.consumers)} or use a larger tier")


def _read_domain(r: Reader, raw: Any, path: str, ctx: TenantContext, tid: str, dname: str,
                 quotas: Quotas) -> Optional[Domain]:
    m = r.mapping({} if raw is None else raw, path, DOMAIN_KEYS)
    if m is None:
        return None
    live = _read_class(r, m.get("live"), child(path, "live"), ctx, tid, dname, StreamClassKind.LIVE, quotas, None)
    replay = None
    if "replay" in m:
        replay = _read_class(r, m.get("replay"), child(path, "replay"), ctx, tid, dname,
                             StreamClassKind.REPLAY, quotas, live)
    if live is None:
        return None
    return Domain(dname, live, replay)


def _read_class(r: Reader, raw: Any, path: str, ctx: TenantContext, tid: str, dname: str,
                kind: StreamClassKind, quotas: Quotas, live: Optional[StreamClass]) -> Optional[StreamClass]:
    m = r.mapping({} if raw is None else raw, path, CLASS_KEYS)
    if m is None:
        return None
    cap = quotas.retention_days * 24 * HOUR
    max_age = r.duration(m, "max_age", path)
    if max_age is None:
        max_age = min(CLASS_DEFAULT_MAX_AGE[kind], cap)
    elif max_age > cap:
        r.add(child(path, "max_age"), f"{format_duration(max_age)} is longer than the tenant's "
              f"retention_days ({quotas.retention_days} days)",
              f"use at most {format_duration(cap)} or raise quotas.retention_days")
    dup = r.duration(m, "duplicate_window", path)
    if dup is None:
        dup = min(DEFAULT_DUPLICATE_WINDOW, max_age)
    elif dup > max_age:
        r.add(child(path, "duplicate_window"), f"{format_duration(dup)} is longer than max_age "
              f"{format_duration(max_age)}", "use a duplicate_window no longer than max_age")
    storage = r.choice(m, "storage", path, StorageType, StorageType.FILE) or StorageType.FILE
    server_replicas = ctx.servers.replicas if ctx.servers else 1
    replicas = r.integer(m, "replicas", path, default=min(server_replicas, 3), minimum=1, maximum=5)
    if replicas is not None and replicas > server_replicas:
        r.add(child(path, "replicas"), f"{replicas} replicas but the servers run {server_replicas}",
              f"use at most {server_replicas} replicas")
    max_bytes = r.size(m, "max_bytes", path)
    limit = quotas.max_memory if storage is StorageType.MEMORY else quotas.max_bytes
    if max_bytes is not None and max_bytes > limit:
        which = "max_memory" if storage is StorageType.MEMORY else "max_bytes"
        r.add(child(path, "max_bytes"), f"{max_bytes} bytes is more than the tenant's {which} ({limit})",
              f"use at most {limit} bytes or raise quotas.{which}")
    name = names.stream_name(tid, dname, kind.value)
    subjects: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    events_root = names.tenant_root(ctx.prefix, tid, "events")
    if kind is StreamClassKind.LIVE:
        subjects = (f"{events_root}.{dname}.>",)
        if "subjects" in m:
            subjects = _read_relative_subjects(r, m["subjects"], child(path, "subjects"), events_root)
    else:
        if "subjects" in m:
            r.add(child(path, "subjects"), "a replay stream has no subjects of its own: it sources the live stream",
                  "remove 'subjects' here and set them on the domain's live class")
        sources = (names.stream_name(tid, dname, StreamClassKind.LIVE.value),)
    captured = subjects if live is None else live.subjects
    consumers = _read_consumers(r, m.get("consumers"), child(path, "consumers"), ctx, tid, dname, kind,
                                name, captured, quotas)
    return StreamClass(
        kind=kind, name=name, subjects=subjects, sources=sources, max_age_ns=max_age,
        duplicate_window_ns=dup, storage=storage, replicas=replicas or 1,
        discard=r.choice(m, "discard", path, DiscardPolicy, DiscardPolicy.OLD) or DiscardPolicy.OLD,
        deny_delete=r.boolean(m, "deny_delete", path, True),
        deny_purge=r.boolean(m, "deny_purge", path, False),
        max_bytes=max_bytes, max_msgs=r.integer(m, "max_msgs", path, minimum=1),
        max_msg_size=r.size(m, "max_msg_size", path), consumers=consumers)


def _read_relative_subjects(r: Reader, value: Any, path: str, root: str) -> tuple[str, ...]:
    out: list[str] = []
    for i, s in enumerate(r.sequence(value, path)):
        if not isinstance(s, str) or not names.valid_subject(s):
            r.add(item(path, i), f"{s!r} is not a valid subject",
                  "use dot-separated tokens relative to the tenant's events root, e.g. 'billing.>'")
            continue
        out.append(f"{root}.{s}")
    if value == []:
        r.add(path, "no subjects given", "list at least one subject or remove 'subjects' to use the default")
    return tuple(out)


def _read_consumers(r: Reader, value: Any, path: str, ctx: TenantContext, tid: str, dname: str,
                    kind: StreamClassKind, stream: str, captured: tuple[str, ...],
                    quotas: Quotas) -> tuple[ConsumerSpec, ...]:
    out: list[ConsumerSpec] = []
    seen: set[str] = set()
    tenant_base = names.join_subject(ctx.prefix, tid)
    for i, raw in enumerate(r.sequence(value, path)):
        cpath = item(path, i)
        m = r.mapping(raw, cpath, CONSUMER_KEYS, required=("name",))
        if m is None:
            continue
        cname = r.string(m, "name", cpath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        ckind = r.choice(m, "kind", cpath, ConsumerKind, ConsumerKind.PULL) or ConsumerKind.PULL
        filt: Optional[str] = None
        rel = r.string(m, "filter", cpath)
        if rel is not None:
            if not names.valid_subject(rel):
                r.add(child(cpath, "filter"), f"{rel!r} is not a valid subject",
                      "use dot-separated tokens relative to the tenant, e.g. 'events.billing.>'")
            else:
                filt = f"{tenant_base}.{rel}"
                if captured and not names.within_any(filt, captured):
                    r.add(child(cpath, "filter"), f"{rel!r} is outside the stream's subjects "
                          f"({', '.join(captured)})",
                          f"use a filter under {captured[0][len(tenant_base) + 1:]}")
        dead_letter = r.boolean(m, "dead_letter", cpath, False)
        max_deliver = r.integer(m, "max_deliver", cpath, minimum=1, allow=() if dead_letter else (-1,))
        if max_deliver is None:
            max_deliver = DEAD_LETTER_MAX_DELIVER if dead_letter else -1
        pending = r.integer(m, "max_ack_pending", cpath, default=quotas.max_ack_pending, minimum=1)
        if pending is not None and pending > quotas.max_ack_pending:
            r.add(child(cpath, "max_ack_pending"), f"{pending} is more than the tenant's max_ack_pending "
                  f"({quotas.max_ack_pending})", f"use at most {quotas.max_ack_pending}")
        rate = r.integer(m, "rate_limit", cpath, minimum=1)
        if rate is not None and ckind is ConsumerKind.PULL:
            r.add(child(cpath, "rate_limit"), "a pull consumer cannot have a rate limit",
                  "remove rate_limit or use kind: push")
        ack_wait = r.duration(m, "ack_wait", cpath, default=DEFAULT_ACK_WAIT)
        if cname is None:
            continue
        if cname in seen:
            r.add(child(cpath, "name"), f"duplicate consumer {cname!r} on stream {stream}",
                  "give every consumer of a stream its own name")
            continue
        seen.add(cname)
        durable = names.consumer_name(stream, cname)
        deliver = None
        if ckind is ConsumerKind.PUSH:
            deliver = names.join_subject(tenant_base, names.DELIVER_ROOT, dname, kind.value, cname)
        out.append(ConsumerSpec(name=cname, durable=durable, stream=stream, kind=ckind, filter_subject=filt,
                                ack_wait_ns=ack_wait or DEFAULT_ACK_WAIT, max_deliver=max_deliver,
                                max_ack_pending=pending or quotas.max_ack_pending, rate_limit_bps=rate,
                                dead_letter=dead_letter, deliver_subject=deliver))
    return tuple(out)


def _read_kv(r: Reader, value: Any, path: str, tid: str, quotas: Quotas) -> tuple[KvSpec, ...]:
    out: list[KvSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        kpath = item(path, i)
        m = r.mapping(raw, kpath, KV_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", kpath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        history = r.integer(m, "history", kpath, default=1, minimum=1, maximum=KV_MAX_HISTORY)
        ttl = r.duration(m, "ttl", kpath)
        max_bytes = _bounded_size(r, m, kpath, quotas)
        if name is None or history is None:
            continue
        if name in seen:
            r.add(child(kpath, "name"), f"duplicate KV bucket {name!r}", "give every KV bucket its own name")
            continue
        seen.add(name)
        out.append(KvSpec(name, names.bucket_name(tid, name), history, ttl, max_bytes))
    return tuple(out)


def _read_objects(r: Reader, value: Any, path: str, tid: str, quotas: Quotas) -> tuple[ObjectStoreSpec, ...]:
    out: list[ObjectStoreSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        opath = item(path, i)
        m = r.mapping(raw, opath, OBJECT_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", opath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        ttl = r.duration(m, "ttl", opath)
        max_bytes = _bounded_size(r, m, opath, quotas)
        if name is None:
            continue
        if name in seen:
            r.add(child(opath, "name"), f"duplicate object store {name!r}", "give every object store its own name")
            continue
        seen.add(name)
        out.append(ObjectStoreSpec(name, names.bucket_name(tid, name), max_bytes, ttl))
    return tuple(out)


def _bounded_size(r: Reader, m: Mapping[str, Any], path: str, quotas: Quotas) -> Optional[int]:
    n = r.size(m, "max_bytes", path)
    if n is not None and n > quotas.max_bytes:
        r.add(child(path, "max_bytes"), f"{n} bytes is more than the tenant's max_bytes ({quotas.max_bytes})",
              f"use at most {quotas.max_bytes} bytes or raise quotas.max_bytes")
    return n


def _read_users(r: Reader, value: Any, path: str) -> tuple[UserSpec, ...]:
    out: list[UserSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        upath = item(path, i)
        m = r.mapping(raw, upath, USER_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", upath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        role = r.choice(m, "role", upath, UserRole, UserRole.SERVICE)
        if name is None or role is None:
            continue
        if name in RESERVED_USERS or name in seen:
            why = "is made for every tenant" if name in RESERVED_USERS else "is declared twice"
            r.add(child(upath, "name"), f"user {name!r} {why}",
                  f"pick another name (reserved: {', '.join(RESERVED_USERS)})")
            continue
        seen.add(name)
        out.append(UserSpec(name, role))
    return tuple(out)
