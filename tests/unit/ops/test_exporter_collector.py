"""The collector turns the documents into Prometheus text without a network (a stub client)."""
from __future__ import annotations

import json
import os
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from components.ops.exporter import MonitorClient, MonitorError, TenantCollector, parse_listen

CAPTURE = os.path.join(os.path.dirname(__file__), "monitoring_capture.json")


class StubClient(MonitorClient):
    def __init__(self, docs: dict[str, Any], fail: bool = False):
        super().__init__("http://stub")
        object.__setattr__(self, "docs", docs)
        object.__setattr__(self, "fail", fail)
        object.__setattr__(self, "calls", [])

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        self.calls.append((path, params))  # type: ignore[attr-defined]
        if self.fail:  # type: ignore[attr-defined]
            raise MonitorError("connection refused")
        d = self.docs  # type: ignore[attr-defined]
        if path == "jsz":
            return d["jsz"] if params["offset"] == 0 else {"account_details": [], "total": 0}
        if path == "accstatz":
            return d["accstatz"]
        if path == "accountz" and "acc" in params:
            return {"account_detail": d["details"].get(params["acc"])}
        return {"system_account": d["system_account"], "accounts": [*d["details"], d["system_account"], "$G"]}


def _scrape(client: MonitorClient) -> dict[str, list[Any]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TenantCollector(client))
    text = generate_latest(registry).decode()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_collects_on_scrape_with_labels() -> None:
    with open(CAPTURE, encoding="utf-8") as f:
        docs = json.load(f)
    client = StubClient(docs)
    m = _scrape(client)
    assert [s.value for s in m["nats_tenant_exporter_scrape_success"]] == [1.0]
    lag = m["nats_tenant_consumer_num_pending"]
    assert [(s.labels["tenant"], s.labels["stream"], s.labels["consumer"], s.value) for s in lag] == [
        ("acme", "ACME_LOGS", "WORKER", 6.0)]
    # Only tenant accounts are looked up in /accountz; the system and global accounts are not.
    looked_up = {p["acc"] for path, p in client.calls if path == "accountz" and "acc" in p}  # type: ignore[attr-defined]
    assert looked_up == {docs["acme"], docs["globex"]}


def test_a_failed_scrape_reports_zero_and_no_tenant_series() -> None:
    m = _scrape(StubClient({}, fail=True))
    assert [s.value for s in m["nats_tenant_exporter_scrape_success"]] == [0.0]
    assert not any(name.startswith("nats_tenant_consumer") for name in m)


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:7777") == ("127.0.0.1", 7777)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen(":7777") == ("127.0.0.1", 7777)
