"""Per-tenant lag of the shared platform consumers, read from the server's JetStream API.

The method and what the numbers mean are in ``components.model.platform_lag``. This module only
talks to the server: one connection per platform account and scrape, with the creds file given
for that account (its path is never printed, its content never read here: the client reads it).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Mapping

from components.model import platform_lag
from components.model.errors import NatsTenancyError
from components.model.ops_metrics import Sample
from components.model.platform_lag import LagTarget
from components.nats_io.connect import Client, connect
from components.nats_io.errors import JetStreamApiError, NatsConnectError
from components.nats_io.jetstream import API, JetStreamApi


class LagError(NatsTenancyError, RuntimeError):
    """A platform account's lag could not be read; the message names the account and the request."""


@dataclass(frozen=True)
class LagProber:
    nats_url: str
    creds: Mapping[str, str] = field(default_factory=dict)     # platform account name -> creds file
    timeout: float = 5.0

    def samples(self, targets: tuple[LagTarget, ...], account_keys: Mapping[str, str]) -> list[Sample]:
        """``account_keys``: platform account JWT name -> public key (for the ``account`` label).
        Raises ``LagError`` naming the account whose probes failed."""
        return asyncio.run(self._all(targets, account_keys))

    async def _all(self, targets: tuple[LagTarget, ...], account_keys: Mapping[str, str]) -> list[Sample]:
        out: list[Sample] = []
        by_account: dict[str, list[LagTarget]] = {}
        for t in targets:
            by_account.setdefault(t.account, []).append(t)
        for account, group in sorted(by_account.items()):
            if account not in self.creds:
                continue   # no creds given for this account: its lag is not reported
            try:
                # The client's asynchronous errors are kept by the adapter, not logged: a failure is
                # reported once, by the scrape.
                nc = await connect(self.nats_url, creds_path=self.creds[account], name="nats-tenancy-lag-probe",
                                   timeout=self.timeout)
            except NatsConnectError as exc:  # any connect failure is one failed scrape
                raise LagError(f"platform account {account}: cannot connect to {self.nats_url}: {exc.detail}") from exc
            except NatsTenancyError as exc:  # unusable TLS settings
                raise LagError(f"platform account {account}: {exc}") from exc
            try:
                for target in group:
                    counts = await self._target(nc, target)
                    out += platform_lag.lag_samples(target, account_keys.get(account, account), counts)
            finally:
                await nc.close()
        return out

    async def _target(self, nc: Client, target: LagTarget) -> dict[str, tuple[int, int]]:
        info = await self._api(nc, f"CONSUMER.INFO.{target.stream}.{target.consumer}", None, target)
        ack_floor, delivered = platform_lag.floors(info)
        counts: dict[str, tuple[int, int]] = {}
        for tenant, subject in target.tenants:
            unacked = await self._count(nc, target, subject, ack_floor)
            pending = unacked if delivered == ack_floor else await self._count(nc, target, subject, delivered)
            counts[tenant] = (unacked, pending)
        return counts

    async def _count(self, nc: Client, target: LagTarget, subject: str, after_seq: int) -> int:
        body = {"stream_name": target.stream, "config": platform_lag.probe_config(subject, after_seq)}
        reply = await self._api(nc, f"CONSUMER.CREATE.{target.stream}", body, target)
        try:
            return int(reply.get("num_pending", 0) or 0)
        finally:
            name = reply.get("name")
            if isinstance(name, str) and name:
                await self._api(nc, f"CONSUMER.DELETE.{target.stream}.{name}", None, target)

    async def _api(self, nc: Client, subject: str, body: Any, target: LagTarget) -> dict[str, Any]:
        where = f"platform account {target.account}, consumer {target.stream}/{target.consumer}"
        try:
            return await JetStreamApi(nc, timeout=self.timeout).request(subject, body, enrich=False)
        except JetStreamApiError as exc:  # an error reply, no reply in time, no JetStream responders
            raise LagError(f"{where}: {API}.{subject}: {exc.detail}") from exc
        except Exception as exc:  # noqa: BLE001 - the connection closed, a permission error
            raise LagError(f"{where}: {API}.{subject}: {type(exc).__name__}: {exc}") from exc
