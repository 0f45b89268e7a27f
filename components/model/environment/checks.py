"""Checks across sections, run after every section was read: ports, server capacity, account storage,
tenant quotas against the servers' JetStream limits, an account's objects against its quota."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from components.model.environment.model import (
    JetStreamSpec,
    MonitoringSpec,
    ServerMode,
    ServersSpec,
    Tenant,
)
from components.model.environment.schema import Reader, child, item
from components.model.environment.servers import member_ports


def check_ports(r: Reader, servers: ServersSpec, monitoring: MonitoringSpec) -> None:
    """Reports two listeners on one port, which the second server would fail to bind.

    For a local cluster every member's ports count (``servers.member_ports``), since all members
    share one host.
    """
    members = servers.replicas if servers.mode is ServerMode.LOCAL else 1
    ports: list[tuple[str, str, int]] = []   # (field, who listens there, port)
    for ordinal in range(members):
        for key, port in member_ports(servers, ordinal).items():
            who = f"servers.{key}" if ordinal == 0 else f"server {ordinal}'s {key}, servers.{key} + {ordinal}"
            ports.append((f"servers.{key}", who, port))
    if monitoring.enabled:
        ports.append(("monitoring.port", "monitoring.port", monitoring.port))
    fix = ("give every listener its own port" if members == 1 else
           f"give every listener its own port; server i of the {members} listens on each base port + i, "
           f"so space the base ports at least {members} apart")
    first: dict[int, str] = {}
    for field, who, port in ports:
        if port in first:
            what = "" if who == field else f" ({who})"
            r.add(field, f"port {port}{what} is already used by {first[port]}", fix)
        else:
            first[port] = who


def check_server_capacity(r: Reader, servers: ServersSpec, js: JetStreamSpec) -> None:
    """Reports a ``jetstream.max_file`` above the volume each kubernetes server gets.

    A store limit larger than the volume cannot be honoured: writes fail once the disk is full
    while the account still has quota. Local mode declares no volume, so nothing is checked there.
    """
    size = servers.storage_size if servers.mode is ServerMode.KUBERNETES else None
    if size is not None and js.max_file > size:
        r.add("jetstream.max_file", f"{js.max_file} bytes is more than servers.storage_size ({size})",
              "lower jetstream.max_file or raise servers.storage_size")


def check_tenants(r: Reader, tenants: tuple[Tenant, ...], js: Optional[JetStreamSpec]) -> None:
    """Reports tenant quotas the servers' JetStream limits cannot hold.

    Names, collisions and subject overlaps of every account are ``estate_checks``' part.
    """
    if js is not None:
        _check_reservations(r, tenants, js)
    for ti, t in enumerate(tenants):
        tpath = item("tenants", ti)
        if js is not None:
            for quota, limit in (("max_bytes", js.max_file), ("max_memory", js.max_memory)):
                value = getattr(t.quotas, quota)
                if value > limit:
                    r.add(child(tpath, f"quotas.{quota}"),
                          f"{value} bytes is more than the servers' "
                          f"jetstream.{'max_file' if quota == 'max_bytes' else quota} ({limit})",
                          f"lower the tenant's {quota} or raise the server limit")


def _check_reservations(r: Reader, tenants: tuple[Tenant, ...], js: JetStreamSpec) -> None:
    """The server reserves every account's JetStream quota against its own limits: once the sum is
    used up, further accounts get "JetStream is not enabled for account" (10039). Checked up front."""
    limits = (("max_bytes", js.max_file, "max_file"), ("max_memory", js.max_memory, "max_memory"))
    for quota, limit, server_key in limits:
        total = sum(getattr(t.quotas, quota) for t in tenants)
        if total > limit:
            r.add(f"jetstream.{server_key}",
                  f"the tenants' {quota} quotas add up to {total} bytes, more than the servers' "
                  f"jetstream.{server_key} ({limit}); the server reserves each account's quota",
                  f"raise jetstream.{server_key} to at least {total} or lower tenants' {quota}")


@dataclass(frozen=True)
class StorageClaim:
    """What one stream, KV bucket or object store of an account reserves of the account's storage.

    Neutral, so tenants and named accounts are checked alike. ``max_bytes`` -1 (or 0) is
    unlimited; ``path`` is the field path of the object in the environment file.
    """

    name: str
    storage: str
    max_bytes: int
    replicas: int
    path: str


def check_account_storage(r: Reader, account: str, claims: Sequence[StorageClaim], max_bytes: int,
                          max_memory: int, quota_path: str) -> None:
    """Reports an account whose streams together reserve more than its storage quota.

    The server reserves ``max_bytes × replicas`` of every bounded stream against its account's
    quota (file storage against ``max_bytes``, memory against ``max_memory``) and refuses the stream
    that does not fit with 10047 (10028 for memory), even when each fits alone; an unlimited stream
    needs one byte left when it is made (seen on nats-server 2.15.1). The servers make streams in
    no fixed order, so the whole set must fit. A negative quota is unlimited.
    """
    for storage, quota, key in (("file", max_bytes, "max_bytes"), ("memory", max_memory, "max_memory")):
        mine = [c for c in claims if c.storage == storage]
        if quota < 0 or not mine:
            continue
        bounded = [c for c in mine if c.max_bytes > 0]
        reserved = sum(c.max_bytes * max(c.replicas, 1) for c in bounded)
        unlimited = [c for c in mine if c.max_bytes <= 0]
        needed = reserved + (1 if unlimited else 0)
        if needed <= quota:
            continue
        parts = ", ".join(f"{c.name} {c.max_bytes}" + (f" × {c.replicas}" if c.replicas > 1 else "")
                          for c in sorted(bounded, key=lambda c: -c.max_bytes * max(c.replicas, 1)))
        also = f", and {len(unlimited)} unlimited one(s) need 1 byte left" if unlimited else ""
        first_over = _first_over(bounded, quota)
        where = f"; {first_over.name} ({first_over.path}) is the first that does not fit" if first_over else ""
        r.add(child(quota_path, key),
              f"account {account}'s {storage} streams, KV buckets and object stores reserve {reserved} bytes "
              f"({parts}){also}, more than its {key} quota of {quota}{where}; the server refuses what does "
              f"not fit ({'10047' if storage == 'file' else '10028'})",
              f"raise {key} to at least {needed}, or lower those objects' max_bytes or replicas")


def _first_over(bounded: Sequence[StorageClaim], quota: int) -> Optional[StorageClaim]:
    total = 0
    for c in bounded:
        total += c.max_bytes * max(c.replicas, 1)
        if total > quota:
            return c
    return None
