"""Shard stacks: one environment file run as an estate stack plus one stack per platform shard.

Why: the Pulumi engine walks every resource of a stack on every command (about 17 ms per resource
at the floor, see docs/scale.md), so in one stack the cost of onboarding a tenant grows with the
estate. With ``platform.shard_stacks: true`` the tenants live in the stacks of their platform
shard, and a command costs the stacks it touches:

- the **estate** stack (the environment's own stack, e.g. ``dev``) holds the operator, the system
  account, the servers (sized for every shard's tenants: ``servers_size_class``), the exporter and
  the declared accounts; it exports ``shard_contract`` (the
  servers' URL, the operator's keys and the system user's creds, secrets as secrets);
- the **shard** stack ``<estate>-shard-<k>`` holds the tenants of platform shard ``k`` (the jump
  hash of ``identity/sharding.py``: a tenant's shard depends only on its id and the shard count, so
  onboarding never moves another tenant) with their users, JetStream objects and leaf
  bundles, and the shard's own ingest account, which imports only those tenants. It reads the
  estate's ``shard_contract`` through a StackReference and signs its accounts with the estate's
  operator key, so one operator still trusts every account.

Every stack reads the environment under the estate's name (``{stack}`` placeholders in names
render the same in every shard) and keeps its own part (``stack_part``): run by the driver
(``ops/estate.py``), the part the driver checked and wrote for it (``part_cache.py``); run alone,
the whole file. ``shard_digest`` fingerprints a shard's part: the driver runs the engine only on
shards whose digest differs from the one recorded after their last ``up``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional, Sequence

from components.model.environment.model import Environment
from components.model.errors import SpecError
from components.model.render.server_budget import estate_size, size_class
from components.model.tenant_plan import shard_members

#: ``<estate>-shard-<k>``: the name of shard ``k``'s stack.
_SHARD_STACK = re.compile(r"^(?P<estate>.+)-shard-(?P<shard>0|[1-9][0-9]*)$")


@dataclass(frozen=True)
class StackRole:
    """What one stack of a sharded (or unsharded) environment holds."""

    estate: str                   # the environment's own stack name
    shard: Optional[int] = None   # None: the estate stack (or the only stack of an unsharded one)

    @property
    def is_shard(self) -> bool:
        """True for a shard stack."""
        return self.shard is not None


def stack_role(stack: str) -> StackRole:
    """The role of ``stack`` read off its name: ``dev-shard-3`` is shard 3 of ``dev``."""
    m = _SHARD_STACK.match(stack)
    if m is None:
        return StackRole(estate=stack)
    return StackRole(estate=m.group("estate"), shard=int(m.group("shard")))


def shard_stack_name(estate: str, shard: int) -> str:
    """The stack name of ``shard`` of the estate stack ``estate``."""
    return f"{estate}-shard-{shard}"


def shard_stack_names(env: Environment) -> list[str]:
    """Every shard stack of a sharded environment, in shard order (empty when not sharded)."""
    if not env.platform.shard_stacks:
        return []
    return [shard_stack_name(env.stack, k) for k in range(env.platform.shards)]


def check_role(env: Environment, role: StackRole, stack: str) -> None:
    """Refuse a stack that does not fit the environment, before anything registers.

    A shard stack needs ``platform.shard_stacks: true`` and a shard number below ``platform.shards``.
    Declared accounts that import every tenant (``from: tenants``) would need every shard's
    tenants in one account: they are refused in a sharded environment.
    """
    if role.is_shard and not env.platform.shard_stacks:
        raise SpecError.single(env.file, "platform.shard_stacks",
                               f"stack {stack!r} is a shard stack but the environment is not sharded",
                               "set platform.shard_stacks: true, or use a stack name without '-shard-<k>'")
    if role.shard is not None and role.shard >= env.platform.shards:
        raise SpecError.single(env.file, "platform.shards",
                               f"stack {stack!r} is shard {role.shard} but the environment has "
                               f"{env.platform.shards} shard(s)",
                               f"remove the stack (pulumi stack rm {stack}) or raise platform.shards")
    if env.platform.shard_stacks:
        for i, account in enumerate(env.accounts):
            if any(imp.account == "tenants" for imp in account.imports):
                raise SpecError.single(env.file, f"accounts[{i}].imports",
                                       f"account {account.name!r} imports from every tenant, which a "
                                       "sharded environment spreads over several stacks",
                                       "import from named accounts only, or set platform.shard_stacks: false")


def stack_part(env: Environment, role: StackRole, members: Optional[Mapping[int, Sequence[str]]] = None
               ) -> Environment:
    """The part of ``env`` one stack holds, by its role.

    Everything for an unsharded environment; no tenants, no leaf nodes and no ingest shard for the
    estate stack; one shard's tenants, their leaf nodes and that shard's ingest account for a shard
    stack. ``members`` (``all_shard_members(env)``) saves the pass over every tenant when the parts
    of many shards are made from one environment.
    """
    if not env.platform.shard_stacks:
        return env
    if role.shard is None:
        return replace(env, tenants=(), leafnodes=(), platform=replace(env.platform, stack_shards=()),
                       servers_size_class=env.servers_size_class or size_class(estate_size(env).load))
    if members is None:
        members = all_shard_members(env)
    ids = set(members.get(role.shard, ()))
    tenants = tuple(t for t in env.tenants if t.id in ids)
    return replace(env, tenants=tenants, leafnodes=tuple(ln for ln in env.leafnodes if ln.tenant in ids),
                   platform=replace(env.platform, stack_shards=(role.shard,)))


def all_shard_members(env: Environment) -> dict[int, list[str]]:
    """The tenant ids of every shard of the environment, whatever part of it ``env`` is."""
    return shard_members(replace(env, platform=replace(env.platform, stack_shards=None)))


def shard_digest(env: Environment, shard: int) -> str:
    """A fingerprint of what shard ``shard``'s stack declares.

    Its tenants, and everything they are built from (tiers, layout, roles, platform, servers,
    JetStream settings). Equal digests mean the shard's program registers the same resources with
    the same inputs.
    """
    return shard_digests(env)[shard]


def shard_digests(env: Environment) -> dict[int, str]:
    """``shard_digest`` of every shard, with one pass over the tenants."""
    by_id = {t.id: t for t in env.tenants}
    tenants = {k: [by_id[tid] for tid in ids] for k, ids in all_shard_members(env).items()}
    shared = repr((env.tiers, env.layout, env.roles, replace(env.platform, stack_shards=None), env.servers,
                   env.jetstream, env.tls, env.subject_prefix, env.data_protection.backup_before_loss))
    out = {}
    for k, members in tenants.items():
        ids = {t.id for t in members}
        leafnodes = tuple(ln for ln in env.leafnodes if ln.tenant in ids)
        text = repr((k, tuple(members), leafnodes)) + shared
        out[k] = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return out


def estate_digest(env: Environment) -> str:
    """A fingerprint of what the estate stack declares (the environment without its tenants).

    ``data_protection.allow_data_loss`` is left out of every digest: an acknowledgement only lets a
    change pass that is itself in the digest (a stack whose ``up`` the guard refused keeps its old
    record, so it runs again), and listing it would run every stack for one offboarding."""
    part = stack_part(env, StackRole(estate=env.stack))
    part = replace(part, data_protection=replace(part.data_protection, allow_data_loss=frozenset()))
    return hashlib.sha256(repr(part).encode("utf-8")).hexdigest()[:16]


#: Estate outputs that are for the shard stacks, not for the deployments that read the contract.
_ESTATE_ONLY = ("shard_contract", "estate_digest")
#: Shard outputs that describe the shard stack itself.
_SHARD_ONLY = ("shard", "shard_digest", "nats_url")


def merge_outputs(estate: dict[str, Any], shards: list[dict[str, Any]]) -> dict[str, Any]:
    """The estate's outputs and its shards' merged into the one-stack contract.

    The contract is README, "Stack outputs": ``tenants``, ``accounts`` and ``leafnodes`` united,
    ``platform`` in shard order.
    """
    out = {k: v for k, v in estate.items() if k not in _ESTATE_ONLY}
    out["tenants"] = dict(out.get("tenants") or {})
    out["accounts"] = dict(out.get("accounts") or {})
    out["leafnodes"] = dict(out.get("leafnodes") or {})
    platform: dict[str, Any] = {"accounts": [], "shard_of": {}, "creds": {"consumer": []}}
    for shard in sorted(shards, key=lambda s: int(s.get("shard", 0))):
        for key in ("tenants", "accounts", "leafnodes"):
            out[key].update(shard.get(key) or {})
        p = shard.get("platform") or {}
        platform["accounts"] += list(p.get("accounts") or [])
        platform["shard_of"].update(p.get("shard_of") or {})
        platform["creds"]["consumer"] += list((p.get("creds") or {}).get("consumer") or [])
    out["platform"] = platform
    return out
