"""Spreading tenants over platform ingest accounts (shards).

Why shards: every tenant adds three stream imports to the platform account JWT, and servers refuse
JWTs over 1 MiB (the same bound applies to the ``$SYS.REQ.CLAIMS.UPDATE`` message under the default
``max_payload``). About 1,530 tenants with 63-character ids fit, about 2,050 with 20-character ids
(measured with real encodes by ``tests/support/shard_budget.py``; a unit test pins the numbers).

``shard_of`` uses rendezvous (highest-random-weight) hashing over SHA-256: a tenant's shard depends
only on its id and the shard count, so adding or removing tenants never moves another tenant, and
raising the count from n to n+1 moves only the tenants that land on the new shard (about 1/(n+1)).
"""
from __future__ import annotations

import hashlib


def _weight(tenant_id: str, shard: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{tenant_id}\x00{shard}".encode("utf-8")).digest()[:8], "big")


def shard_of(tenant_id: str, shard_count: int) -> int:
    """The platform shard (0-based) of ``tenant_id`` among ``shard_count`` shards."""
    if shard_count < 1:
        raise ValueError(f"shard_count must be >= 1, got {shard_count}")
    return max(range(shard_count), key=lambda s: (_weight(tenant_id, s), -s))


