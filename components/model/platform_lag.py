"""Per-tenant lag on a shared platform consumer (pure: what to ask the server, and what it means).

A platform consumer (``platform.consumers``) reads every tenant through one filter (``*.events.>``)
on a stream of the platform account, so its ``num_pending`` is a sum over tenants. nats-server
keeps no per-subject count from a sequence on, but it computes one for any consumer it creates:
the reply to ``$JS.API.CONSUMER.CREATE.<stream>`` carries ``num_pending``, the messages matching the
new consumer's filter from its start sequence on. So, per tenant, a probe consumer

- ``filter_subject``: the shared filter with the tenant's token filled in (``acme.events.>``);
- ``deliver_policy: by_start_sequence`` with ``opt_start_seq`` one past the shared consumer's
  ``ack_floor.stream_seq`` (unacknowledged) or past ``delivered.stream_seq`` (not yet delivered);
- pull, ``ack_policy: none``, in memory, one replica, and an ``inactive_threshold`` so the server
  removes it even if the delete after reading the count never arrives;

tells how many of that tenant's messages the shared consumer has not acknowledged, or not
delivered. Messages acknowledged out of order above the ack floor still count as unacknowledged
(the server keeps only the floor and the pending set, not which tenant each pending one is), so
the unacknowledged figure is an upper bound; the not-delivered one is exact. The probe never
receives a message (no pull request is made) and counts against the account's consumer limit
only while it exists, one at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

from components.model.environment.names import render
from components.model.ops_metrics import Sample

if TYPE_CHECKING:  # the exporter image reads the document without the environment model's dependencies
    from components.model.environment.model import Environment

#: Nanoseconds the server keeps an abandoned probe (the delete normally comes within milliseconds).
PROBE_INACTIVE_NS = 30_000_000_000
NOT_DELIVERED = "nats_tenant_platform_consumer_num_pending"
UNACKED = "nats_tenant_platform_consumer_unacked"


@dataclass(frozen=True)
class LagTarget:
    """One shared consumer of one platform account, and each tenant's share of its filter."""

    account: str                                # the platform account's JWT name
    stream: str
    consumer: str
    tenants: tuple[tuple[str, str], ...]        # (tenant id, filter subject for that tenant)


def tenant_token(env: Environment) -> int:
    """Index of the tenant token in the layout's subject root (``xorb.{tenant}`` → 1)."""
    return env.layout.root("\x00").split(".").index("\x00")


def tenant_filter(shared: str, index: int, tenant: str) -> Optional[str]:
    """The part of ``shared`` that is ``tenant``'s (``*.events.>`` → ``acme.events.>``).

    None when the filter names another tenant.
    """
    tokens = shared.split(".")
    if index >= len(tokens) or ">" in tokens[:index + 1]:
        return None
    if tokens[index] == "*":
        tokens[index] = tenant
    elif tokens[index] != tenant:
        return None
    return ".".join(tokens)


def lag_targets(env: Environment) -> tuple[LagTarget, ...]:
    """Every platform consumer of every shard, with the tenants it reads.

    A tenant's trees are imported by one shard only (``env.shard_of``).
    """
    if not env.platform.shards or not env.platform.consumers:
        return ()
    index = tenant_token(env)
    out = []
    for shard in range(env.platform.shards):
        account = render(env.layout.names.platform_account, shard=str(shard), stack=env.stack)
        for c in env.platform.consumers:
            tenants = tuple((t.id, f) for t in sorted(env.tenants, key=lambda t: t.id)
                            if env.shard_of(t.id) == shard
                            for f in [tenant_filter(c.filter_subject, index, t.id)] if f is not None)
            if tenants:
                out.append(LagTarget(account, c.stream, c.durable, tenants))
    return tuple(out)


def led_here(targets: tuple[LagTarget, ...], jsz: Mapping[str, Any],
             account_name: Mapping[str, str]) -> tuple[LagTarget, ...]:
    """The targets whose stream this server leads, for an exporter run with ``--leader-only``.

    ``jsz`` fetched with ``stream_leader_only`` lists only those streams, so the lag of a shared
    consumer is reported by one exporter of a cluster, not by every one. ``account_name``: account
    public key -> JWT name.
    """
    led = {(account_name.get(str(acc.get("id")), str(acc.get("id"))), str(st.get("name")))
           for acc in jsz.get("account_details") or () for st in acc.get("stream_detail") or ()}
    return tuple(t for t in targets if (t.account, t.stream) in led)


def to_document(targets: tuple[LagTarget, ...]) -> list[dict[str, Any]]:
    """``targets`` as the JSON-ready ``platform_lag`` list of the exporter's series document."""
    return [{"account": t.account, "stream": t.stream, "consumer": t.consumer, "tenants": dict(t.tenants)}
            for t in targets]


def from_document(doc: Any, where: str = "platform_lag") -> tuple[LagTarget, ...]:
    """The lag targets of a series document's ``platform_lag`` list; ValueError names the bad entry."""
    if not isinstance(doc, list):
        raise ValueError(f"{where}: expected a list")
    out = []
    for i, raw in enumerate(doc):
        named = isinstance(raw, Mapping) and all(isinstance(raw.get(k), str) for k in ("account", "stream", "consumer"))
        ok = named and isinstance(raw.get("tenants"), Mapping)
        if not ok:
            raise ValueError(f"{where}[{i}]: expected account, stream, consumer and tenants {{tenant: filter}}")
        out.append(LagTarget(raw["account"], raw["stream"], raw["consumer"],
                             tuple(sorted((str(k), str(v)) for k, v in raw["tenants"].items()))))
    return tuple(out)


def probe_config(filter_subject: str, after_seq: int) -> dict[str, Any]:
    """The CONSUMER.CREATE body of a probe counting ``filter_subject`` messages above ``after_seq``."""
    return {
        "deliver_policy": "by_start_sequence",
        "opt_start_seq": after_seq + 1,
        "filter_subject": filter_subject,
        "ack_policy": "none",
        "replay_policy": "instant",
        "mem_storage": True,
        "num_replicas": 1,
        "inactive_threshold": PROBE_INACTIVE_NS,
    }


def floors(consumer_info: Mapping[str, Any]) -> tuple[int, int]:
    """(ack floor, last delivered) stream sequences of a ``CONSUMER.INFO`` reply."""
    ack = int((consumer_info.get("ack_floor") or {}).get("stream_seq", 0) or 0)
    delivered = int((consumer_info.get("delivered") or {}).get("stream_seq", 0) or 0)
    return ack, delivered


def lag_samples(target: LagTarget, account_key: str, counts: Mapping[str, tuple[int, int]]) -> list[Sample]:
    """``counts``: tenant -> (unacknowledged, not delivered)."""
    out = []
    for tenant, (unacked, pending) in sorted(counts.items()):
        labels = (("tenant", tenant), ("account", account_key), ("stream", target.stream),
                  ("consumer", target.consumer))
        extra = (("account_name", target.account),)
        out.append(Sample(UNACKED, labels, float(unacked), extra))
        out.append(Sample(NOT_DELIVERED, labels, float(pending), extra))
    return out
