"""Tiers and tenants: read, apply defaults, check against the tenant's own quotas.

Subject mapping of a domain (why ``replay`` sources ``live``): JetStream refuses two streams in one
account with overlapping subjects, and an event must be published once. So the ``live`` stream of
domain ``d`` owns ``[<prefix>.]<tenant>.events.d.>`` (or the ``subjects`` given, all under the
tenant's ``events`` root), and the ``replay`` stream has no subjects of its own: it sources the live
stream and keeps the same messages longer (default 90 days against 30) for re-processing, with its
own consumers. ``logs`` and ``otel`` are not stored per tenant: the platform's ingest shards take
them (see ``platform``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from components.model import jetstream_plan as plan
from components.model.environment import names
from components.model.environment.items import catalogue_check, catalogue_extras, read_js_streams
from components.model.environment.layout import Layout
from components.model.environment.layout_section import id_problem
from components.model.environment.model import (
    QUOTA_FIELDS,
    DiscardPolicy,
    Domain,
    JsStream,
    KvSpec,
    ObjectStoreSpec,
    Quotas,
    ServersSpec,
    StorageType,
    StreamClass,
    StreamClassKind,
    Tenant,
    TenantSubjects,
    Tier,
    UserSpec,
)
from components.model.environment.names import render
from components.model.environment.schema import Reader, child, did_you_mean, item, read_unique
from components.model.environment.tenant_memo import TenantMemo
from components.model.environment.tenant_parts import (
    RESERVED_USERS,
    read_consumers,
    read_credentials,
    read_kv,
    read_objects,
    read_users,
)
from components.model.environment.units import HOUR, MINUTE, format_duration
from components.model.identity.role_sets import BINDABLE_BUILTINS
from components.model.jetstream.consumer import validate_and_normalize_consumer
from components.model.jetstream.stream import validate_and_normalize_stream

TIER_NAME = names.ID_PATTERN
TENANT_KEYS = ("id", "name", "tier", "quotas", "domains", "streams", "kv_buckets", "object_stores", "users",
               "credentials")
DOMAIN_KEYS = ("live", "replay")
CLASS_KEYS = ("max_age", "max_bytes", "max_msgs", "max_msg_size", "storage", "replicas",
              "duplicate_window", "discard", "deny_delete", "deny_purge", "subjects", "consumers")

CLASS_DEFAULT_MAX_AGE = {StreamClassKind.LIVE: 720 * HOUR, StreamClassKind.REPLAY: 2160 * HOUR}
DEFAULT_DUPLICATE_WINDOW = 2 * MINUTE
_UNLIMITED = Quotas(*(10**18 for _ in QUOTA_FIELDS))


@dataclasses.dataclass(frozen=True)
class TenantContext:
    """What reading a tenant needs from the rest of the file."""

    prefix: Optional[str]
    servers: Optional[ServersSpec]
    tiers: Mapping[str, Tier]
    layout: Layout = Layout()
    every_tenant: Optional[Mapping[str, Any]] = None   # layout.every_tenant, merged into each tenant
    roles: tuple[str, ...] = BINDABLE_BUILTINS


EVERY_TENANT_KEYS = ("streams", "kv_buckets", "object_stores", "users")


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
    """The ``tiers`` section: named quota sets tenants refer to; at least one is required.

    A tier with problems is still kept (unlimited) so its tenants do not also report it unknown.
    """
    tiers: dict[str, Tier] = {}
    raw = r.named_map(value, path, TIER_NAME, names.ID_FIX)
    if not raw and value is None:
        r.add(path, "missing", "declare at least one tier, e.g. 'tiers: {standard: {max_streams: 20, …}}'")
    for name, settings in raw.items():
        quotas = read_quotas(r, settings, child(path, name), None)
        tiers[name] = Tier(name, quotas or _UNLIMITED)  # a broken tier is reported once, never "unknown"
    return tiers


def read_tenants(r: Reader, value: Any, path: str, ctx: TenantContext,
                 memo: Optional[TenantMemo] = None) -> tuple[Tenant, ...]:
    """The ``tenants`` section: each tenant once by id, read against the layout, tiers and roles.

    Those are ``ctx``'s; with ``memo``, a tenant checked before in the same context is taken from it.
    """
    if memo is None:
        return read_unique(r, value, path, lambda raw, tpath: _read_tenant(r, raw, tpath, ctx), lambda t: t.id,
                           "id", "tenant")
    scope = memo.scope(ctx)

    def read_one(raw: Any, tpath: str) -> Optional[Tenant]:
        key = scope.key(raw)
        kept = memo.get(key)
        if kept is not None:
            return kept
        problems_before = len(r.problems.items)
        tenant = _read_tenant(r, raw, tpath, ctx)
        if tenant is not None and len(r.problems.items) == problems_before:
            memo.put(key, tenant)
        return tenant

    return read_unique(r, value, path, read_one, lambda t: t.id, "id", "tenant")


def _read_tenant(r: Reader, raw: Any, path: str, ctx: TenantContext) -> Optional[Tenant]:
    m = r.mapping(raw, path, TENANT_KEYS, required=("id", "tier"))
    if m is None:
        return None
    tid = r.string(m, "id", path)
    if tid is not None and (why := id_problem(ctx.layout, tid)):
        r.add(child(path, "id"), why, ctx.layout.tenant_id.fix)
        tid = None
    display = r.string(m, "name", path, default=tid)
    tier_name = r.string(m, "tier", path)
    tier = ctx.tiers.get(tier_name) if tier_name else None
    if tier_name and tier is None:
        known = ", ".join(sorted(ctx.tiers)) or "(none declared)"
        r.add(child(path, "tier"), f"unknown tier {tier_name!r}",
              f"{did_you_mean(tier_name, ctx.tiers)}use one of the tiers declared under 'tiers': {known}")
    quotas: Optional[Quotas] = None
    if tier is not None:
        quotas = tier.quotas
        if "quotas" in m:
            quotas = read_quotas(r, m["quotas"], child(path, "quotas"), tier.quotas)
    elif "quotas" in m:  # still report problems inside the overrides
        read_quotas(r, m["quotas"], child(path, "quotas"), _UNLIMITED)
    # A bad id or tier does not stop the rest of the tenant from being checked: a stand-in id and
    # limits that never trigger let every other problem be reported in the same run.
    usable = tid is not None and quotas is not None and tier is not None and tier.quotas is not _UNLIMITED
    tid_ = tid or "invalid"
    q = quotas or _UNLIMITED
    subjects = tenant_subjects(ctx.layout, tid_)
    domains: list[Domain] = []
    dpath = child(path, "domains")
    for dname, draw in r.named_map(m.get("domains"), dpath, names.ID_PATTERN, names.ID_FIX).items():
        domain = _read_domain(r, draw, child(dpath, dname), ctx, tid_, dname, q)
        if domain is not None:
            domains.append(domain)
    server_replicas = ctx.servers.replicas if ctx.servers else 1
    lay = ctx.layout
    account = render(lay.names.account, tenant=tid_, stack=lay.stack)
    values = {"tenant": tid_, "root": subjects.root, "account": account, "stack": lay.stack}
    parts = _with_every_tenant(r, m, ctx, values)
    js_streams: tuple[JsStream, ...] = ()
    kvs: tuple[KvSpec, ...] = ()
    objects: tuple[ObjectStoreSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    for source, part in parts:
        spath = path if source is None else source
        js_streams += read_js_streams(r, part.get("streams"), child(spath, "streams"), values,
                                      deliver_root=lay.deliver_root(tid_))
        kvs += read_kv(r, part.get("kv_buckets"), child(spath, "kv_buckets"), tid_, q, server_replicas,
                       template=lay.names.kv)
        objects += read_objects(r, part.get("object_stores"), child(spath, "object_stores"), tid_, q,
                                server_replicas, template=lay.names.object_store)
        users += read_users(r, part.get("users"), child(spath, "users"), ctx.roles)
    credentials = read_credentials(r, m.get("credentials"), child(path, "credentials"), users)
    if not usable:
        return None
    any_dead_letter = any(c.dead_letter for d in domains for s in d.streams for c in s.consumers) or any(
        c.dead_letter for s in js_streams for c in s.consumers)
    user_keys = (*RESERVED_USERS, *(u.name for u in users))
    tenant = Tenant(id=tid_, name=display or tid_, tier=str(tier_name), quotas=q, subjects=subjects,
                    domains=tuple(domains), kv_buckets=kvs, object_stores=objects, users=users,
                    dead_letter_stream=render(lay.names.dead_letter, tenant=tid_, stack=lay.stack)
                    if any_dead_letter else None,
                    credentials=credentials, account_name=account, js_streams=js_streams,
                    user_names=tuple((k, render(lay.names.user, tenant=tid_, user=k, account=account))
                                     for k in user_keys))
    _check_quota_counts(r, tenant, path)
    _check_catalogue(r, tenant, path)
    return tenant


def _check_catalogue(r: Reader, t: Tenant, path: str) -> None:
    """The inputs each domain stream and consumer will get, through the JetStream catalogue now, so a
    bad field is reported with the file before a preview ever runs."""
    for d in t.domains:
        for sc in d.streams:
            cpath = child(child(path, "domains"), f"{d.name}.{sc.kind.value}")
            catalogue_check(r, validate_and_normalize_stream, plan.stream_inputs(sc), cpath)
            for c in sc.consumers:
                catalogue_check(r, validate_and_normalize_consumer, plan.consumer_inputs(c),
                                child(cpath, f"consumers.{c.name}"))


def tenant_subjects(layout: Layout, tid: str) -> TenantSubjects:
    """The tenant's subjects under ``layout`` (see ``TenantSubjects``)."""
    trees = layout.trees(tid)
    whole = layout.tree(tid, "")

    def tree(name: str) -> str:
        return trees.get(name, whole)

    return TenantSubjects(logs=tree("logs"), events=tree("events"), otel=tree("otel"),
                          deliver=f"{layout.deliver_root(tid)}.>", root=layout.root(tid),
                          trees=tuple(trees.items()), publish=layout.publish_subjects(tid),
                          mappings=tuple(layout.legacy_mappings(tid).items()))


