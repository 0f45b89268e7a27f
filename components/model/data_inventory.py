"""Every stored object an environment declares, as the data guard lists them (pure).

Tenants' and declared accounts' streams (domain classes, streams declared with their own fields,
the dead-letter stream), KV buckets (stream ``KV_<bucket>``) and object stores (``OBJ_<bucket>``).
Platform ingest streams are not listed: they are rebuilt from the tenants' subjects and removed
only with a whole shard.
"""
from __future__ import annotations

from components.model.data_loss import STREAM_PREFIX, Kind
from components.model.environment.model import Environment, NamedAccount, Tenant


def _entry(tenant: str, kind: Kind, name: str) -> dict[str, str]:
    return {"account": tenant, "kind": kind.value, "name": name, "stream": f"{STREAM_PREFIX[kind]}{name}"}


def tenant_objects(t: Tenant) -> list[dict[str, str]]:
    """Domain streams, streams declared with their own fields, dead letters, KV buckets, object stores."""
    return ([_entry(t.id, Kind.STREAM, s) for s in t.stream_names]
            + [_entry(t.id, Kind.KV, kv.bucket) for kv in t.kv_buckets]
            + [_entry(t.id, Kind.OBJECT_STORE, o.bucket) for o in t.object_stores])


def account_objects(a: NamedAccount) -> list[dict[str, str]]:
    """A declared account's streams, KV buckets and object stores (none without JetStream)."""
    return ([_entry(a.name, Kind.STREAM, s.name) for s in a.streams]
            + [_entry(a.name, Kind.KV, kv.bucket) for kv in a.kv_buckets]
            + [_entry(a.name, Kind.OBJECT_STORE, o.bucket) for o in a.object_stores])


def declared_objects(env: Environment) -> dict[str, list[dict[str, str]]]:
    """Tenant id or declared account name → its objects, in file order."""
    out = {t.id: tenant_objects(t) for t in env.tenants}
    out.update({a.name: account_objects(a) for a in env.accounts if a.jetstream is not None})
    return out
