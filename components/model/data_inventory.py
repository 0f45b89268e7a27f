"""Every stored object an environment declares, as the data guard lists them (pure).

Tenants' streams (domain classes and the dead-letter stream), KV buckets (stream ``KV_<bucket>``)
and object stores (``OBJ_<bucket>``). Platform ingest streams are not listed: they are rebuilt
from the tenants' subjects and removed only with a whole shard.
"""
from __future__ import annotations

from components.model.data_loss import STREAM_PREFIX, Kind
from components.model.spec_model import Environment, Tenant


def _entry(tenant: str, kind: Kind, name: str) -> dict[str, str]:
    return {"account": tenant, "kind": kind.value, "name": name, "stream": f"{STREAM_PREFIX[kind]}{name}"}


def tenant_objects(t: Tenant) -> list[dict[str, str]]:
    streams = [s.name for s in t.streams] + ([t.dead_letter_stream] if t.dead_letter_stream else [])
    return ([_entry(t.id, Kind.STREAM, s) for s in streams]
            + [_entry(t.id, Kind.KV, kv.bucket) for kv in t.kv_buckets]
            + [_entry(t.id, Kind.OBJECT_STORE, o.bucket) for o in t.object_stores])


def declared_objects(env: Environment) -> dict[str, list[dict[str, str]]]:
    """Tenant id → its objects, in file order."""
    return {t.id: tenant_objects(t) for t in env.tenants}