def _with_every_tenant(r: Reader, m: Mapping[str, Any], ctx: TenantContext,
                       values: Mapping[str, str]) -> list[tuple[Optional[str], Mapping[str, Any]]]:
    """The tenant's own parts, then those every tenant gets (``layout.every_tenant``), each with the
    path problems are reported under (None: the tenant's own)."""
    parts: list[tuple[Optional[str], Mapping[str, Any]]] = [(None, m)]
    if ctx.every_tenant:
        parts.append(("layout.every_tenant", ctx.every_tenant))
    return parts


def _check_quota_counts(r: Reader, t: Tenant, path: str) -> None:
    streams = (len(t.streams) + len(t.js_streams) + len(t.kv_buckets) + len(t.object_stores)
               + (1 if t.dead_letter_stream else 0))
    if streams > t.quotas.max_streams:
        r.add(child(path, "quotas.max_streams"),
              f"the tenant needs {streams} streams (domains, KV buckets, object stores, dead letters) "
              f"but max_streams is {t.quotas.max_streams}",
              f"raise quotas.max_streams to at least {streams} or use a larger tier")
    consumers = len(t.consumer_names)
    if consumers > t.quotas.max_consumers:
        r.add(child(path, "quotas.max_consumers"),
              f"the tenant declares {consumers} consumers but max_consumers is {t.quotas.max_consumers}",
              f"raise quotas.max_consumers to at least {consumers} or use a larger tier")


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
    m = r.mapping({} if raw is None else raw, path, CLASS_KEYS + catalogue_extras("stream"))
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
    lay = ctx.layout
    name = render(lay.names.stream, tenant=tid, domain=dname, stack=lay.stack, **{"class": kind.value})
    subjects: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    events_root = lay.stored_root(tid)
    if kind is StreamClassKind.LIVE:
        subjects = (f"{events_root}.{dname}.>",)
        if "subjects" in m:
            subjects = _read_relative_subjects(r, m["subjects"], child(path, "subjects"), events_root)
    else:
        if "subjects" in m:
            r.add(child(path, "subjects"), "a replay stream has no subjects of its own: it sources the live stream",
                  "remove 'subjects' here and set them on the domain's live class")
        sources = (render(lay.names.stream, tenant=tid, domain=dname, stack=lay.stack,
                          **{"class": StreamClassKind.LIVE.value}),)
    captured = subjects if live is None else live.subjects
    consumers = read_consumers(r, m.get("consumers"), child(path, "consumers"), lay, tid, dname, kind,
                                name, captured, quotas)
    return StreamClass(
        kind=kind, name=name, subjects=subjects, sources=sources, max_age_ns=max_age,
        duplicate_window_ns=dup, storage=storage, replicas=replicas or 1,
        discard=r.choice(m, "discard", path, DiscardPolicy, DiscardPolicy.OLD) or DiscardPolicy.OLD,
        deny_delete=r.boolean(m, "deny_delete", path, True),
        deny_purge=r.boolean(m, "deny_purge", path, False),
        max_bytes=max_bytes, max_msgs=r.integer(m, "max_msgs", path, minimum=1),
        max_msg_size=r.size(m, "max_msg_size", path), consumers=consumers,
        extra=tuple((k, m[k]) for k in catalogue_extras("stream") if k in m))


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
