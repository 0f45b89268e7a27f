"""The four layouts of the users' design documents, each brought up from its example file through the
real CLI, then read back from the server: names, subjects, configs, imports, exports and
permissions are what the document says; publishes the schema refuses are refused; a second preview
shows no change; destroy leaves nothing. See docs/layouts.md for the requirement → line map.
"""
from __future__ import annotations

from typing import Any

from tests.e2e.layout_support import (
    account_detail,
    bring_up,
    jetstream_by_account,
    publish_outcome,
    received_via_import,
    subscribe_allowed,
    user_claims,
)
from tests.support.pulumi_cli import PulumiProject

NS = 1_000_000_000


def _finish(project: PulumiProject, outputs: dict[str, Any]) -> None:
    """Second preview clean, then destroy: no account of the layout keeps a stream."""
    project.preview("--expect-no-changes")
    project.destroy()
    assert project.outputs() == {}


def test_venture_seed_004(project: PulumiProject) -> None:
    out = bring_up(project, "venture")
    url = out["nats_url"]
    assert set(out["accounts"]) == {"TENANT_acme_corp", "TENANT_globex", "PLATFORM"}
    js = jetstream_by_account(out)
    for tid in ("acme_corp", "globex"):
        acct = f"TENANT_{tid}"
        streams, consumers = js[acct]["streams"], js[acct]["consumers"]
        assert set(streams) == {f"EVENTS_{tid}", f"DLQ_{tid}", f"KV_config_{tid}"}
        ev = streams[f"EVENTS_{tid}"]["config"]
        assert ev["subjects"] == [f"VENTURE.{tid}.>"]
        assert (ev["retention"], ev["storage"], ev["discard"], ev["num_replicas"]) == ("limits", "file", "old", 1)
        assert (ev["max_bytes"], ev["max_age"], ev["max_msgs_per_subject"]) == (1 << 30, 720 * 3600 * NS, 100000)
        assert (ev["duplicate_window"], ev["allow_rollup_hdrs"], ev["deny_delete"], ev["deny_purge"]) == (
            120 * NS, False, True, False)
        dlq = streams[f"DLQ_{tid}"]["config"]
        assert dlq["subjects"] == [f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.EVENTS_{tid}.>"]
        assert set(consumers) == {f"artifact_worker_{tid}", f"compliance_{tid}", f"ledger_{tid}",
                                  f"orchestrator_{tid}"}
        art = consumers[f"artifact_worker_{tid}"]["config"]
        assert art["filter_subject"] == f"VENTURE.{tid}.artifact.build_started.>"
        assert (art["ack_policy"], art["ack_wait"], art["max_deliver"], art["max_ack_pending"]) == (
            "explicit", 300 * NS, 3, 10)
        assert (art["deliver_policy"], art["replay_policy"], art.get("deliver_subject")) == ("all", "instant", None)
        comp = consumers[f"compliance_{tid}"]["config"]
        assert comp["deliver_group"] == "compliance_workers" and comp["flow_control"] is True
        assert comp["idle_heartbeat"] == 15 * NS and comp["max_deliver"] == 5 and comp["ack_wait"] == 30 * NS
        kv = streams[f"KV_config_{tid}"]["config"]
        assert (kv["max_msgs_per_subject"], kv["max_age"], kv["max_bytes"]) == (5, 3600 * NS, 10 * 1024 * 1024)
        detail = account_detail(out, acct)
        assert [e["subject"] for e in detail.get("exports") or []] == [f"VENTURE.{tid}.>"]
    # Quotas per tier (004 §1: acme_corp 512MB/10GB/50/200, globex 256MB/5GB/25/100).
    limits = {a: account_detail(out, a)["decoded_jwt"]["nats"]["limits"] for a in ("TENANT_acme_corp", "TENANT_globex")}
    acme_l, globex_l = limits["TENANT_acme_corp"], limits["TENANT_globex"]
    assert (acme_l["mem_storage"], acme_l["disk_storage"], acme_l["streams"], acme_l["consumer"]) == (
        512 << 20, 10 << 30, 50, 200)
    assert (globex_l["mem_storage"], globex_l["disk_storage"], globex_l["streams"], globex_l["consumer"]) == (
        256 << 20, 5 << 30, 25, 100)
    acme = out["accounts"]["TENANT_acme_corp"]["creds"]
    assert "service_user" in acme
    assert user_claims(acme["service_user"])["name"] == "service_user"
    assert publish_outcome(url, acme["service_user"], "VENTURE.acme_corp.artifact.build_started.x1") == \
        "stored in EVENTS_acme_corp"
    assert publish_outcome(url, acme["service_user"], "VENTURE.globex.task.t1") == "permission denied"
    observer = out["accounts"]["PLATFORM"]["creds"]["control_plane"]
    assert subscribe_allowed(url, observer, "PLATFORM.>")
    assert not subscribe_allowed(url, observer, "VENTURE.>")
    # The platform sees every tenant under PLATFORM.<tenant>.> (the server loads an account when a
    # client of it connects, so this reads after the observer did).
    imports = [i for i in account_detail(out, "PLATFORM").get("imports") or [] if i["type"] == "stream"]
    assert sorted((i["subject"], i.get("to") or i.get("local_subject")) for i in imports) == [
        ("VENTURE.acme_corp.>", "PLATFORM.acme_corp.>"), ("VENTURE.globex.>", "PLATFORM.globex.>")]
    assert received_via_import(url, observer, "PLATFORM.acme_corp.>", acme["service_user"],
                               "VENTURE.acme_corp.task.t9") == "PLATFORM.acme_corp.task.t9"
    _finish(project, out)


def test_xorb_seed_002(project: PulumiProject) -> None:
    out = bring_up(project, "xorb")
    url = out["nats_url"]
    assert set(out["accounts"]) == {"xorb-t-qa", "xorb-t-demo"}
    js = jetstream_by_account(out)
    domains = ("evidence", "scan", "compliance", "control")
    for tid in ("t-qa", "t-demo"):
        acct = f"xorb-{tid}"
        streams, consumers = js[acct]["streams"], js[acct]["consumers"]
        assert set(streams) == {f"xorb-{tid}-{d}-{c}" for d in domains for c in ("live", "replay")}
        assert set(consumers) == {f"xorb-{tid}-{d}-{c}-consumer" for d in domains for c in ("live", "replay")}
        live = streams[f"xorb-{tid}-scan-live"]["config"]
        assert live["subjects"] == [f"xorb.{tid}.scan.>"]
        assert (live["max_bytes"], live["max_msgs"], live["max_age"], live["compression"]) == (
            512 << 20, 1_000_000, 720 * 3600 * NS, "s2")
        replay = streams[f"xorb-{tid}-scan-replay"]["config"]
        assert (replay["max_bytes"], replay["max_msgs"], replay["max_age"], replay["compression"]) == (
            1 << 30, 2_000_000, 720 * 3600 * NS, "s2")
        assert (replay["deny_delete"], replay["deny_purge"]) == (True, True)      # WORM-like
        assert [s["name"] for s in replay["sources"]] == [f"xorb-{tid}-scan-live"]
        c = consumers[f"xorb-{tid}-scan-live-consumer"]["config"]
        assert (c["ack_wait"], c["max_ack_pending"], c["flow_control"], c["idle_heartbeat"]) == (
            30 * NS, 1024, True, 5 * NS)
        assert (c["deliver_policy"], c["rate_limit_bps"]) == ("last", 1048576)
    creds = out["accounts"]["xorb-t-qa"]["creds"]
    assert set(creds) == {"xorb-t-qa-service", "xorb-t-qa-reader", "xorb-t-qa-leaf", "xorb-t-qa-user"}
    user = creds["xorb-t-qa-user"]
    assert user_claims(user)["name"] == "xorb-t-qa-user"
    # The v1 schema on the server: conforming subjects are stored; an unknown domain or event is
    # refused by the user's publish permissions; another tenant's tree too (002's test 1).
    assert publish_outcome(url, user, "xorb.t-qa.scan.nmap.created") == "stored in xorb-t-qa-scan-live"
    assert publish_outcome(url, user, "xorb.t-qa.evidence.discovery.completed") == "stored in xorb-t-qa-evidence-live"
    assert publish_outcome(url, user, "xorb.t-qa.invalid-domain.svc.created") == "permission denied"
    assert publish_outcome(url, user, "xorb.t-qa.scan.nmap.started") == "permission denied"
    assert publish_outcome(url, user, "xorb.t-demo.scan.nmap.created") == "permission denied"
    _finish(project, out)


def test_platform_apps_seed_003(project: PulumiProject) -> None:
    out = bring_up(project, "platform-apps")
    url = out["nats_url"]
    assert set(out["accounts"]) == {"PROD", "STAGING", "MONITOR"}
    assert set(out["accounts"]["PROD"]["creds"]) == {"prod-node-1", "prod-node-2", "convex-node-1"}
    assert set(out["accounts"]["STAGING"]["creds"]) == {"staging-node-1"}
    assert set(out["accounts"]["MONITOR"]["creds"]) == {"monitor"}
    js = jetstream_by_account(out)
    assert set(js["PROD"]["streams"]) == {"prod_convex_wal", "prod_events", "prod_audit", "KV_prod_convex",
                                          "KV_prod_cache", "KV_prod_api", "KV_prod_platform",
                                          "OBJ_prod_convex_snapshots"}
    assert js["PROD"]["streams"]["prod_convex_wal"]["config"]["subjects"] == ["prod.convex.wal.>"]
    assert js["PROD"]["streams"]["prod_audit"]["config"]["subjects"] == ["prod._.audit.>"]
    prod, monitor = out["accounts"]["PROD"]["creds"], out["accounts"]["MONITOR"]["creds"]["monitor"]
    node, convex = prod["prod-node-1"], prod["convex-node-1"]
    # Roles exactly as 003's authorization block.
    assert user_claims(node)["nats"]["pub"]["allow"] == ["prod.>", "$JS.API.>"]
    assert user_claims(node)["nats"]["sub"]["allow"] == ["prod.>", "_INBOX.>"]
    assert user_claims(convex)["nats"]["pub"]["allow"] == ["prod.convex.>"]
    assert user_claims(convex)["nats"]["sub"]["allow"] == ["prod.convex.>", "prod._.events.>", "_INBOX.>"]
    assert user_claims(monitor)["nats"]["sub"]["allow"] == ["prod.*.health.>", "prod._.audit.>"]
    assert publish_outcome(url, node, "prod._.audit.convex.query") == "stored in prod_audit"
    assert publish_outcome(url, convex, "prod.cache.kv.x") == "permission denied"
    assert subscribe_allowed(url, convex, "prod._.events.>") and not subscribe_allowed(url, convex, "prod.cache.>")
    # MONITOR imports PROD's health and audit trees, and sees nothing else.
    health = received_via_import(url, monitor, "prod.*.health.>", node, "prod.convex.health.ok")
    assert health == "prod.convex.health.ok"
    assert received_via_import(url, monitor, "prod._.audit.>", node, "prod._.audit.api.call") == "prod._.audit.api.call"
    assert not subscribe_allowed(url, monitor, "prod.convex.events.>")
    imports = sorted(i["subject"] for i in account_detail(out, "MONITOR").get("imports") or [] if i["type"] == "stream")
    assert imports == ["prod.*.health.>", "prod._.audit.>"]
    _finish(project, out)


def test_serviceradar_seeds_000_001(project: PulumiProject) -> None:
    out = bring_up(project, "serviceradar")
    url = out["nats_url"]
    assert set(out["accounts"]) == {"acme", "globex", "platform"}
    js = jetstream_by_account(out)
    assert js["platform"]["streams"]["events"]["config"]["subjects"] == ["*.events.>"]
    assert js["platform"]["streams"]["logs"]["config"]["subjects"] == ["*.logs.>"]
    assert set(js["platform"]["consumers"]) == {"serviceradar-zen", "event-writer"}
    exports = sorted(e["subject"] for e in account_detail(out, "acme").get("exports") or [])
    assert exports == ["acme.events.>", "acme.logs.>", "acme.otel.>"]
    service = out["tenants"]["acme"]["creds"]["service"]
    # Migration (001 §1.2.4, legacy: both): an unprefixed publish is mapped under the tenant and stored.
    assert publish_outcome(url, service, "events.netflow.flow1") == "stored in ACME_NETFLOW_LIVE"
    assert publish_outcome(url, service, "acme.events.netflow.flow2") == "stored in ACME_NETFLOW_LIVE"
    assert publish_outcome(url, service, "globex.events.netflow.x") == "permission denied"
    platform = out["accounts"]["platform"]["creds"]["platform-consumer-0"]
    got = received_via_import(url, platform, "*.events.>", service, "events.netflow.flow3")
    assert got == "acme.events.netflow.flow3"      # the platform sees the tenant slug as first token
    _finish(project, out)
