"""Checks over everything the layout names, run once every section was read.

- Every rendered name is a valid NATS name (streams, consumers, buckets become API subject tokens
  and file names on the server), and no two things share a name where the server or the people
  reading dashboards would confuse them: account names across the estate, stream and bucket names
  across all accounts (KV bucket ``x`` is stream ``KV_x``), consumers per stream, users per
  account. A collision names both sources.
- Each account's streams, KV buckets and object stores fit its JetStream quota together
  (``checks.check_account_storage``), tenants and declared accounts alike.
- A platform consumer whose filter names a tenant (``acme.logs.>``) names a declared one.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from components.model import jetstream_plan as plan
from components.model.environment import names
from components.model.environment.checks import StorageClaim, check_account_storage
from components.model.environment.layout import Layout
from components.model.environment.model import (
    JetStreamSpec,
    JsStream,
    KvSpec,
    NamedAccount,
    ObjectStoreSpec,
    Platform,
    Tenant,
)
from components.model.environment.names import render
from components.model.environment.schema import Reader, child, item
from components.model.jetstream import units


class _Owners:
    """First owner of each name in one namespace; reports a second one with both sources."""

    def __init__(self, r: Reader, what: str):
        self.r, self.what, self.seen = r, what, {}  # type: ignore[var-annotated]

    def claim(self, name: str, source: str, check_name: bool = True) -> None:
        if check_name and not names.valid_server_name(name):
            self.r.add(source, f"{self.what} name {name!r} is not a valid NATS name",
                       f"use 1-{names.MAX_NAME_LENGTH} letters, digits, '_' or '-' (check the layout's name templates)")
            return
        first = self.seen.get(name)
        if first is not None:
            self.r.add(source, f"{self.what} name {name!r} collides with the one of {first}",
                       "change the ids or the layout's name templates so the names differ")
        else:
            self.seen[name] = source


def check_estate(r: Reader, tenants: tuple[Tenant, ...], accounts: tuple[NamedAccount, ...],
                 platform: Platform, platform_account_names: Iterable[str],
                 js: Optional[JetStreamSpec] = None) -> None:
    """Reports what the servers would refuse across every account of the estate, with the field to fix.

    Account and stream names are unique across tenants, declared accounts and platform shards (every
    dashboard and output lists them side by side); users and consumers are unique within their
    account, its streams capture no subject twice and fit its storage quota; a platform consumer's
    filter names declared tenants only.
    """
    if js is not None:
        _check_declared_reservations(r, tenants, accounts, js)
    account_names = _Owners(r, "account")
    streams = _Owners(r, "stream")
    for i, t in enumerate(tenants):
        tpath = item("tenants", i)
        account_names.claim(t.account_name or t.id, child(tpath, "id"), check_name=False)
        _check_account_objects(r, streams, t.account_name, tpath, _tenant_streams(t, tpath), t.kv_buckets,
                               t.object_stores)
        users = _Owners(r, f"user (account {t.account_name})")
        for key, user in t.user_names:
            users.claim(user, child(tpath, f"users.{key}"), check_name=False)
        claims = _tenant_claims(t, tpath)
        if not _one_alone_too_big(claims, t.quotas.max_bytes, t.quotas.max_memory):   # reported where it is read
            check_account_storage(r, t.account_name, claims, t.quotas.max_bytes, t.quotas.max_memory,
                                  child(tpath, "quotas"))
    for shard, name in enumerate(platform_account_names):
        account_names.claim(name, f"platform (shard {shard})", check_name=False)
    for i, a in enumerate(accounts):
        apath = item("accounts", i)
        account_names.claim(a.name, child(apath, "name"), check_name=False)
        js_streams = [(s.name, child(apath, f"streams[{j}]"), s) for j, s in enumerate(a.streams)]
        _check_account_objects(r, streams, a.name, apath, js_streams, a.kv_buckets, a.object_stores)
        if a.jetstream is not None:
            claims = [_claim(name, s.inputs, p) for name, p, s in js_streams]
            claims += _bucket_claims(a.kv_buckets, a.object_stores, apath)
            check_account_storage(r, a.name, claims, a.jetstream.max_bytes, a.jetstream.max_memory,
                                  child(apath, "jetstream"))
    _check_platform_filters(r, platform, {t.id for t in tenants})


def check_overlaps(r: Reader, own: list[tuple[str, str, Any]], account: str) -> None:
    """Reports two streams of one account that capture the same subject.

    The server refuses the second with 10065 (subjects overlap), half-way through an ``up``.
    """
    seen: list[tuple[str, str]] = []
    for name, source, stream in own:
        if stream is None:
            continue
        for subject in _stream_subjects(stream):
            for other_subject, other in seen:
                if other != name and names.subjects_overlap(subject, other_subject):
                    r.add(child(source, "subjects"),
                          f"stream {name} subject {subject!r} overlaps {other_subject!r} of stream {other} "
                          f"(account {account})", "give each stream of an account its own subjects")
            seen.append((subject, name))


def _stream_subjects(stream: Any) -> tuple[str, ...]:
    return stream.subjects if isinstance(stream, JsStream) else tuple(stream.subjects)


def _tenant_streams(t: Tenant, tpath: str) -> list[tuple[str, str, Any]]:
    """(name, field path, stream) of every stream of the tenant's account, in file order."""
    out: list[tuple[str, str, Any]] = []
    for d in t.domains:
        for sc in d.streams:
            out.append((sc.name, child(tpath, f"domains.{d.name}.{sc.kind.value}"), sc))
    for i, js in enumerate(t.js_streams):
        out.append((js.name, child(tpath, f"streams[{i}]"), js))
    if t.dead_letter_stream:
        out.append((t.dead_letter_stream, child(tpath, "domains"), None))
    return out


