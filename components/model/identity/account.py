"""Account claims: limits, exports, imports, signing keys, revocations.

Server rules (nats-server 2.15 / jwt v2):
- Go writes limits with ``omitempty``, and for ``subs, data, payload, imports, exports, conn, leaf,
  mem_storage, disk_storage`` an absent value reads as **zero**: an account without ``conn`` can
  connect nobody. Every limit here therefore defaults to -1 (unlimited) and is always written.
  ``streams, consumer, max_ack_pending, *_max_stream_bytes`` only bind when > 0, so -1 is harmless.
- JetStream is enabled for the account when ``mem_storage`` or ``disk_storage`` is not 0 (or a tier
  sets them): set both to 0 to turn it off. Flat JetStream limits and ``tiered_limits`` exclude each
  other; flat limits charge replicas x max_bytes, tiers do not.
- Exports of the same type must not contain each other (``x.>`` and ``x.y``): the push is refused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from components.model.errors import Problems
from components.model.identity.exports import RESPONSE_TYPES, Export, Import  # Export, Import: re-exported
from components.model.identity.keys import is_public_key
from components.model.identity.permissions import (
    UserLimits,
    UserPermissions,
    validate_connection_types,
    validate_limits,
    validate_permissions,
)
from components.model.subjects import has_wildcard, subject_contains, subject_problem

_TIER = re.compile(r"^R[1-9][0-9]*$")


@dataclass(frozen=True)
class JetStreamLimits:
    """JetStream quotas of an account (flat) or of one replica tier; -1 = unlimited."""

    mem_storage: int = -1
    disk_storage: int = -1
    streams: int = -1
    consumer: int = -1
    max_ack_pending: int = -1
    mem_max_stream_bytes: int = -1
    disk_max_stream_bytes: int = -1
    max_bytes_required: bool = False

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mem_storage": self.mem_storage,
            "disk_storage": self.disk_storage,
            "streams": self.streams,
            "consumer": self.consumer,
            "max_ack_pending": self.max_ack_pending,
            "mem_max_stream_bytes": self.mem_max_stream_bytes,
            "disk_max_stream_bytes": self.disk_max_stream_bytes,
        }
        if self.max_bytes_required:
            out["max_bytes_required"] = True
        return out


#: Flat JetStream limits that leave JetStream off for the account.
NO_JETSTREAM = JetStreamLimits(mem_storage=0, disk_storage=0)


@dataclass(frozen=True)
class AccountLimits:
    """NATS and JetStream limits of an account; everything unset is -1 (unlimited), never 0."""

    subs: int = -1
    data: int = -1
    payload: int = -1
    imports: int = -1
    exports: int = -1
    wildcards: bool = True
    disallow_bearer: bool = False
    conn: int = -1
    leaf: int = -1
    jetstream: JetStreamLimits = field(default_factory=JetStreamLimits)
    tiered_limits: Mapping[str, JetStreamLimits] = field(default_factory=dict)

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subs": self.subs, "data": self.data, "payload": self.payload,
            "imports": self.imports, "exports": self.exports, "wildcards": self.wildcards,
            "conn": self.conn, "leaf": self.leaf,
        }
        if self.disallow_bearer:
            out["disallow_bearer"] = True
        if self.tiered_limits:
            out["tiered_limits"] = {k: self.tiered_limits[k].to_claims() for k in sorted(self.tiered_limits)}
        else:
            out.update(self.jetstream.to_claims())
        return out


@dataclass(frozen=True)
class ScopedSigningKey:
    """An account signing key whose users get ``template`` instead of their own permissions."""

    key: str
    role: str = ""
    description: Optional[str] = None
    permissions: UserPermissions = field(default_factory=UserPermissions)
    limits: UserLimits = field(default_factory=UserLimits)
    bearer_token: bool = False
    allowed_connection_types: tuple[str, ...] = ()

    def to_claims(self) -> dict[str, Any]:
        template: dict[str, Any] = {**self.permissions.to_claims(), **self.limits.to_claims()}
        if self.bearer_token:
            template["bearer_token"] = True
        if self.allowed_connection_types:
            template["allowed_connection_types"] = list(self.allowed_connection_types)
        out: dict[str, Any] = {"kind": "user_scope", "key": self.key, "role": self.role, "template": template}
        if self.description:
            out["description"] = self.description
        return out


SigningKey = Union[str, ScopedSigningKey]


@dataclass(frozen=True)
class AccountSpec:
    """Everything an account JWT says: limits, exports, imports, signing keys, revocations, mappings.

    ``account_claims`` turns it into claims and ``validate_account`` checks it.
    """

    name: str
    limits: AccountLimits = field(default_factory=AccountLimits)
    exports: tuple[Export, ...] = ()
    imports: tuple[Import, ...] = ()
    signing_keys: tuple[SigningKey, ...] = ()
    revocations: Mapping[str, int] = field(default_factory=dict)  # user public key or "*" -> unix s
    default_permissions: Optional[UserPermissions] = None
    description: Optional[str] = None
    tags: tuple[str, ...] = ()
    #: Subject mappings inside the account (``events.>`` → ``acme.events.>``), each to one
    #: destination with weight 100: the server applies them before permissions and stream capture.
    mappings: tuple[tuple[str, str], ...] = ()


def _check_limit(value: object, path: str, problems: Problems) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        problems.add(path, f"{value!r} is not a limit", "-1 (unlimited) or a number >= 0")


def validate_account(spec: AccountSpec, source: str = "") -> Problems:
    """All problems of ``spec`` (not raised), so callers can merge them with their own."""
    problems = Problems(source or f"account {spec.name}")
    if not spec.name:
        problems.add("name", "account name is empty", "give the account a name")
    lim = spec.limits
    for name in ("subs", "data", "payload", "imports", "exports", "conn", "leaf"):
        _check_limit(getattr(lim, name), f"limits.{name}", problems)
    tiers = [("limits.jetstream", lim.jetstream)]
    tiers += [(f"limits.tiered_limits.{k}", v) for k, v in lim.tiered_limits.items()]
    for path, js in tiers:
        for name in ("mem_storage", "disk_storage", "streams", "consumer", "max_ack_pending",
                     "mem_max_stream_bytes", "disk_max_stream_bytes"):
            _check_limit(getattr(js, name), f"{path}.{name}", problems)
    for tier in lim.tiered_limits:
        if not _TIER.match(tier):
            problems.add(f"limits.tiered_limits.{tier}", f"{tier!r} is not a replica tier", "R1, R3, …")
    if lim.tiered_limits and lim.jetstream != JetStreamLimits():
        problems.add("limits.jetstream", "flat JetStream limits and tiered_limits exclude each other",
                     "move the flat limits into a tier (e.g. R1) or drop tiered_limits")

    for i, exp in enumerate(spec.exports):
        path = f"exports[{i}]"
        why = subject_problem(exp.subject)
        if why:
            problems.add(f"{path}.subject", why, "use dot-separated tokens; '*' and '>' only as whole tokens")
            continue
        if exp.type not in ("stream", "service"):
            problems.add(f"{path}.type", f"{exp.type!r} is not an export type", "stream | service")
        if exp.response_type is not None:
            if exp.type != "service":
                problems.add(f"{path}.response_type", "only service exports have a response type", "remove it")
            elif exp.response_type not in RESPONSE_TYPES:
                problems.add(f"{path}.response_type", f"{exp.response_type!r} unknown", " | ".join(RESPONSE_TYPES))
        if exp.account_token_position is not None:
            tokens = exp.subject.split(".")
            pos = exp.account_token_position
            if not (1 <= pos <= len(tokens)) or tokens[pos - 1] != "*":
                problems.add(f"{path}.account_token_position", f"token {pos} of {exp.subject!r} is not '*'",
                             "the 1-based index of a '*' token")
        if has_wildcard(exp.subject) and not lim.wildcards and lim.exports != -1:
            problems.add(f"{path}.subject", "wildcard export while limits.wildcards is false",
                         "set limits.wildcards true or export a literal subject")
        for j, other in enumerate(spec.exports[:i]):
            if other.type != exp.type or subject_problem(other.subject):
                continue
            if subject_contains(other.subject, exp.subject) or subject_contains(exp.subject, other.subject):
                problems.add(f"{path}.subject",
                             f"{exp.type} export {exp.subject!r} overlaps exports[{j}] {other.subject!r}",
                             "exports of the same type must not contain each other; keep only the wider one")

    for i, imp in enumerate(spec.imports):
        path = f"imports[{i}]"
        why = subject_problem(imp.subject)
        if why:
            problems.add(f"{path}.subject", why, "use the exporter's subject")
        if imp.type not in ("stream", "service"):
            problems.add(f"{path}.type", f"{imp.type!r} is not an import type", "stream | service")
        if not is_public_key(imp.account, "A"):
            problems.add(f"{path}.account", f"{imp.account!r} is not an account public key", "the exporter's A… key")
        if imp.local_subject is not None:
            why = subject_problem(imp.local_subject)
            if why:
                problems.add(f"{path}.local_subject", why, "a subject, optionally with $1… references")
            elif imp.subject.endswith(">") != imp.local_subject.endswith(">"):
                problems.add(f"{path}.local_subject", "subject and local_subject must both end in '>' or neither",
                             f"e.g. local_subject ending in '>' for {imp.subject!r}")

    for i, (src, dst) in enumerate(spec.mappings):
        for which, subject in (("from", src), ("to", dst)):
            why = subject_problem(subject)
            if why:
                problems.add(f"mappings[{i}].{which}", why, "a subject; '*' and '>' only as whole tokens")
    for i, key in enumerate(spec.signing_keys):
        pub = key.key if isinstance(key, ScopedSigningKey) else key
        if not is_public_key(pub, "A"):
            problems.add(f"signing_keys[{i}]", f"{pub!r} is not an account public key",
                         "account signing keys are A… nkeys")
        if isinstance(key, ScopedSigningKey):
            validate_permissions(key.permissions, f"signing_keys[{i}].template", problems)
            validate_limits(key.limits, f"signing_keys[{i}].template", problems)
            validate_connection_types(key.allowed_connection_types,
                                      f"signing_keys[{i}].template.allowed_connection_types", problems)
    for user, ts in spec.revocations.items():
        if user != "*" and not is_public_key(user, "U"):
            problems.add(f"revocations.{user}", f"{user!r} is not a user public key", "a U… key or '*' for all users")
        if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
            problems.add(f"revocations.{user}", f"{ts!r} is not a unix time", "seconds since the epoch")
    if spec.default_permissions is not None:
        validate_permissions(spec.default_permissions, "default_permissions", problems)
    for i, tag in enumerate(spec.tags):
        if not tag or any(c.isspace() for c in tag):
            problems.add(f"tags[{i}]", f"{tag!r} is not a tag", "a non-empty word without spaces")
    return problems


def account_claims_template(spec: AccountSpec, source: str = "") -> dict[str, Any]:
    """Claims of the account JWT without ``sub`` (and iss/iat/jti); raises SpecError listing every problem.

    The account key is generated by the resource that signs the JWT, after the program has built
    and validated this template, so bad input fails before anything exists.
    """
    validate_account(spec, source).raise_if_any()
    nats: dict[str, Any] = {"type": "account", "version": 2, "limits": spec.limits.to_claims()}
    if spec.exports:
        nats["exports"] = [e.to_claims() for e in spec.exports]
    if spec.imports:
        nats["imports"] = [i.to_claims() for i in spec.imports]
    if spec.signing_keys:
        nats["signing_keys"] = [k.to_claims() if isinstance(k, ScopedSigningKey) else k for k in spec.signing_keys]
    if spec.revocations:
        nats["revocations"] = {k: int(spec.revocations[k]) for k in sorted(spec.revocations)}
    if spec.default_permissions is not None:
        nats["default_permissions"] = spec.default_permissions.to_claims()
    if spec.mappings:
        nats["mappings"] = {src: [{"subject": dst, "weight": 100}] for src, dst in spec.mappings}
    if spec.description:
        nats["description"] = spec.description
    if spec.tags:
        nats["tags"] = sorted(set(spec.tags))
    return {"name": spec.name, "nats": nats}


def account_claims(spec: AccountSpec, account_pub: str, source: str = "") -> dict[str, Any]:
    """Claims (without iss/iat/jti) of the account JWT; raises SpecError listing every problem."""
    problems = validate_account(spec, source)
    if not is_public_key(account_pub, "A"):
        problems.add("account_pub", f"{account_pub!r} is not an account public key", "an A… nkey")
    problems.raise_if_any()
    return {"sub": account_pub, **account_claims_template(spec, source)}
