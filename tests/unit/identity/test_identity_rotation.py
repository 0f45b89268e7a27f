"""Grace-period bookkeeping of rotated keys, the credentials section, and extra tenant users."""
from __future__ import annotations

from components.model.environment.load import load_environment_text
from components.model.environment.model import DEFAULT_GRACE_PERIOD_NS
from components.model.identity.rotation import due, retire, still_valid, withdraw_now
from components.model.tenant_plan import tenant_user_specs

NOW = 1_000_000.0


def test_a_replaced_key_retires_after_the_grace_period() -> None:
    retiring = retire({}, ["UOLD"], ["UNEW"], NOW, grace_s=60)
    assert retiring == {"UOLD": int(NOW + 60)}
    assert withdraw_now(["UOLD"], ["UNEW"], retiring, NOW) == []
    assert due(retiring, NOW + 59) == []
    assert due(retiring, NOW + 60) == ["UOLD"]
    assert still_valid(retiring, NOW + 60) == {}


def test_no_grace_withdraws_at_once() -> None:
    retiring = retire({}, ["UOLD"], ["UNEW"], NOW, grace_s=0)
    assert retiring == {}
    assert withdraw_now(["UOLD"], ["UNEW"], retiring, NOW) == ["UOLD"]


def test_rotating_twice_keeps_the_first_deadline_and_adds_the_second() -> None:
    first = retire({}, ["K1"], ["K2"], NOW, grace_s=100)
    second = retire(first, ["K2"], ["K3"], NOW + 50, grace_s=100)
    assert second == {"K1": int(NOW + 100), "K2": int(NOW + 150)}
    assert withdraw_now(["K2"], ["K3"], second, NOW + 120) == ["K1"]


def test_a_key_brought_back_leaves_the_retiring_list() -> None:
    first = retire({}, ["K1"], ["K2"], NOW, grace_s=100)
    assert retire(first, ["K2"], ["K1"], NOW + 1, grace_s=100) == {"K2": int(NOW + 101)}


def test_unchanged_keys_never_retire() -> None:
    assert retire({}, ["K1"], ["K1"], NOW, grace_s=10) == {}
    assert withdraw_now(["K1"], ["K1"], {}, NOW) == []


ENV = """
version: 1
servers: {mode: local, client_port: 14222, monitor_port: 18222, leafnode_port: 17422}
tiers:
  s: {max_streams: 5, max_consumers: 5, max_bytes: 1GiB, max_memory: 8MiB, max_connections: 10,
      retention_days: 7, max_ack_pending: 100}
tenants:
  - id: acme
    tier: s
    users: [{name: etl, role: service}, {name: audit, role: reader}]
    credentials: {grace_period: 90m, signing_key: 3, users: {etl: 2, reader: 4}}
  - id: globex
    tier: s
"""


def test_credentials_section_and_defaults() -> None:
    env = load_environment_text(ENV, "environments/test.yaml", stack="dev")
    acme, globex = env.tenants
    assert acme.credentials.grace_period_ns == 90 * 60 * 10**9
    assert acme.credentials.signing_key == 3
    assert (acme.credentials.generation("etl"), acme.credentials.generation("reader"),
            acme.credentials.generation("service")) == (2, 4, 1)
    assert globex.credentials.grace_period_ns == DEFAULT_GRACE_PERIOD_NS
    assert globex.credentials.signing_key == 1


def test_extra_users_are_made_with_their_role() -> None:
    env = load_environment_text(ENV, "environments/test.yaml", stack="dev")
    users = tenant_user_specs(env.tenant("acme"), None)
    assert list(users) == ["service", "reader", "leaf", "provisioning", "etl", "audit"]
    assert users["etl"].name == "acme-etl" and users["audit"].name == "acme-audit"
    assert "acme.>" in users["etl"].permissions.pub.allow
    assert users["audit"].permissions.pub == users["reader"].permissions.pub
    assert users["audit"].permissions.sub.allow == users["reader"].permissions.sub.allow
