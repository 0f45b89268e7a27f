"""Least-privilege users for tenants and the platform (pure data: ``UserSpec`` values).

Accounts isolate tenants; these permissions are the second wall inside an account. Rules behind
them:
- an empty allow list means "everything": roles that must not publish deny ``>`` explicitly;
- requests need a subscription on the client's inbox (``_INBOX.>``, nats-py's default prefix);
  answering requests needs ``resp``, not a publish permission on ``_INBOX.>``;
- a platform account that imports ``T.logs.>`` could publish on ``T.logs.x`` itself and its own
  ``*.logs.>`` subscribers would take it for the tenant's message, so platform users are denied
  publishing on the imported trees;
- the user JWT must fit the 4096-byte CONNECT line, so lists stay short (wildcards, not per-stream
  subjects).
"""
from __future__ import annotations

from typing import Optional

from components.model.identity.permissions import Permission, ResponsePermission, UserPermissions
from components.model.identity.tenancy import DOMAINS, all_tenants_root, tenant_base, tenant_roots
from components.model.identity.user import UserSpec

INBOX = "_INBOX.>"
JS_API = "$JS.API.>"
#: Acks and flow-control replies of JetStream consumers go to these subjects.
JS_ACK = "$JS.ACK.>"
JS_FC = "$JS.FC.>"
DENY_ALL = Permission(deny=(">",))
#: What an application needs to *use* JetStream in its own account (publish with acks, read stream
#: info, pull from durable consumers, direct gets, KV and object store operations) without being
#: able to create, change or delete streams and consumers: that is the provisioning user's job.
JS_USE = (
    "$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>", "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.MSG.NEXT.*.*",
    JS_ACK, JS_FC, "$KV.>", "$O.>",
)


def tenant_service_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """Publishes and subscribes in its own tenant tree only; can make and answer requests, and use
    (not manage) its account's streams, consumers, KV buckets and object stores."""
    base = f"{tenant_base(tenant, prefix)}.>"
    return UserSpec(
        name=name or f"{tenant}-service",
        permissions=UserPermissions(
            pub=Permission(allow=(base, *JS_USE)),
            sub=Permission(allow=(base, INBOX)),
            resp=ResponsePermission(max=1, ttl_ns=0),
        ),
    )


def tenant_reader_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """Reads its tenant's three trees; publishes nothing."""
    roots = tenant_roots(tenant, prefix)
    return UserSpec(
        name=name or f"{tenant}-reader",
        permissions=UserPermissions(pub=DENY_ALL, sub=Permission(allow=(*(roots[d] for d in DOMAINS), INBOX))),
    )


def tenant_leaf_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """The hub-side user of a customer leaf node: leaf connections only, tenant subjects only.

    For a leaf connection ``pub`` limits what the leaf may send into the hub and ``sub`` what it
    may receive; the inbox is allowed both ways so requests can cross the link.
    """
    base = f"{tenant_base(tenant, prefix)}.>"
    return UserSpec(
        name=name or f"{tenant}-leaf",
        permissions=UserPermissions(pub=Permission(allow=(base, INBOX)), sub=Permission(allow=(base, INBOX))),
        allowed_connection_types=("LEAFNODE",),
    )


def tenant_provisioning_user(tenant: str, name: Optional[str] = None) -> UserSpec:
    """Manages streams and consumers of its account through the JetStream API, nothing else."""
    return provisioning_user(name or f"{tenant}-provisioning")


#: Where a snapshot's chunks are acked (backup) and sent (restore): outside ``$JS.API``.
JS_SNAPSHOT = "$JS.SNAPSHOT.>"


def tenant_backup_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """Backs up and restores its account's streams (``components.ops.backup``): the JetStream API
    and the snapshot subjects, nothing of the tenant's own tree (it neither reads nor writes data
    except through snapshots). ``prefix`` is unused: the API subjects are per account already."""
    return UserSpec(
        name=name or f"{tenant}-backup",
        permissions=UserPermissions(pub=Permission(allow=(JS_API, JS_SNAPSHOT)), sub=Permission(allow=(INBOX,))),
    )


def provisioning_user(name: str) -> UserSpec:
    return UserSpec(
        name=name,
        permissions=UserPermissions(pub=Permission(allow=(JS_API,)), sub=Permission(allow=(INBOX,))),
    )


def platform_consumer_user(prefix: Optional[str] = None, name: str = "platform-consumer") -> UserSpec:
    """Reads every tenant's imported trees and consumes JetStream in the platform account.

    It may publish only to the JetStream API and ack/flow-control subjects, and is explicitly denied
    the imported trees so it cannot inject messages that look like a tenant's.
    """
    roots = tuple(all_tenants_root(d, prefix) for d in DOMAINS)
    return UserSpec(
        name=name,
        permissions=UserPermissions(
            pub=Permission(allow=(JS_API, JS_ACK, JS_FC), deny=roots),
            sub=Permission(allow=(*roots, INBOX)),
        ),
    )


def system_user(name: str = "system") -> UserSpec:
    """Talks to the servers' ``$SYS`` API (resolver pushes, lookups, monitoring requests)."""
    return UserSpec(
        name=name,
        permissions=UserPermissions(pub=Permission(allow=("$SYS.>",)), sub=Permission(allow=("$SYS.>", INBOX))),
    )
