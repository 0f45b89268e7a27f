"""How many tenants one platform ingest account (shard) can import, measured with real JWT encodes.

Each tenant adds three stream imports to the platform account's JWT and servers refuse a JWT over
1 MiB, so the bound is the encoded size, not a count anyone picked. The product assigns tenants to
shards with ``components.model.identity.sharding.shard_of``; these functions size that choice.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Optional

from components.model.identity.account import AccountLimits, AccountSpec, account_claims
from components.model.identity.jwt_codec import MAX_TOKEN_BYTES, issue
from components.model.identity.keys import new_account_key, new_operator_key
from components.model.identity.sharding import shard_of
from components.model.identity.tenancy import platform_imports

#: Room left in the platform JWT for exports, signing keys, revocations and future fields.
DEFAULT_HEADROOM_BYTES = 64 * 1024


def assign(tenant_ids: Iterable[str], shard_count: int) -> dict[str, int]:
    """Each distinct tenant id mapped to its shard among ``shard_count`` (``shard_of``), sorted by id."""
    return {t: shard_of(t, shard_count) for t in sorted(set(tenant_ids))}


def platform_jwt_bytes(tenant_ids: Iterable[str], prefix: Optional[str] = None) -> int:
    """Bytes of a platform account JWT importing the trees of ``tenant_ids`` (real encode)."""
    # Every account public key has 56 characters, so one exporter key measures like many.
    operator, platform, exporter = new_operator_key(), new_account_key(), new_account_key()
    imports = []
    for tenant in tenant_ids:
        imports.extend(platform_imports(tenant, exporter.public_key, prefix))
    spec = AccountSpec(name="platform-ingest-00", limits=AccountLimits(), imports=tuple(imports))
    claims = account_claims(spec, platform.public_key)
    return len(issue(claims, operator.seed, iat=2_000_000_000, max_bytes=None))


def _worst_case_ids(count: int, id_length: int) -> list[str]:
    """Distinct valid tenant ids of exactly ``id_length`` characters (zero-padded numbers)."""
    if id_length < len(str(max(count - 1, 0))):
        raise ValueError(f"tenant_id_length {id_length} too short for {count} distinct ids")
    return [f"{i:0{id_length}d}" for i in range(count)]


def shard_capacity(prefix: Optional[str] = None, tenant_id_length: int = 63,
                   max_jwt_bytes: int = MAX_TOKEN_BYTES, headroom_bytes: int = DEFAULT_HEADROOM_BYTES) -> int:
    """How many tenants with ids of ``tenant_id_length`` fit in one platform account JWT.

    Measured, not guessed: encode with a probe count, derive the per-tenant cost, then check the
    answer with a real encode and step down until it fits.
    """
    budget = max_jwt_bytes - headroom_bytes
    probe = 50
    base = platform_jwt_bytes([], prefix)
    per_tenant = (platform_jwt_bytes(_worst_case_ids(probe, tenant_id_length), prefix) - base) / probe
    count = max(0, int((budget - base) // per_tenant))
    while count > 0 and platform_jwt_bytes(_worst_case_ids(count, tenant_id_length), prefix) > budget:
        count -= max(1, count // 200)
    return count


def shards_needed(tenant_ids: Iterable[str], capacity: int) -> int:
    """Smallest shard count for which no shard holds more than ``capacity`` tenants.

    Hashing does not balance perfectly, so this may exceed ceil(n / capacity).
    """
    ids = sorted(set(tenant_ids))
    if capacity < 1:
        raise ValueError("capacity must be >= 1")
    count = max(1, math.ceil(len(ids) / capacity))
    while True:
        load = Counter(shard_of(t, count) for t in ids)
        if not load or max(load.values()) <= capacity:
            return count
        count += 1
