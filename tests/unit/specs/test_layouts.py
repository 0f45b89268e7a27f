"""Layouts (environment ``layout``, ``roles``, ``accounts``): templates, subject schema, names,
collisions and the plans the components map to resources."""
from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import yaml

from components.model import tenant_plan
from components.model.environment.layout import Layout, SubjectLayout, TokenRule, template_problem
from components.model.environment.load import Environment, load_environment, load_environment_text
from components.model.errors import SpecError
from components.model.identity import roles as builtin
from components.model.identity.role_sets import builtin_roles

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLES = os.path.join(ROOT, "environments", "examples")


def example(name: str) -> dict[str, Any]:
    with open(os.path.join(EXAMPLES, f"{name}.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def load(doc: dict[str, Any]) -> Environment:
    settings = {k: v for k, v in doc.items() if not k.startswith("x-")}
    return load_environment_text(yaml.safe_dump(settings, sort_keys=False),
                                 "environments/test.yaml")


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as err:
        load(doc)
    return [f"{p.field}: {p.reason}" for p in err.value.problems]


@pytest.mark.parametrize("name", ["serviceradar", "xorb", "platform-apps", "venture"])
def test_every_example_loads(name: str) -> None:
    env = load_environment(os.path.join(EXAMPLES, f"{name}.yaml"))
    assert env.stack == name


def test_default_layout_users_are_the_built_in_roles() -> None:
    """Without a layout the tenant users get exactly what ``identity.roles`` defines."""
    env = load_environment(os.path.join(ROOT, "environments", "dev.yaml"))
    for t in env.tenants:
        users = tenant_plan.tenant_user_specs(t, None, {r.name: r for r in env.roles})
        assert users["service"] == builtin.tenant_service_user(
            t.id, kv_buckets=[k.bucket for k in t.kv_buckets], object_stores=[o.bucket for o in t.object_stores])
        assert users["reader"] == builtin.tenant_reader_user(t.id)
        assert users["leaf"] == builtin.tenant_leaf_user(t.id)
        assert users["provisioning"] == builtin.tenant_provisioning_user(t.id)
    assert tenant_plan.platform_user_specs(0, None, env) == tenant_plan.platform_user_specs(0, None)


def test_schema_spelled_out_in_publish_permissions() -> None:
    xorb = load_environment(os.path.join(EXAMPLES, "xorb.yaml"))
    t = xorb.tenant("t-qa")
    service = tenant_plan.tenant_user_specs(t, None, {r.name: r for r in xorb.roles})["service"]
    allow = service.permissions.pub.allow
    assert "xorb.t-qa.scan.*.created" in allow and "xorb.t-qa.control.*.replay" in allow
    assert not any(s.startswith("xorb.t-qa.>") for s in allow)
    assert len([s for s in allow if s.startswith("xorb.")]) == 4 * 5


def test_check_subject_reports_each_schema_rule() -> None:
    layout = Layout(subjects=SubjectLayout(root="xorb.{tenant}", trees=(), stored="", schema=(
        TokenRule("domain", enum=("scan",)), TokenRule("service", max_length=4),
        TokenRule("event", enum=("created",)))))
    assert layout.check_subject("xorb.t-qa.scan.nmap.created") == []
    assert layout.check_subject("xorb.t-qa.invalid-domain.nmap.created") == [
        "domain 'invalid-domain' is not one of scan"]
    assert "characters long" in layout.check_subject("xorb.t-qa.scan.nmapper.created")[0]
    assert "has 2 tokens below the root" in layout.check_subject("xorb.t-qa.scan.nmap")[0]
    assert "does not start with" in layout.check_subject("other.t-qa.scan.nmap.created")[0]


@pytest.mark.parametrize("template,kind,why", [
    ("{tenant}_{nmae}", "kv", "uses {nmae}"),
    ("{Tenant}", "account", "uses {Tenant}"),
    ("{tenant", "stream", "is not a template"),
])
def test_template_problems(template: str, kind: str, why: str) -> None:
    assert why in (template_problem(template, kind) or "")


def test_tenant_id_rule_of_the_layout() -> None:
    doc = example("venture")
    doc["tenants"].append({"id": "Initech", "tier": "medium"})
    found = problems(doc)
    assert any(p.startswith("tenants[2].id: 'Initech' is not valid") for p in found), found


def test_name_collision_names_both_sources() -> None:
    doc = example("xorb")
    doc["layout"]["names"]["stream"] = "xorb-{tenant}-{class}"       # the domain left out
    found = problems(doc)
    assert any("tenants[0].domains.scan.live" in p and "collides with the one of tenants[0].domains.evidence.live" in p
               for p in found), found


def test_invalid_rendered_name_is_refused() -> None:
    doc = example("venture")
    doc["layout"]["every_tenant"]["streams"][0]["name"] = "EVENTS.{tenant}"
    found = problems(doc)
    assert any(p.startswith("layout.every_tenant.streams[0].name: 'EVENTS.acme_corp' is not a valid")
               for p in found), found


def test_consumer_filter_outside_its_stream() -> None:
    doc = example("venture")
    doc["layout"]["every_tenant"]["streams"][0]["consumers"][0]["filter"] = "OTHER.{tenant}.>"
    found = problems(doc)
    assert any("is outside the stream's subjects" in p for p in found), found


def test_catalogue_fields_are_checked_where_they_are_written() -> None:
    doc = example("venture")
    doc["layout"]["every_tenant"]["streams"][0]["compression"] = "zstd"
    found = problems(doc)
    assert any(p.startswith("layout.every_tenant.streams[0].compression") for p in found), found


def test_unknown_role_and_import_without_export() -> None:
    doc = example("platform-apps")
    doc["accounts"][2]["users"].append({"name": "ops", "role": "OPERATOR"})
    doc["accounts"][2]["imports"].append({"account": "PROD", "subject": "prod.convex.kv.>"})
    found = problems(doc)
    assert any("accounts[2].users[1].role: unknown role 'OPERATOR'" in p for p in found), found
    assert any("accounts[2].imports[2].subject: account PROD exports no stream covering 'prod.convex.kv.>'" in p
               for p in found), found


def test_account_streams_must_fit_its_quota_together() -> None:
    doc = example("platform-apps")
    doc["accounts"][0]["jetstream"]["max_bytes"] = "2GiB"    # WAL 1GiB + audit 1GiB + events 512MiB + snapshots 1GiB
    found = problems(doc)
    assert any(p.startswith("accounts[0].jetstream.max_bytes") and "reserve" in p for p in found), found


def test_tenant_streams_must_fit_the_tenant_quota_together() -> None:
    doc = example("xorb")
    doc["tiers"]["g2"]["max_bytes"] = "5GiB"    # each class fits alone, the eight together (6GiB) do not
    found = problems(doc)
    assert any(p.startswith("tenants[0].quotas.max_bytes") and "10047" in p for p in found), found


def test_legacy_mapping_and_publish_rights() -> None:
    env = load_environment(os.path.join(EXAMPLES, "serviceradar.yaml"))
    t = env.tenant("acme")
    account = tenant_plan.tenant_account_spec(t)
    assert account.mappings == (("logs.>", "acme.logs.>"), ("events.>", "acme.events.>"), ("otel.>", "acme.otel.>"))
    service = tenant_plan.tenant_user_specs(t, None, {r.name: r for r in env.roles})["service"]
    assert {"acme.>", "events.>", "logs.>", "otel.>"} <= set(service.permissions.pub.allow)


def test_platform_filter_naming_an_undeclared_tenant() -> None:
    doc = example("serviceradar")
    doc["platform"]["consumers"][0]["filter"] = "acmee.logs.>"
    found = problems(doc)
    assert any("platform.consumers[0].filter" in p and "'acmee', which is not declared" in p for p in found), found


def test_named_account_plan_imports_from_every_tenant() -> None:
    env = load_environment(os.path.join(EXAMPLES, "venture.yaml"))
    pubs = {"acme_corp": "A" + "C" * 55, "globex": "A" + "G" * 55}
    spec = tenant_plan.named_account_spec(env.accounts[0], pubs, {t.id: t for t in env.tenants})
    assert [(i.subject, i.local_subject, i.account) for i in spec.imports] == [
        ("VENTURE.acme_corp.>", "PLATFORM.acme_corp.>", pubs["acme_corp"]),
        ("VENTURE.globex.>", "PLATFORM.globex.>", pubs["globex"])]


def test_declared_role_replaces_a_built_in_one() -> None:
    doc = example("venture")
    doc["roles"]["reader"] = {"subscribe": ["{root}.task.>"]}
    env = load(doc)
    reader = tenant_plan.tenant_user_specs(env.tenant("globex"), None, {r.name: r for r in env.roles})["reader"]
    assert reader.permissions.sub.allow == ("VENTURE.globex.task.>",)
    assert reader.permissions.pub.deny == (">",)       # an omitted direction allows nothing
    assert set(builtin_roles()) == {"service", "reader", "leaf", "backup", "provisioning"}


def test_every_tenant_parts_come_after_the_tenants_own() -> None:
    doc: dict[str, Any] = copy.deepcopy(example("venture"))
    doc["tenants"][0]["kv_buckets"] = [{"name": "flags", "history": 1}]
    env = load(doc)
    assert [k.bucket for k in env.tenant("acme_corp").kv_buckets] == ["flags_acme_corp", "config_acme_corp"]
    assert [k.bucket for k in env.tenant("globex").kv_buckets] == ["config_globex"]




def test_tenant_plan_holds_everything_the_account_is_made_of() -> None:
    env = load_environment(os.path.join(EXAMPLES, "venture.yaml"))
    plan = tenant_plan.plan_tenant(env.tenant("acme_corp"), {r.name: r for r in env.roles})
    assert plan.name == "TENANT_acme_corp" and plan.account is not None and plan.account.name == "TENANT_acme_corp"
    assert set(plan.users) == {"service", "reader", "leaf", "provisioning", "service_user"}
    assert [s.name for s in plan.jetstream.streams] == ["EVENTS_acme_corp", "DLQ_acme_corp"]
    assert [c.name for c in plan.jetstream.consumers] == ["artifact_worker_acme_corp", "compliance_acme_corp",
                                                         "ledger_acme_corp", "orchestrator_acme_corp"]
    assert plan.jetstream.consumers[1].inputs["deliver_subject"] == \
        "_deliver.VENTURE.acme_corp.EVENTS_acme_corp.compliance_acme_corp"
    assert [b for b, _ in plan.jetstream.kv_buckets] == ["config_acme_corp"]
    xorb = load_environment(os.path.join(EXAMPLES, "xorb.yaml"))
    streams = tenant_plan.plan_tenant(xorb.tenant("t-qa")).jetstream.streams
    order = [s.name for s in streams]
    replay = [s for s in streams if s.name.endswith("-replay")]
    assert len(replay) == 4
    for s in replay:   # a replay stream is made after the live stream it sources
        assert s.after == (s.name.replace("-replay", "-live"),)
        assert order.index(s.after[0]) < order.index(s.name)


def test_account_users_cannot_take_a_tenant_role() -> None:
    doc = example("platform-apps")
    doc["accounts"][2]["users"].append({"name": "svc", "role": "service"})   # {publish}, {root}: a tenant's
    found = problems(doc)
    assert any(p.startswith("accounts[2].users[1].role: role 'service' uses {publish}") for p in found), found
