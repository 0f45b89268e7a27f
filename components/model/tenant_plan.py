"""What each account is made of (pure): the one place that decides a tenant's, a declared
account's and a platform shard's account JWT, users and JetStream objects (``AccountPlan``).

The tenant's quotas become its account limits (JetStream quotas enforced by the server), its
layout's trees become stream exports, its roles its users' permissions; each platform ingest shard
imports the trees of the tenants assigned to it; a declared account gets its limits, exports,
imports (resolved to the exporters' keys) and mappings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from components.model.environment.model import Environment, NamedAccount, RoleSpec, Tenant
from components.model.identity import roles
from components.model.identity.account import AccountLimits, AccountSpec, JetStreamLimits
from components.model.identity.exports import Export, ExportType, Import
from components.model.identity.permissions import Permission, UserPermissions
from components.model.identity.role_sets import RoleScope, builtin_roles, user_for_role
from components.model.identity.tenancy import platform_imports
from components.model.identity.user import UserSpec
from components.model.jetstream_plan import JetStreamPlan, account_jetstream, tenant_jetstream

TENANTS = "tenants"   # an import from every tenant (see environment.accounts)

TENANT_USER_ROLES = ("service", "reader", "leaf", "provisioning")


def tenant_account_spec(tenant: Tenant, prefix: Optional[str] = None) -> AccountSpec:
    """The tenant's account JWT spec: quotas as limits, trees exported as streams.

    Names and subjects come from the layout, and legacy subject mappings are added where the layout
    keeps unprefixed publishers working. ``prefix`` is unused: the tenant's subjects already carry
    it.
    """
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
        name=tenant.account_name or tenant.id,
        limits=limits,
        exports=tuple(Export(subject=subject, type="stream", name=f"{tenant.id}-{tree}" if tree else tenant.id)
                      for tree, subject in _trees(tenant)),
        description=tenant.name,
        tags=(f"tier:{tenant.tier}",),
        mappings=tenant.subjects.mappings,
    )


def _trees(tenant: Tenant) -> tuple[tuple[str, str], ...]:
    s = tenant.subjects
    return s.trees or (("logs", s.logs), ("events", s.events), ("otel", s.otel))


def tenant_role_scope(tenant: Tenant, stack: str = "") -> RoleScope:
    """What the tenant's roles are filled with.

    Its root, publish subjects (schema and legacy spellings), exported trees and deliver tree.
    """
    s = tenant.subjects
    legacy = tuple(src for src, _ in s.mappings)
    return RoleScope(account=tenant.account_name or tenant.id, stack=stack, tenant=tenant.id,
                     root=s.root or tenant.id, publish=(*(s.publish or (f"{s.root or tenant.id}.>",)), *legacy),
                     trees=tuple(t for _, t in _trees(tenant)), deliver=(s.deliver,),
                     buckets=roles.bucket_subjects([kv.bucket for kv in tenant.kv_buckets],
                                                   [o.bucket for o in tenant.object_stores]))


def tenant_user_specs(tenant: Tenant, prefix: Optional[str] = None,
                      role_specs: Optional[Mapping[str, RoleSpec]] = None) -> dict[str, UserSpec]:
    """The tenant's users by the name used in the file: the four every tenant has, then its own.

    Its own are the extra users its environment entry declares (``users: [{name, role}]``); JWT
    names come from the layout. ``role_specs``: the environment's roles (built-ins when None).
    """
    known = dict(builtin_roles()) if role_specs is None else dict(role_specs)
    scope = tenant_role_scope(tenant)
    users = {key: user_for_role(known[key], tenant.user_name(key), scope) for key in TENANT_USER_ROLES}
    for extra in tenant.users:
        users[extra.name] = user_for_role(known[extra.role], tenant.user_name(extra.name), scope)
    return users


def shard_members(env: Environment) -> dict[int, list[str]]:
    """Tenant ids per platform shard this stack builds, in the environment's order.

    Every shard unless ``platform.stack_shards`` narrows them.
    """
    built = env.platform.stack_shards
    members: dict[int, list[str]] = {i: [] for i in (range(env.platform.shards) if built is None else built)}
    if not members:   # shards: 0, no platform ingest account
        return members
    for t in env.tenants:
        shard = env.shard_of(t.id)
        if shard in members:
            members[shard].append(t.id)
    return members


def platform_account_spec(shard: int, tenant_pubs: Mapping[str, str], prefix: Optional[str] = None,
                          tenants: Optional[Mapping[str, Tenant]] = None, name: Optional[str] = None) -> AccountSpec:
    """The ingest account of one shard: JetStream on, its tenants' exported trees imported.

    Subjects are unchanged (``tenants`` gives each tenant's trees; without it the default layout's
    trees under ``prefix``); JetStream holds the shard's platform streams.
    """
    imports: list[Import] = []
    for tenant_id in sorted(tenant_pubs):
        if tenants is not None:
            imports.extend(Import(subject=subject, account=tenant_pubs[tenant_id], type="stream")
                           for _, subject in _trees(tenants[tenant_id]))
        else:
            imports.extend(platform_imports(tenant_id, tenant_pubs[tenant_id], prefix))
    return AccountSpec(
        name=name or f"platform-ingest-{shard}",
        limits=AccountLimits(),
        imports=tuple(imports),
        description=f"Platform ingest shard {shard}",
    )


def platform_user_specs(shard: int, prefix: Optional[str] = None, env: Optional[Environment] = None
                        ) -> dict[str, UserSpec]:
    """The shard's consumer (reads every tenant's trees, may not publish into them) and provisioning users."""
    if env is None:
        return {
            "consumer": roles.platform_consumer_user(prefix, name=f"platform-consumer-{shard}"),
            "provisioning": roles.provisioning_user(f"platform-provisioning-{shard}"),
        }
    lay = env.layout
    trees = tuple(lay.all_tenants_tree(t) for t in lay.subjects.trees) or (lay.all_tenants_tree(""),)
    consumer = UserSpec(
        name=f"platform-consumer-{shard}",
        permissions=UserPermissions(
            pub=Permission(allow=(roles.JS_API, roles.JS_ACK, roles.JS_FC), deny=trees),
            sub=Permission(allow=(*trees, roles.INBOX)),
        ),
    )
    return {"consumer": consumer, "provisioning": roles.provisioning_user(f"platform-provisioning-{shard}")}


def named_account_spec(account: NamedAccount, account_pubs: Mapping[str, str],
                       tenants: Mapping[str, Tenant]) -> AccountSpec:
    """A declared account's JWT spec (``accounts:``): JetStream limits, exports, imports, mappings.

    JetStream is off when not given. ``account_pubs``: public keys of every account by name
    (declared accounts and tenant ids); an import from ``tenants`` becomes one import per tenant,
    with ``{root}`` and ``{tenant}`` filled for each.
    """
    js = account.jetstream
    limits = AccountLimits(conn=account.max_connections)
    if js is not None:
        limits = AccountLimits(conn=account.max_connections, jetstream=JetStreamLimits(
            mem_storage=js.max_memory, disk_storage=js.max_bytes, streams=js.max_streams,
            consumer=js.max_consumers, max_ack_pending=js.max_ack_pending))
    imports: list[Import] = []
    for imp in account.imports:
        if imp.account == TENANTS:
            for tid in sorted(tenants):
                t = tenants[tid]
                values = {"root": t.subjects.root, "tenant": tid}
                local = imp.local_subject.format_map(values) if imp.local_subject else None
                imports.append(Import(subject=imp.subject.format_map(values), account=account_pubs[tid],
                                      type=_kind(imp.type), local_subject=local))
        else:
            imports.append(Import(subject=imp.subject, account=account_pubs[imp.account], type=_kind(imp.type),
                                  local_subject=imp.local_subject))
    return AccountSpec(
        name=account.name,
        limits=limits,
        exports=tuple(Export(subject=e.subject, type=_kind(e.type)) for e in account.exports),
        imports=tuple(imports),
        description=account.description or None,
        mappings=account.mappings,
    )


def named_account_users(account: NamedAccount, role_specs: Mapping[str, RoleSpec],
                        stack: str = "") -> dict[str, UserSpec]:
    """The declared users of a named account, plus a provisioning user when it has JetStream.

    The stack's own resources create its streams and buckets with that user.
    """
    scope = RoleScope(account=account.name, stack=stack,
                      buckets=roles.bucket_subjects([kv.bucket for kv in account.kv_buckets],
                                                    [o.bucket for o in account.object_stores]))
    users = {u.name: user_for_role(role_specs[u.role], u.name, scope) for u in account.users}
    if account.jetstream is not None:
        users.setdefault("provisioning", roles.provisioning_user(f"{account.name}-provisioning"))
    return users


def account_order(accounts: tuple[NamedAccount, ...]) -> tuple[NamedAccount, ...]:
    """Declared accounts with every exporter before its importers; cycles keep file order.

    A server meeting an import of an account it does not know yet looks it up before it answers the
    push.
    """
    by_name = {a.name: a for a in accounts}
    done: list[NamedAccount] = []
    seen: set[str] = set()

    def visit(a: NamedAccount, path: tuple[str, ...]) -> None:
        if a.name in seen or a.name in path:
            return
        for imp in a.imports:
            if imp.account in by_name:
                visit(by_name[imp.account], (*path, a.name))
        seen.add(a.name)
        done.append(a)

    for a in accounts:
        visit(a, ())
    return tuple(done)


@dataclass(frozen=True)
class AccountPlan:
    """What one account is made of: its account JWT spec, its users and its JetStream objects.

    Decided here and only mapped to resources by the components. Signing keys are added by the
    component that makes them. ``account`` is None for a declared account whose imports name other
    accounts' keys: ``named_account_spec`` builds it once those keys exist.
    """

    name: str
    users: Mapping[str, UserSpec]
    jetstream: JetStreamPlan
    account: Optional[AccountSpec] = None


def plan_tenant(tenant: Tenant, role_specs: Optional[Mapping[str, RoleSpec]] = None) -> AccountPlan:
    """A tenant's account, users (built-in and declared) and JetStream objects."""
    return AccountPlan(name=tenant.account_name or tenant.id, users=tenant_user_specs(tenant, None, role_specs),
                       jetstream=tenant_jetstream(tenant), account=tenant_account_spec(tenant))


def plan_named_account(account: NamedAccount, role_specs: Mapping[str, RoleSpec], stack: str = "") -> AccountPlan:
    """A declared account's users and JetStream objects (its JWT spec needs its exporters' keys)."""
    return AccountPlan(name=account.name, users=named_account_users(account, role_specs, stack),
                       jetstream=account_jetstream(account))


def _kind(value: str) -> ExportType:
    """An export or import type as the claims take it (``accounts`` allows only these two)."""
    return "service" if value == "service" else "stream"
