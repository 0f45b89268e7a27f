"""Least-privilege users for tenants and the platform (pure data: ``UserSpec`` values).

Accounts isolate tenants; these permissions are the second wall inside an account. Rules behind
them:
- an empty allow list means "everything": roles that must not publish deny ``>`` explicitly;
- requests need a subscription on the client's inbox (``_INBOX.>``, the default prefix of nats-py
  and natscli); answering requests needs ``resp``, not a publish permission on ``_INBOX.>``;
- a platform account that imports ``T.logs.>`` could publish on ``T.logs.x`` itself and its own
  ``*.logs.>`` subscribers would take it for the tenant's message, so platform users are denied
  publishing on the imported trees;
- permission wildcards are whole tokens: ``KV_*`` is a literal name, not a prefix, so what a role
  may do on its KV and object-store streams is spelled out per bucket;
- the user JWT must fit the 4096-byte CONNECT line (``MAX_USER_JWT_BYTES``): lists stay short,
  and ``tenant_service_user`` refuses a bucket list that would not fit.

The JetStream API subjects each role gets are listed at ``JS_USE``, ``bucket_subjects``,
``JS_BACKUP`` and on each role function; docs/roles.md has the same table for users.
"""
from __future__ import annotations

from typing import Optional, Sequence

from components.model.errors import SpecError, SpecProblem
from components.model.identity.jwt_codec import issue
from components.model.identity.keys import new_account_key, new_user_key
from components.model.identity.permissions import Permission, ResponsePermission, UserPermissions
from components.model.identity.tenancy import DOMAINS, all_tenants_root, tenant_base, tenant_roots
from components.model.identity.user import MAX_USER_JWT_BYTES, UserSpec, user_claims

INBOX = "_INBOX.>"
JS_API = "$JS.API.>"
#: Acks and flow-control replies of JetStream consumers go to these subjects.
JS_ACK = "$JS.ACK.>"
JS_FC = "$JS.FC.>"
DENY_ALL = Permission(deny=(">",))
#: The server's answer to "who am I" (``nats account info``); every account imports it.
USER_INFO = "$SYS.REQ.USER.INFO"

#: What an application needs to *use* JetStream in its own account, for every stream and durable
#: consumer the stack made, without being able to create, change or delete either:
#:
#: - ``$JS.API.INFO``: account limits and usage (``js.account_info()``, ``nats account info``,
#:   which also asks ``$SYS.REQ.USER.INFO``, the server's "who am I" that every account imports);
#: - ``STREAM.INFO.*``, ``STREAM.NAMES``, ``STREAM.LIST``: read stream config and state; clients
#:   look a stream up by subject (``NAMES``) and ``nats kv ls``/``stream ls`` list (``LIST``);
#: - ``STREAM.MSG.GET.*`` and ``DIRECT.GET.>``: read one message (KV ``get`` and object ``info``
#:   read the last message of a subject; direct get when the stream allows it);
#: - ``CONSUMER.INFO.*.*``, ``CONSUMER.NAMES.*``, ``CONSUMER.LIST.*``: bind to a durable consumer
#:   (nats-py and natscli read its info first and refuse to bind when it differs);
#: - ``CONSUMER.MSG.NEXT.*.*``: pull from a durable pull consumer (``fetch``, ``nats consumer next``);
#: - ``$JS.ACK.>``, ``$JS.FC.>``: ack messages and answer flow control (outside ``$JS.API``);
#: - ``$KV.>``, ``$O.>``: put, delete and purge keys (KV ``delete`` and ``purge`` are publishes with
#:   a marker header) and upload object chunks and metadata, all acked by the bucket's stream.
#:
#: Left out on purpose: ``STREAM.CREATE|UPDATE|DELETE|PURGE.*`` (purge only per bucket, below),
#: ``STREAM.SNAPSHOT|RESTORE``, ``CONSUMER.CREATE|DURABLE.CREATE|DELETE`` (only on bucket streams),
#: ``STREAM.MSG.DELETE``, leader step-downs: the provisioning user (the stack) manages those.
#: Publishing with ``Nats-Msg-Id`` needs nothing more than the subject: dedup is the stream's job.
JS_USE = (
    "$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.NAMES.*", "$JS.API.CONSUMER.LIST.*",
    "$JS.API.CONSUMER.MSG.NEXT.*.*",
    JS_ACK, JS_FC, "$KV.>", "$O.>", USER_INFO,
)

