"""Parts of a tenant below its domains: consumers of a stream class, KV buckets, object stores
and extra users. Each reader checks values against the tenant's quotas (passed in), so a tenant
can never declare more than its account will be allowed to hold."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from components.model import spec_names as names
from components.model.spec_model import (
    DEFAULT_GRACE_PERIOD_NS, ConsumerKind, ConsumerSpec, CredentialsSpec, KvSpec, ObjectStoreSpec, Quotas,
    StreamClassKind, UserRole, UserSpec,
)
from components.model.spec_schema import Reader, child, item
from components.model.spec_units import SECOND

CONSUMER_KEYS = ("name", "kind", "filter", "ack_wait", "max_deliver", "max_ack_pending",
                 "rate_limit", "dead_letter")
KV_KEYS = ("name", "history", "ttl", "max_bytes")
OBJECT_KEYS = ("name", "max_bytes", "ttl")
USER_KEYS = ("name", "role")
CREDENTIALS_KEYS = ("grace_period", "signing_key", "users")
RESERVED_USERS = ("service", "reader", "leaf", "provisioning")
DEFAULT_ACK_WAIT = 30 * SECOND
DEAD_LETTER_MAX_DELIVER = 5
KV_MAX_HISTORY = 64


def read_consumers(r: Reader, value: Any, path: str, prefix: Optional[str], tid: str, dname: str,
                   kind: StreamClassKind, stream: str, captured: tuple[str, ...],
                   quotas: Quotas) -> tuple[ConsumerSpec, ...]:
    out: list[ConsumerSpec] = []
    seen: set[str] = set()
    tenant_base = names.join_subject(prefix, tid)
    for i, raw in enumerate(r.sequence(value, path)):
        cpath = item(path, i)
        m = r.mapping(raw, cpath, CONSUMER_KEYS, required=("name",))
        if m is None:
            continue
        cname = r.string(m, "name", cpath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
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
        durable = names.consumer_name(stream, cname)
        deliver = None
        if ckind is ConsumerKind.PUSH:
            deliver = names.join_subject(tenant_base, names.DELIVER_ROOT, dname, kind.value, cname)
        out.append(ConsumerSpec(name=cname, durable=durable, stream=stream, kind=ckind, filter_subject=filt,
                                ack_wait_ns=ack_wait or DEFAULT_ACK_WAIT, max_deliver=max_deliver,
                                max_ack_pending=pending or quotas.max_ack_pending, rate_limit_bps=rate,
                                dead_letter=dead_letter, deliver_subject=deliver))
    return tuple(out)


def read_kv(r: Reader, value: Any, path: str, tid: str, quotas: Quotas) -> tuple[KvSpec, ...]:
    out: list[KvSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        kpath = item(path, i)
        m = r.mapping(raw, kpath, KV_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", kpath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        history = r.integer(m, "history", kpath, default=1, minimum=1, maximum=KV_MAX_HISTORY)
        ttl = r.duration(m, "ttl", kpath)
        max_bytes = _bounded_size(r, m, kpath, quotas)
        if name is None or history is None:
            continue
        if name in seen:
            r.add(child(kpath, "name"), f"duplicate KV bucket {name!r}", "give every KV bucket its own name")
            continue
        seen.add(name)
        out.append(KvSpec(name, names.bucket_name(tid, name), history, ttl, max_bytes))
    return tuple(out)


def read_objects(r: Reader, value: Any, path: str, tid: str, quotas: Quotas) -> tuple[ObjectStoreSpec, ...]:
    out: list[ObjectStoreSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        opath = item(path, i)
        m = r.mapping(raw, opath, OBJECT_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", opath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        ttl = r.duration(m, "ttl", opath)
        max_bytes = _bounded_size(r, m, opath, quotas)
        if name is None:
            continue
        if name in seen:
            r.add(child(opath, "name"), f"duplicate object store {name!r}", "give every object store its own name")
            continue
        seen.add(name)
        out.append(ObjectStoreSpec(name, names.bucket_name(tid, name), max_bytes, ttl))
    return tuple(out)


def _bounded_size(r: Reader, m: Mapping[str, Any], path: str, quotas: Quotas) -> Optional[int]:
    n = r.size(m, "max_bytes", path)
    if n is not None and n > quotas.max_bytes:
        r.add(child(path, "max_bytes"), f"{n} bytes is more than the tenant's max_bytes ({quotas.max_bytes})",
              f"use at most {quotas.max_bytes} bytes or raise quotas.max_bytes")
    return n


def read_users(r: Reader, value: Any, path: str) -> tuple[UserSpec, ...]:
    out: list[UserSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        upath = item(path, i)
        m = r.mapping(raw, upath, USER_KEYS, required=("name",))
        if m is None:
            continue
        name = r.string(m, "name", upath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        role = r.choice(m, "role", upath, UserRole, UserRole.SERVICE)
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
    for name, gen in (raw or {}).items():
        if name not in known:
            r.add(child(upath, str(name)), f"no user {name!r} in this tenant",
                  f"use one of {', '.join(known)}")
            continue
        n = r.integer(raw, name, upath, minimum=1)
        if n is not None:
            generations.append((str(name), n))
    return CredentialsSpec(grace_period_ns=DEFAULT_GRACE_PERIOD_NS if grace is None else grace,
                           signing_key=signing or 1, users=tuple(sorted(generations)))
