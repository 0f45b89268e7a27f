"""Roles as data: the built-in permission sets and the ones an environment declares (``roles:``),
turned into user permissions for one account.

A role's subjects are templates: ``{root}`` (the tenant's root, ``xorb.t-qa``), ``{tenant}``,
``{account}``, ``{stack}``, and list placeholders that stand alone in an entry: ``{publish}``
(what the layout lets the tenant's applications publish: its root, or with a subject schema the
allowed subjects spelled out), ``{trees}`` (the exported trees), ``{deliver}`` (where its push
consumers deliver) and ``{buckets}`` (what reading the account's KV buckets and object stores
through the standard clients needs, ``identity.roles.bucket_subjects``). The built-in roles keep
the permissions of ``identity.roles`` (the JetStream
subjects an application needs are defined there, once); an environment may declare a role of the
same name to replace one.

Server rules kept here: an empty allow list allows everything, so a direction a role leaves out is
written as ``deny: [">"]``; replies need ``resp`` rather than a publish right on ``_INBOX.>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from components.model.environment.model import RoleSpec
from components.model.environment.names import render
from components.model.identity import roles as builtin
from components.model.identity.permissions import Permission, ResponsePermission, UserPermissions
from components.model.identity.tenancy import tenant_roots
from components.model.identity.user import UserSpec
from components.model.subjects import subject_contains

#: Placeholders only a tenant's users can fill (a declared account has no tenant root or trees).
TENANT_ONLY = ("{root}", "{tenant}", "{publish}", "{trees}", "{deliver}")


_PROBE = "probe-tenant"
_PROBE_BUCKETS = (("probe_kv",), ("probe_objects",))


def builtin_roles() -> dict[str, RoleSpec]:
    """The roles every environment has unless it declares one of the same name.

    They are read off ``identity.roles`` (one definition of what each built-in user may do) for a
    probe tenant of the default layout, and the probe's own subjects turned back into
    placeholders: its root becomes ``{root}``, its three trees ``{trees}``, and the service user's
    publish root ``{publish}`` (so a subject schema narrows it)."""
    return {
        "service": _templated("service", builtin.tenant_service_user(_PROBE, kv_buckets=_PROBE_BUCKETS[0],
                                                                     object_stores=_PROBE_BUCKETS[1]),
                              publish_root=True),
        "reader": _templated("reader", builtin.tenant_reader_user(_PROBE)),
        "leaf": _templated("leaf", builtin.tenant_leaf_user(_PROBE)),
        "backup": _templated("backup", builtin.tenant_backup_user(_PROBE)),
        "provisioning": _templated("provisioning", builtin.tenant_provisioning_user(_PROBE)),
    }


def _templated(name: str, user: UserSpec, publish_root: bool = False) -> RoleSpec:
    trees = set(tenant_roots(_PROBE).values())
    buckets = set(builtin.bucket_subjects(*_PROBE_BUCKETS))

    def generic(subjects: tuple[str, ...], root_word: str) -> tuple[str, ...]:
        out: list[str] = []
        for s in subjects:
            word = "{trees}" if s in trees else root_word if s == f"{_PROBE}.>" else (
                "{deliver}" if s == f"{_PROBE}.deliver.>" else "{buckets}" if s in buckets else s)
            if word not in out:
                out.append(word)
        return tuple(out)

    p = user.permissions
    resp = (p.resp.max, p.resp.ttl_ns) if p.resp is not None else None
    pub_allow = generic(p.pub.allow, "{publish}" if publish_root else "{root}.>")
    sub_allow = generic(p.sub.allow, "{root}.>")
    if publish_root and "{root}.>" in sub_allow:
        # Push consumers of a layout whose streams capture the whole root deliver outside it.
        at = sub_allow.index("{root}.>") + 1
        sub_allow = (*sub_allow[:at], "{deliver}", *sub_allow[at:])
    return RoleSpec(name, publish=pub_allow, publish_deny=generic(p.pub.deny, "{root}.>"),
                    subscribe=sub_allow, subscribe_deny=generic(p.sub.deny, "{root}.>"), responses=resp,
                    connection_types=user.allowed_connection_types)


#: Built-in roles a file may bind extra users to (``leaf`` and ``provisioning`` users are made by
#: the stack itself, one per tenant).
BINDABLE_BUILTINS = ("service", "reader", "backup")


@dataclass(frozen=True)
class RoleScope:
    """What a role's templates are filled with for one account."""

    account: str
    stack: str = ""
    tenant: str = ""
    root: str = ""
    publish: tuple[str, ...] = ()
    trees: tuple[str, ...] = ()
    deliver: tuple[str, ...] = ()
    buckets: tuple[str, ...] = ()   # API subjects that reading the account's KV buckets and object stores needs


def user_for_role(role: RoleSpec, name: str, scope: RoleScope) -> UserSpec:
    """The user JWT spec of ``name`` bound to ``role`` in ``scope``'s account."""
    pub = _expand(role.publish, scope)
    sub = _expand(role.subscribe, scope)
    permissions = UserPermissions(
        pub=Permission(allow=pub, deny=_expand(role.publish_deny, scope)) if pub or role.publish_deny
        else builtin.DENY_ALL,
        sub=Permission(allow=sub, deny=_expand(role.subscribe_deny, scope)) if sub or role.subscribe_deny
        else builtin.DENY_ALL,
        resp=ResponsePermission(max=role.responses[0], ttl_ns=role.responses[1]) if role.responses else None,
    )
    return UserSpec(name=name, permissions=permissions, allowed_connection_types=role.connection_types)


def _expand(entries: Sequence[str], scope: RoleScope) -> tuple[str, ...]:
    lists: Mapping[str, tuple[str, ...]] = {"{publish}": scope.publish, "{trees}": scope.trees,
                                            "{deliver}": scope.deliver, "{buckets}": scope.buckets}
    values = {"root": scope.root, "tenant": scope.tenant, "account": scope.account, "stack": scope.stack}
    out: list[str] = []
    for entry in entries:
        for subject in lists[entry] if entry in lists else (render(entry, **values),):
            # A subject another entry already covers adds bytes to the JWT and nothing else.
            if not any(subject_contains(o, subject.split(" ", 1)[0]) for o in out if " " not in o):
                out.append(subject)
    return tuple(out)


def role_problem(role: RoleSpec, tenant_scoped: bool) -> Optional[str]:
    """Why ``role`` cannot be used where it is bound: a tenant-only placeholder in a named account."""
    if tenant_scoped:
        return None
    for entry in (*role.publish, *role.subscribe, *role.publish_deny, *role.subscribe_deny):
        for word in TENANT_ONLY:
            if word in entry:
                return f"role {role.name!r} uses {word}, which only a tenant's users have"
    return None