#: Where a snapshot's chunks are acked (backup) and sent (restore): outside ``$JS.API``.
JS_SNAPSHOT = "$JS.SNAPSHOT.>"
#: ``nats stream backup`` reads the stream's info then asks for a snapshot; ``nats stream restore``
#: reads the info (to refuse an existing stream) then uploads. Restoring needs the stream gone, so
#: the role that restores may remove a stream; it can neither create one from a config nor change one.
JS_BACKUP = (
    "$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
    "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.NAMES.*", "$JS.API.CONSUMER.LIST.*",
    "$JS.API.STREAM.SNAPSHOT.*", "$JS.API.STREAM.RESTORE.*", "$JS.API.STREAM.DELETE.*", JS_SNAPSHOT, USER_INFO,
)


def bucket_subjects(kv_buckets: Sequence[str] = (), object_stores: Sequence[str] = ()) -> tuple[str, ...]:
    """The API subjects that reading a bucket through the standard clients needs, per bucket.

    KV ``keys``/``history``/``watch`` and object ``get``/``list``/``watch`` read through an ordered
    (ephemeral) consumer on the bucket's stream ``KV_<b>``/``OBJ_<b>``: nats-py creates it with the
    legacy subject ``CONSUMER.CREATE.<stream>`` (the server refuses a durable name there), natscli
    (nats.go) with ``CONSUMER.CREATE.<stream>.<name>.<filter>``, and deletes it when done with
    ``CONSUMER.DELETE.<stream>.<name>``. Two subjects cover that:
    ``CONSUMER.*.<stream>`` (legacy create; also ``NAMES``/``LIST`` of that stream) and
    ``CONSUMER.*.<stream>.>`` (named create, delete, info, pause of its consumers). Consumers on
    the bucket's own stream hold nothing but the bucket's data, and count against the account's
    ``max_consumers``. ``STREAM.PURGE.<stream>``: replacing or deleting an object purges its old
    chunks, and KV ``purge_deletes`` drops old delete markers; both remove only bucket data the
    role may already delete key by key. Three subjects, about 150 bytes of JWT per bucket.
    """
    out: list[str] = []
    for stream in [f"KV_{b}" for b in kv_buckets] + [f"OBJ_{b}" for b in object_stores]:
        out += [f"$JS.API.CONSUMER.*.{stream}", f"$JS.API.CONSUMER.*.{stream}.>", f"$JS.API.STREAM.PURGE.{stream}"]
    return tuple(out)


def user_jwt_bytes(spec: UserSpec) -> int:
    """The length of ``spec``'s JWT when signed by an account signing key.

    Keys have fixed sizes, so throwaway keys give the real length.
    """
    account, user = new_account_key(), new_user_key()
    return len(issue(user_claims(spec, user.public_key, account.public_key, issuer_is_signing_key=True), account.seed))


def _fits_connect(spec: UserSpec, what: str, fix: str) -> UserSpec:
    size = user_jwt_bytes(spec)
    if size > MAX_USER_JWT_BYTES:
        raise SpecError([SpecProblem(f"user {spec.name}", what,
                                     f"the user JWT would be {size} bytes, over the {MAX_USER_JWT_BYTES} that fit "
                                     "the server's 4096-byte CONNECT line", fix)])
    return spec


