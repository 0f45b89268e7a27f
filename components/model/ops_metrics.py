"""Per-tenant metric samples from nats-server monitoring documents (pure: JSON in, samples out).

The exporter fetches the documents on every scrape and hands them here, so this mapping is the
whole contract of ``docs/metrics.md`` and can be tested with captured JSON.

Why the inputs are what they are (nats-server 2.15):
- In operator mode every endpoint names an account by its public key; the account JWT's ``name``
  is the tenant id. ``/jsz?accounts=true`` and ``/accstatz`` already carry that name next to the
  key, and ``/accountz?acc=<key>`` carries the decoded JWT, so no mapping file is needed. An
  explicit map (public key -> tenant) wins when given, e.g. from the ``tenants`` stack output, for
  accounts whose JWT has no name.
- ``/jsz`` lists only accounts whose JetStream is loaded; ``/accstatz?unused=true`` lists every
  loaded account, connected or not.
- JWT limits are written by Go with ``omitempty``: for ``streams`` and ``consumer`` 0/absent means
  unlimited, for ``disk_storage``/``mem_storage`` 0 means JetStream off. A ratio is only emitted
  when the limit is a positive number, because "used / unlimited" has no meaning.
- ``num_redelivered`` is a gauge (messages delivered more than once and still unacknowledged),
  not a counter, so it is exported as a gauge too.
- ``delivered.consumer_seq`` is the consumer's own delivery sequence: every delivery, redeliveries
  included, since the consumer was created (it starts again at 0 when the consumer is recreated).
- ``num_subscriptions`` of ``/accstatz`` counts every subscription the server holds in the
  account, its own internal ones (JetStream API, service imports) included: an account with no
  client connected still shows a few.

Labels: ``tenant`` is the tenant id. The stack knows each tenant's account JWT name (a layout may
name accounts ``xorb-t-qa`` or ``TENANT_acme_corp``) and hands the exporter ``tenant_ids`` (JWT
name -> tenant id); an account that is no tenant keeps its JWT name as ``tenant``, as before
layouts. ``account_name`` (the JWT name itself) is available to every account series but only
exported when an environment's series mapping asks for it (``metrics_series``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

#: Accounts the server creates for itself; they are never tenants.
GLOBAL_ACCOUNT = "$G"


@dataclass(frozen=True)
class MetricDef:
    """One series of the exporter's contract: name, help text, labels and how samples merge.

    ``labels`` are exported by default, ``extra`` only when a series mapping names them.
    ``combine`` says how samples are merged when a mapping drops labels that told them apart:
    counts add up; a ratio keeps the largest (the fullest quota).
    """

    name: str
    help: str
    labels: tuple[str, ...]
    extra: tuple[str, ...] = ("account_name",)
    combine: str = "sum"


TENANT = ("tenant", "account")
STREAM = (*TENANT, "stream")
CONSUMER = (*STREAM, "consumer")

METRICS: tuple[MetricDef, ...] = (
    MetricDef("nats_tenant_stream_messages", "Messages stored in the stream.", STREAM),
    MetricDef("nats_tenant_stream_bytes", "Bytes stored in the stream.", STREAM),
    MetricDef("nats_tenant_consumer_num_pending",
              "Messages in the stream not yet delivered to the consumer (lag).", CONSUMER),
    MetricDef("nats_tenant_consumer_num_ack_pending",
              "Messages delivered to the consumer and not yet acknowledged.", CONSUMER),
    MetricDef("nats_tenant_consumer_num_redelivered",
              "Unacknowledged messages that were delivered more than once.", CONSUMER),
    MetricDef("nats_tenant_consumer_num_waiting", "Pull requests waiting at the consumer.", CONSUMER),
    MetricDef("nats_tenant_consumer_delivered",
              "Deliveries made by the consumer since it was created, redeliveries included.", CONSUMER),
    MetricDef("nats_tenant_platform_consumer_num_pending",
              "Messages of one tenant in a shared platform stream not yet delivered to the platform "
              "consumer.", CONSUMER),
    MetricDef("nats_tenant_platform_consumer_unacked",
              "Messages of one tenant in a shared platform stream above the platform consumer's ack "
              "floor (not yet acknowledged).", CONSUMER),
    MetricDef("nats_tenant_connections", "Client connections of the tenant's account.", TENANT),
    MetricDef("nats_tenant_subscriptions",
              "Subscriptions in the account, the server's internal ones included.", TENANT),
    MetricDef("nats_tenant_leafnode_connections", "Leaf node connections bound to the account.", TENANT),
    MetricDef("nats_tenant_jetstream_storage_bytes", "File storage used by the account's streams.", TENANT),
    MetricDef("nats_tenant_jetstream_memory_bytes", "Memory storage used by the account's streams.", TENANT),
    MetricDef("nats_tenant_streams", "Streams in the account.", TENANT),
    MetricDef("nats_tenant_consumers", "Consumers in the account.", TENANT),
    MetricDef("nats_tenant_quota_limit",
              "Account limit from the account JWT (only limits that bind: > 0).", (*TENANT, "resource")),
    MetricDef("nats_tenant_quota_used_ratio",
              "Use of an account limit: used / limit (1 = full).", (*TENANT, "resource"), combine="max"),
)
METRIC_BY_NAME: dict[str, MetricDef] = {m.name: m for m in METRICS}

#: resource label -> key of the limit in the account JWT (also the key of the usage figures below)
QUOTA_RESOURCES: dict[str, str] = {
    "disk": "disk_storage",
    "memory": "mem_storage",
    "streams": "streams",
    "consumers": "consumer",
}


@dataclass(frozen=True)
class Sample:
    """One value of one series, with its labels.

    ``labels`` are the metric's default labels in order; ``extra`` the ones only a series mapping
    exports.
    """

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    extra: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str:
        return dict(self.labels)[key]


@dataclass(frozen=True)
class AccountName:
    """Resolves an account public key to the tenant label."""

    names: Mapping[str, str]
    tenant_ids: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, key: str) -> str:
        """The ``tenant`` label: an override by key, else the tenant id of the JWT name, else the
        JWT name (else the key)."""
        if key in self.overrides:
            return self.overrides[key]
        jwt_name = self.jwt_name(key)
        return self.tenant_ids.get(jwt_name, jwt_name)

    def jwt_name(self, key: str) -> str:
        return self.names.get(key) or key


def account_names(jsz: Mapping[str, Any], accstatz: Mapping[str, Any],
                  details: Mapping[str, Mapping[str, Any]],
                  overrides: Optional[Mapping[str, str]] = None,
                  tenant_ids: Optional[Mapping[str, str]] = None) -> AccountName:
    """Key -> tenant from every document that carries a name; explicit ``overrides`` win."""
    names: dict[str, str] = {}
    for acc in jsz.get("account_details") or ():
        _set_name(names, acc.get("id"), acc.get("name"))
    for acc in accstatz.get("account_statz") or ():
        _set_name(names, acc.get("acc"), acc.get("name"))
    for key, detail in details.items():
        decoded = detail.get("decoded_jwt") or {}
        _set_name(names, key, decoded.get("name") or detail.get("name_tag"))
    return AccountName(names, dict(tenant_ids or {}), dict(overrides or {}))


def _set_name(names: dict[str, str], key: Any, name: Any) -> None:
    # The server falls back to the key itself when there is no name: that is no information.
    if isinstance(key, str) and isinstance(name, str) and name and name != key:
        names[key] = name


def jwt_limits(detail: Mapping[str, Any]) -> dict[str, int]:
    """Binding JetStream limits of an account from its ``/accountz?acc=`` detail.

    Tiered limits are added up over the tiers (an unlimited tier makes the sum unlimited), which
    is what a tenant can use in total. Limits that do not bind are left out.
    """
    limits = ((detail.get("decoded_jwt") or {}).get("nats") or {}).get("limits") or {}
    tiers = list((limits.get("tiered_limits") or {}).values())
    out: dict[str, int] = {}
    for key in QUOTA_RESOURCES.values():
        if tiers:
            values = [int(t.get(key, 0) or 0) for t in tiers]
            value = -1 if any(v < 0 for v in values) else sum(values)
        else:
            value = int(limits.get(key, 0) or 0)
        if value > 0:
            out[key] = value
    return out


def is_tenant_account(key: str, system_account: str) -> bool:
    """True for an account that may be a tenant: not the global account ``$G`` nor the system account."""
    return bool(key) and key not in (GLOBAL_ACCOUNT, system_account)


def _labels(**kv: str) -> tuple[tuple[str, str], ...]:
    return tuple(kv.items())


def samples(jsz: Mapping[str, Any], accstatz: Mapping[str, Any],
            details: Mapping[str, Mapping[str, Any]], system_account: str = "",
            overrides: Optional[Mapping[str, str]] = None,
            tenant_ids: Optional[Mapping[str, str]] = None) -> list[Sample]:
    """Every sample of the contract, sorted by name and labels so output is deterministic.

    ``jsz`` is ``/jsz?accounts=true&streams=true&consumers=true`` (all pages merged into
    ``account_details``), ``accstatz`` is ``/accstatz?unused=true``, ``details`` maps account key
    to the ``account_detail`` object of ``/accountz?acc=<key>``; ``tenant_ids`` maps account JWT
    names to tenant ids (see the module docstring).
    """
    name = account_names(jsz, accstatz, details, overrides, tenant_ids)
    out: list[Sample] = []
    usage: dict[str, dict[str, int]] = {}

    def add(metric: str, value: Any, key: str, **labels: str) -> None:
        out.append(Sample(metric, _labels(tenant=name(key), account=key, **labels), float(value or 0),
                          _labels(account_name=name.jwt_name(key))))

    for acc in jsz.get("account_details") or ():
        key = str(acc.get("id") or acc.get("name") or "")
        if not is_tenant_account(key, system_account):
            continue
        streams = list(acc.get("stream_detail") or ())
        consumers = 0
        for st in streams:
            sname = str(st.get("name", ""))
            state = st.get("state") or {}
            add("nats_tenant_stream_messages", state.get("messages", 0), key, stream=sname)
            add("nats_tenant_stream_bytes", state.get("bytes", 0), key, stream=sname)
            consumers += int(state.get("consumer_count", len(st.get("consumer_detail") or ())))
            for con in st.get("consumer_detail") or ():
                cl = dict(stream=sname, consumer=str(con.get("name", "")))
                add("nats_tenant_consumer_num_pending", con.get("num_pending", 0), key, **cl)
                add("nats_tenant_consumer_num_ack_pending", con.get("num_ack_pending", 0), key, **cl)
                add("nats_tenant_consumer_num_redelivered", con.get("num_redelivered", 0), key, **cl)
                add("nats_tenant_consumer_num_waiting", con.get("num_waiting", 0), key, **cl)
                add("nats_tenant_consumer_delivered", (con.get("delivered") or {}).get("consumer_seq", 0), key, **cl)
        usage[key] = {
            "disk_storage": int(acc.get("storage", 0)),
            "mem_storage": int(acc.get("memory", 0)),
            "streams": len(streams),
            "consumer": consumers,
        }

    for acc in accstatz.get("account_statz") or ():
        key = str(acc.get("acc", ""))
        if not is_tenant_account(key, system_account):
            continue
        add("nats_tenant_connections", acc.get("conns", 0), key)
        add("nats_tenant_leafnode_connections", acc.get("leafnodes", 0), key)
        add("nats_tenant_subscriptions", acc.get("num_subscriptions", 0), key)

    for key in sorted(set(usage) | {k for k in details if is_tenant_account(k, system_account)}):
        used = usage.get(key, {"disk_storage": 0, "mem_storage": 0, "streams": 0, "consumer": 0})
        add("nats_tenant_jetstream_storage_bytes", used["disk_storage"], key)
        add("nats_tenant_jetstream_memory_bytes", used["mem_storage"], key)
        add("nats_tenant_streams", used["streams"], key)
        add("nats_tenant_consumers", used["consumer"], key)
        limits = jwt_limits(details.get(key, {}))
        for resource, limit_key in QUOTA_RESOURCES.items():
            if limit_key not in limits:
                continue
            add("nats_tenant_quota_limit", limits[limit_key], key, resource=resource)
            add("nats_tenant_quota_used_ratio", used[limit_key] / limits[limit_key], key, resource=resource)

    return sorted(out, key=lambda s: (s.name, s.labels))


def tenant_map(document: Any) -> dict[str, str]:
    """Public key -> tenant from a JSON map file.

    Two shapes are accepted: a flat ``{"A…": "acme"}``, or the ``tenants`` stack output
    (``{"acme": {"account_public_key": "A…", …}}``) so operators can feed
    ``scripts/pulumi.sh <stack> stack output tenants --json`` straight in.
    """
    if not isinstance(document, Mapping):
        raise ValueError("tenant map: expected a JSON object")
    out: dict[str, str] = {}
    for k, v in document.items():
        if isinstance(v, str):
            out[str(k)] = v
        elif isinstance(v, Mapping) and isinstance(v.get("account_public_key"), str):
            out[v["account_public_key"]] = str(k)
        else:
            raise ValueError(f"tenant map: entry {k!r} is neither a tenant name nor an object "
                             "with account_public_key")
    return out


def by_name(all_samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    """Group samples under their metric definition, every defined metric present (maybe empty)."""
    grouped: dict[str, list[Sample]] = {m.name: [] for m in METRICS}
    for s in all_samples:
        grouped[s.name].append(s)
    return grouped
