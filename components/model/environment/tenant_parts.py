"""Parts of a tenant below its domains: consumers of a stream class, KV buckets, object stores
and extra users. Each reader checks values against the tenant's quotas (passed in), so a tenant
can never declare more than its account will be allowed to hold."""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from components.model.environment import names
from components.model.environment.items import catalogue_extras
from components.model.environment.layout import Layout
from components.model.environment.model import (
    DEFAULT_GRACE_PERIOD_NS,
    ConsumerKind,
    ConsumerSpec,
    CredentialsSpec,
    KvSpec,
    ObjectStoreSpec,
    Quotas,
    StreamClassKind,
    UserSpec,
)
from components.model.environment.names import render
from components.model.environment.schema import Reader, child, item
from components.model.environment.units import SECOND

CONSUMER_KEYS = ("name", "kind", "filter", "ack_wait", "max_deliver", "max_ack_pending",
                 "rate_limit", "dead_letter")
KV_KEYS = ("name", "history", "ttl", "max_bytes", "replicas", "direct")
OBJECT_KEYS = ("name", "max_bytes", "ttl", "replicas")
USER_KEYS = ("name", "role")
CREDENTIALS_KEYS = ("grace_period", "signing_key", "users")
RESERVED_USERS = ("service", "reader", "leaf", "provisioning")
DEFAULT_ACK_WAIT = 30 * SECOND
DEAD_LETTER_MAX_DELIVER = 5
KV_MAX_HISTORY = 64
#: Names of consumers, buckets and users below a tenant: one token, '_' allowed (seed 004 writes
#: ``artifact_worker``, ``service_user``), since the layout's templates decide how they are joined.
ITEM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
ITEM_NAME_FIX = "use 1-63 letters, digits, '_' or '-', starting with a letter or digit"


def read_consumers(r: Reader, value: Any, path: str, layout: Layout, tid: str, dname: str,
                   kind: StreamClassKind, stream: str, captured: tuple[str, ...],
                   quotas: Quotas) -> tuple[ConsumerSpec, ...]:
    """The consumers of one stream class, with durable names rendered from the layout.

    A filter is relative to the tenant root and must lie inside the stream's subjects
    (``captured``); ``dead_letter`` needs a delivery limit (5 unless given), since only a message
    that runs out of deliveries raises the advisory the dead-letter stream captures; a consumer's
    ``max_ack_pending`` cannot exceed the tenant's quota, and only push consumers take a rate limit.
    """
    out: list[ConsumerSpec] = []
    seen: set[str] = set()
    tenant_base = layout.root(tid)
    for i, raw in enumerate(r.sequence(value, path)):
        cpath = item(path, i)
        m = r.mapping(raw, cpath, CONSUMER_KEYS + catalogue_extras("consumer"), required=("name",))
        if m is None:
            continue
        cname = r.string(m, "name", cpath, pattern=ITEM_NAME, fix=ITEM_NAME_FIX)
        ckind = r.choice(m, "kind", cpath, ConsumerKind, ConsumerKind.PULL) or ConsumerKind.PULL
        filt: Optional[str] = None
        rel = r.string(m, "filter", cpath)
        if rel is not None:
            if not names.valid_subject(rel):
                r.add(child(cpath, "filter"), f"{rel!r} is not a valid subject",
                      "use dot-separated tokens relative to the tenant, e.g. 'events.billing.>'")
            else:
                filt = f"{tenant_base}.{rel}"
                if captured and not names.within_any(filt, captured):
                    r.add(child(cpath, "filter"), f"{rel!r} is outside the stream's subjects "
                          f"({', '.join(captured)})",
                          f"use a filter under {captured[0][len(tenant_base) + 1:]}")
        dead_letter = r.boolean(m, "dead_letter", cpath, False)
        max_deliver = r.integer(m, "max_deliver", cpath, minimum=1, allow=() if dead_letter else (-1,))
        if max_deliver is None:
            max_deliver = DEAD_LETTER_MAX_DELIVER if dead_letter else -1
        pending = r.integer(m, "max_ack_pending", cpath, default=quotas.max_ack_pending, minimum=1)
        if pending is not None and pending > quotas.max_ack_pending:
            r.add(child(cpath, "max_ack_pending"), f"{pending} is more than the tenant's max_ack_pending "
                  f"({quotas.max_ack_pending})", f"use at most {quotas.max_ack_pending}")
        rate = r.integer(m, "rate_limit", cpath, minimum=1)
        if rate is not None and ckind is ConsumerKind.PULL:
            r.add(child(cpath, "rate_limit"), "a pull consumer cannot have a rate limit",
                  "remove rate_limit or use kind: push")
        ack_wait = r.duration(m, "ack_wait", cpath, default=DEFAULT_ACK_WAIT)
        if cname is None:
            continue
        if cname in seen:
            r.add(child(cpath, "name"), f"duplicate consumer {cname!r} on stream {stream}",
                  "give every consumer of a stream its own name")
            continue
        seen.add(cname)
        durable = render(layout.names.consumer, tenant=tid, stream=stream, consumer=cname, domain=dname,
                         **{"class": kind.value})
        deliver = None
        if ckind is ConsumerKind.PUSH:
            deliver = names.join_subject(layout.deliver_root(tid), dname, kind.value, cname)
        out.append(ConsumerSpec(name=cname, durable=durable, stream=stream, kind=ckind, filter_subject=filt,
                                ack_wait_ns=ack_wait or DEFAULT_ACK_WAIT, max_deliver=max_deliver,
                                max_ack_pending=pending or quotas.max_ack_pending, rate_limit_bps=rate,
                                dead_letter=dead_letter, deliver_subject=deliver,
                                extra=tuple((k, m[k]) for k in catalogue_extras("consumer") if k in m)))
    return tuple(out)