def tenant_service_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None,
                        kv_buckets: Sequence[str] = (), object_stores: Sequence[str] = ()) -> UserSpec:
    """The application role: publishes and subscribes in its tenant's tree and uses its JetStream.

    It also uses queue groups and makes and answers requests. It uses (does not manage) its
    account's JetStream: ``JS_USE`` for every stream and durable consumer, ``bucket_subjects`` for
    the KV buckets and object stores named here (full bucket names, e.g. ``acme_settings``).

    It cannot create, change or delete streams, nor create consumers except ordered/ephemeral
    readers on the listed buckets' streams. Push consumers deliver inside the tenant's tree, so
    the subscribe permission covers them.

    It may publish on ``_INBOX.>``: ``nats server check connection`` sends a message to the
    client's own inbox and waits for it. Inboxes are per account, so
    this reaches only the tenant's own clients; replies to requests still work through ``resp``.
    """
    base = f"{tenant_base(tenant, prefix)}.>"
    spec = UserSpec(
        name=name or f"{tenant}-service",
        permissions=UserPermissions(
            pub=Permission(allow=(base, INBOX, *JS_USE, *bucket_subjects(kv_buckets, object_stores))),
            sub=Permission(allow=(base, INBOX)),
            resp=ResponsePermission(max=1, ttl_ns=0),
        ),
    )
    if not kv_buckets and not object_stores:
        return spec
    return _fits_connect(spec, "kv_buckets/object_stores",
                         f"give tenant {tenant} fewer KV buckets and object stores "
                         f"({len(kv_buckets)} + {len(object_stores)} now; each adds three subjects)")


def tenant_reader_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """The read-only role: subscribes to its tenant's three trees and publishes nothing.

    So it makes no requests and has no JetStream API at all (it cannot even ask for stream info).
    """
    roots = tenant_roots(tenant, prefix)
    return UserSpec(
        name=name or f"{tenant}-reader",
        permissions=UserPermissions(pub=DENY_ALL, sub=Permission(allow=(*(roots[d] for d in DOMAINS), INBOX))),
    )


def tenant_leaf_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """The hub-side user of a customer leaf node: leaf connections only, tenant subjects only.

    For a leaf connection ``pub`` limits what the leaf may send into the hub and ``sub`` what it
    may receive; the inbox is allowed both ways so requests can cross the link. No JetStream API:
    the hub's streams capture what the leaf forwards.
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


def tenant_backup_user(tenant: str, prefix: Optional[str] = None, name: Optional[str] = None) -> UserSpec:
    """The backup role: backs up and restores its account's streams, and touches no tenant data.

    It runs ``nats stream backup|restore`` (``JS_BACKUP`` and the snapshot subjects) and neither
    reads nor writes the tenant's tree except through snapshots. KV buckets and object stores back
    up as their streams. ``prefix`` is unused: the API subjects are per account already.
    """
    return UserSpec(
        name=name or f"{tenant}-backup",
        permissions=UserPermissions(pub=Permission(allow=JS_BACKUP), sub=Permission(allow=(INBOX,))),
    )


#: Where a snapshot's chunks are acknowledged: the stack's snapshot before a data loss
#: (``providers.pre_loss_backup``) acks each window of chunks here, or the server stops sending.
JS_SNAPSHOT_ACK = "$JS.SNAPSHOT.ACK.>"


def provisioning_user(name: str) -> UserSpec:
    """The stack's own role: the whole JetStream API of its account (``$JS.API.>``).

    It makes streams, consumers and buckets, and has the snapshot acks its backups before a data
    loss need (it can read and delete every stream already, so they add no power).
    """
    return UserSpec(
        name=name,
        permissions=UserPermissions(pub=Permission(allow=(JS_API, JS_SNAPSHOT_ACK)), sub=Permission(allow=(INBOX,))),
    )


def platform_consumer_user(prefix: Optional[str] = None, name: str = "platform-consumer") -> UserSpec:
    """Reads every tenant's imported trees and consumes JetStream in the platform account.

    It may publish only to the JetStream API (``$JS.API.>``: the platform account holds only the
    platform's own streams) and ack/flow-control subjects, and is explicitly denied the imported
    trees so it cannot inject messages that look like a tenant's.
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