def _one_alone_too_big(claims: list[StorageClaim], max_bytes: int, max_memory: int) -> bool:
    return any(c.max_bytes > (max_memory if c.storage == "memory" else max_bytes) for c in claims)


def _check_account_objects(r: Reader, streams: _Owners, account: str, path: str,
                           own: list[tuple[str, str, Any]], kvs: tuple[KvSpec, ...],
                           objects: tuple[ObjectStoreSpec, ...]) -> None:
    check_overlaps(r, own, account)
    consumers = _Owners(r, f"consumer (account {account})")
    for name, source, stream in own:
        streams.claim(name, source)
        for c_name in _consumer_names(stream):
            consumers.claim(c_name, f"{source} consumer {c_name}")
    for kv in kvs:
        streams.claim(f"KV_{kv.bucket}", f"{path} KV bucket {kv.bucket}")
    for o in objects:
        streams.claim(f"OBJ_{o.bucket}", f"{path} object store {o.bucket}")


def _consumer_names(stream: Any) -> list[str]:
    if stream is None:
        return []
    if isinstance(stream, JsStream):
        return [c.name for c in stream.consumers]
    return [c.durable for c in stream.consumers]


def _tenant_claims(t: Tenant, path: str) -> list[StorageClaim]:
    claims = []
    for d in t.domains:
        for s in d.streams:
            claims.append(StorageClaim(s.name, s.storage.value, s.max_bytes or -1, s.replicas,
                                       child(path, f"domains.{d.name}.{s.kind.value}")))
    claims += [_claim(s.name, s.inputs, child(path, f"streams.{s.name}")) for s in t.js_streams]
    if t.dead_letter_stream:
        claims.append(_claim(t.dead_letter_stream, plan.dead_letter_inputs(t), child(path, "domains")))
    return claims + _bucket_claims(t.kv_buckets, t.object_stores, path)


def _claim(name: str, inputs: Mapping[str, Any], path: str) -> StorageClaim:
    raw = inputs.get("max_bytes")
    size = units.parse_size(raw) if raw not in (None, "") else -1
    return StorageClaim(name, str(inputs.get("storage") or "file"), size,
                        int(inputs.get("num_replicas") or 1), path)


def _bucket_claims(kvs: tuple[KvSpec, ...], objects: tuple[ObjectStoreSpec, ...], path: str) -> list[StorageClaim]:
    out = [StorageClaim(f"KV_{kv.bucket}", "file", kv.max_bytes or -1, kv.replicas,
                        child(path, f"kv_buckets.{kv.name}"))
           for kv in kvs]
    out += [StorageClaim(f"OBJ_{o.bucket}", "file", o.max_bytes or -1, o.replicas,
                         child(path, f"object_stores.{o.name}"))
            for o in objects]
    return out


def _check_platform_filters(r: Reader, platform: Platform, tenant_ids: set[str]) -> None:
    """A literal tenant token in a platform filter must be a declared tenant: a filter on
    ``acmee.logs.>`` is accepted by the server and silently matches nothing."""
    for i, pc in enumerate(platform.consumers):
        wild = pc.stream_subject.split(".")
        for want, got in zip(wild, pc.filter_subject.split(".")):
            if want == "*" and got not in ("*", ">") and got not in tenant_ids:
                r.add(child(item("platform.consumers", i), "filter"),
                      f"{pc.filter_subject!r} names tenant {got!r}, which is not declared",
                      f"use a declared tenant ({', '.join(sorted(tenant_ids)) or 'none'}) or '*'")
                break


def platform_account_names(platform: Platform, layout: Layout) -> list[str]:
    """The JWT names of the platform ingest accounts (``layout.names.platform_account``)."""
    return [render(layout.names.platform_account, shard=str(i), stack=layout.stack) for i in range(platform.shards)]


def _check_declared_reservations(r: Reader, tenants: tuple[Tenant, ...], accounts: tuple[NamedAccount, ...],
                                 js: JetStreamSpec) -> None:
    """The server reserves declared accounts' JetStream quotas too; the tenants' own sum is
    checked in ``checks``, so this reports only what the declared accounts add."""
    for key, limit, server_key in (("max_bytes", js.max_file, "max_file"), ("max_memory", js.max_memory, "max_memory")):
        tenant_sum = sum(getattr(t.quotas, key) for t in tenants)
        declared = sum(max(getattr(a.jetstream, key), 0) for a in accounts if a.jetstream is not None)
        if declared and tenant_sum <= limit < tenant_sum + declared:
            r.add(f"jetstream.{server_key}",
                  f"tenants ({tenant_sum}) and declared accounts ({declared}) reserve {tenant_sum + declared} bytes "
                  f"of {key}, more than the servers' jetstream.{server_key} ({limit})",
                  f"raise jetstream.{server_key} to at least {tenant_sum + declared} or lower the accounts' {key}")
