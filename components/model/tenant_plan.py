"""What each tenant and platform shard is made of, in identity terms (pure).

Maps the validated environment onto account and user specs: the tenant's quotas become its account
limits (JetStream quotas enforced by the server), its three subject trees become stream exports,
and each platform ingest shard imports the trees of the tenants assigned to it.
"""
from __future__ import annotations

from typing import Mapping, Optional

from components.model.identity import roles
from components.model.identity.account import AccountLimits, AccountSpec, JetStreamLimits
from components.model.identity.tenancy import platform_imports, tenant_exports
from components.model.identity.user import UserSpec
from components.model.spec_model import Environment, Tenant, UserRole

TENANT_USER_ROLES = ("service", "reader", "leaf", "provisioning")
PLATFORM_USER_ROLES = ("consumer", "provisioning")


def tenant_account_spec(tenant: Tenant, prefix: Optional[str]) -> AccountSpec:
    q = tenant.quotas
    limits = AccountLimits(
        conn=q.max_connections,
        jetstream=JetStreamLimits(
            mem_storage=q.max_memory,
            disk_storage=q.max_bytes,
            streams=q.max_streams,
            consumer=q.max_consumers,
            max_ack_pending=q.max_ack_pending,
        ),
    )
    return AccountSpec(
        name=tenant.id,
        limits=limits,
        exports=tuple(tenant_exports(tenant.id, prefix)),
        description=tenant.name,
        tags=(f"tier:{tenant.tier}",),
    )


def tenant_user_specs(tenant: Tenant, prefix: Optional[str]) -> dict[str, UserSpec]:
    """The four users every tenant has, then the extra users its environment entry declares
    (``users: [{name, role}]``), keyed by the name used in the file."""
    users = {
        "service": roles.tenant_service_user(tenant.id, prefix),
        "reader": roles.tenant_reader_user(tenant.id, prefix),
        "leaf": roles.tenant_leaf_user(tenant.id, prefix),
        "provisioning": roles.tenant_provisioning_user(tenant.id),
    }
    make = {UserRole.SERVICE: roles.tenant_service_user, UserRole.READER: roles.tenant_reader_user,
            UserRole.BACKUP: roles.tenant_backup_user}
    for extra in tenant.users:
        users[extra.name] = make[extra.role](tenant.id, prefix, name=f"{tenant.id}-{extra.name}")
    return users


def shard_members(env: Environment) -> dict[int, list[str]]:
    """Tenant ids per platform shard, in the environment's order."""
    members: dict[int, list[str]] = {i: [] for i in range(env.platform.shards)}
    for t in env.tenants:
        members[env.shard_of(t.id)].append(t.id)
    return members


def platform_account_spec(shard: int, tenant_pubs: Mapping[str, str], prefix: Optional[str]) -> AccountSpec:
    """The ingest account of one shard: JetStream on (its platform streams), imports of its tenants."""
    imports = []
    for tenant_id in sorted(tenant_pubs):
        imports.extend(platform_imports(tenant_id, tenant_pubs[tenant_id], prefix))
    return AccountSpec(
        name=f"platform-ingest-{shard}",
        limits=AccountLimits(),
        imports=tuple(imports),
        description=f"Platform ingest shard {shard}",
    )


def platform_user_specs(shard: int, prefix: Optional[str]) -> dict[str, UserSpec]:
    return {
        "consumer": roles.platform_consumer_user(prefix, name=f"platform-consumer-{shard}"),
        "provisioning": roles.provisioning_user(f"platform-provisioning-{shard}"),
    }