def read_replicas(r: Reader, m: Mapping[str, Any], path: str, server_replicas: int) -> Optional[int]:
    """The replicas of a bucket or stream: as given, else as many as the servers run, at most 3.

    Never more than the servers, since the server refuses a stream it cannot place on that many
    peers.
    """
    replicas = r.integer(m, "replicas", path, default=min(server_replicas, 3), minimum=1, maximum=5)
    if replicas is not None and replicas > server_replicas:
        r.add(child(path, "replicas"), f"{replicas} replicas but the servers run {server_replicas}",
              f"use at most {server_replicas} replicas")
        return None
    return replicas


def read_kv(r: Reader, value: Any, path: str, tid: str, quotas: Quotas,
            server_replicas: int = 1, template: str = "{tenant}_{name}") -> tuple[KvSpec, ...]:
    """The KV buckets of one account, named by ``template`` (``<tenant>_<name>`` for tenants).

    History is at most 64 (the client limit), size stays within the account quota and replicas
    within the servers (``read_replicas``).
    """
    out: list[KvSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        kpath = item(path, i)
        m = r.mapping(raw, kpath, KV_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", kpath, pattern=ITEM_NAME, fix=ITEM_NAME_FIX)
        history = r.integer(m, "history", kpath, default=1, minimum=1, maximum=KV_MAX_HISTORY)
        ttl = r.duration(m, "ttl", kpath)
        max_bytes = _bounded_size(r, m, kpath, quotas)
        replicas = read_replicas(r, m, kpath, server_replicas)
        if name is None or history is None or replicas is None:
            continue
        if name in seen:
            r.add(child(kpath, "name"), f"duplicate KV bucket {name!r}", "give every KV bucket its own name")
            continue
        seen.add(name)
        out.append(KvSpec(name, render(template, tenant=tid, name=name), history, ttl, max_bytes, replicas,
                          direct=r.boolean(m, "direct", kpath, True)))
    return tuple(out)


def read_objects(r: Reader, value: Any, path: str, tid: str, quotas: Quotas,
                 server_replicas: int = 1, template: str = "{tenant}_{name}") -> tuple[ObjectStoreSpec, ...]:
    """The object stores of one account, named by ``template``, sized and replicated as KV buckets are."""
    out: list[ObjectStoreSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        opath = item(path, i)
        m = r.mapping(raw, opath, OBJECT_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", opath, pattern=ITEM_NAME, fix=ITEM_NAME_FIX)
        ttl = r.duration(m, "ttl", opath)
        max_bytes = _bounded_size(r, m, opath, quotas)
        replicas = read_replicas(r, m, opath, server_replicas)
        if name is None or replicas is None:
            continue
        if name in seen:
            r.add(child(opath, "name"), f"duplicate object store {name!r}", "give every object store its own name")
            continue
        seen.add(name)
        out.append(ObjectStoreSpec(name, render(template, tenant=tid, name=name), max_bytes, ttl, replicas))
    return tuple(out)


def _bounded_size(r: Reader, m: Mapping[str, Any], path: str, quotas: Quotas) -> Optional[int]:
    n = r.size(m, "max_bytes", path)
    if n is not None and n > quotas.max_bytes:
        r.add(child(path, "max_bytes"), f"{n} bytes is more than the tenant's max_bytes ({quotas.max_bytes})",
              f"use at most {quotas.max_bytes} bytes or raise quotas.max_bytes")
    return n


def read_users(r: Reader, value: Any, path: str, roles: Sequence[str] = ("service", "reader", "backup"),
               ) -> tuple[UserSpec, ...]:
    """The extra users of a tenant, each bound to a role.

    The role is a built-in one (service, reader, backup) or one declared under ``roles``.
    """
    out: list[UserSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        upath = item(path, i)
        m = r.mapping(raw, upath, USER_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", upath, pattern=ITEM_NAME, fix=ITEM_NAME_FIX)
        role = r.string(m, "role", upath, default="service")
        if role is not None and role not in roles:
            r.add(child(upath, "role"), f"unknown role {role!r}",
                  f"use one of {', '.join(roles)} or declare it under 'roles'")
            role = None
        if name is None or role is None:
            continue
        if name in RESERVED_USERS or name in seen:
            why = "is made for every tenant" if name in RESERVED_USERS else "is declared twice"
            r.add(child(upath, "name"), f"user {name!r} {why}",
                  f"pick another name (reserved: {', '.join(RESERVED_USERS)})")
            continue
        seen.add(name)
        out.append(UserSpec(name, role))
    return tuple(out)


def read_credentials(r: Reader, value: Any, path: str, users: tuple[UserSpec, ...]) -> CredentialsSpec:
    """The tenant's ``credentials`` section: rotation generations and the grace period."""
    m = r.mapping({} if value is None else value, path, CREDENTIALS_KEYS)
    if m is None:
        return CredentialsSpec()
    grace = r.duration(m, "grace_period", path, default=DEFAULT_GRACE_PERIOD_NS, allow_zero=True)
    signing = r.integer(m, "signing_key", path, default=1, minimum=1)
    known = (*RESERVED_USERS, *(u.name for u in users))
    upath = child(path, "users")
    generations: list[tuple[str, int]] = []
    raw = m.get("users")
    if raw is not None and not isinstance(raw, dict):
        r.add(upath, "must be a mapping of user name to generation",
              "write e.g. 'users: {service: 2}' (raise a number to rotate that user's creds)")
        raw = {}
    given: dict[str, Any] = raw or {}
    for name in given:
        if name not in known:
            r.add(child(upath, str(name)), f"no user {name!r} in this tenant",
                  f"use one of {', '.join(known)}")
            continue
        n = r.integer(given, name, upath, minimum=1)
        if n is not None:
            generations.append((str(name), n))
    return CredentialsSpec(grace_period_ns=DEFAULT_GRACE_PERIOD_NS if grace is None else grace,
                           signing_key=signing or 1, users=tuple(sorted(generations)))
