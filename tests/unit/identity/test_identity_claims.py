"""Operator, account and user claims: defaults the server needs, and validation that names fields."""
from __future__ import annotations

import pytest

from components.model.errors import SpecError
from components.model.identity.account import (
    NO_JETSTREAM,
    AccountLimits,
    AccountSpec,
    Export,
    Import,
    JetStreamLimits,
    ScopedSigningKey,
    account_claims,
    validate_account,
)
from components.model.identity.keys import new_account_key, new_operator_key, new_user_key
from components.model.identity.operator import delete_accounts_claims, operator_claims
from components.model.identity.permissions import Permission, ResponsePermission, TimeRange, UserLimits, UserPermissions
from components.model.identity.user import UserSpec, user_claims

ACC = new_account_key().public_key
USER = new_user_key().public_key
OP = new_operator_key().public_key


def _fields(err: SpecError) -> list[str]:
    return [p.field for p in err.problems]


def test_every_unset_limit_is_unlimited():
    lim = account_claims(AccountSpec(name="a"), ACC)["nats"]["limits"]
    numeric = {k: v for k, v in lim.items() if not isinstance(v, bool)}
    assert set(numeric) == {"subs", "data", "payload", "imports", "exports", "conn", "leaf", "mem_storage",
                            "disk_storage", "streams", "consumer", "max_ack_pending", "mem_max_stream_bytes",
                            "disk_max_stream_bytes"}
    assert all(v == -1 for v in numeric.values()), numeric
    assert lim["wildcards"] is True
    assert "disallow_bearer" not in lim and "max_bytes_required" not in lim


def test_no_jetstream_and_tiers():
    off = account_claims(AccountSpec(name="a", limits=AccountLimits(jetstream=NO_JETSTREAM)), ACC)["nats"]["limits"]
    assert off["mem_storage"] == 0 and off["disk_storage"] == 0 and off["conn"] == -1
    tiers = {"R1": JetStreamLimits(disk_storage=10_000), "R3": JetStreamLimits(disk_storage=3_000, streams=2)}
    lim = account_claims(AccountSpec(name="a", limits=AccountLimits(tiered_limits=tiers)), ACC)["nats"]["limits"]
    assert "disk_storage" not in lim
    assert lim["tiered_limits"]["R1"]["disk_storage"] == 10_000 and lim["tiered_limits"]["R1"]["mem_storage"] == -1
    assert lim["tiered_limits"]["R3"]["streams"] == 2


def test_account_claims_shape():
    spec = AccountSpec(
        name="acme",
        limits=AccountLimits(conn=5),
        exports=(Export("acme.logs.>"), Export("acme.svc.ping", type="service", response_type="Stream")),
        imports=(Import("p.news.>", account=new_account_key().public_key),),
        signing_keys=(new_account_key().public_key,),
        revocations={USER: 1_700_000_000, "*": 1_600_000_000},
        description="tenant acme",
        tags=("tier-gold", "eu"),
    )
    claims = account_claims(spec, ACC)
    nats = claims["nats"]
    assert claims["sub"] == ACC and claims["name"] == "acme"
    assert nats["type"] == "account" and nats["version"] == 2
    assert nats["limits"]["conn"] == 5
    assert nats["exports"][0] == {"name": "acme.logs.>", "subject": "acme.logs.>", "type": "stream"}
    assert nats["exports"][1]["response_type"] == "Stream"
    assert nats["imports"][0]["type"] == "stream" and "local_subject" not in nats["imports"][0]
    assert list(nats["revocations"]) == sorted(nats["revocations"])
    assert nats["tags"] == ["eu", "tier-gold"]


def test_scoped_signing_key_template_has_unlimited_defaults():
    key = new_account_key().public_key
    scoped = ScopedSigningKey(key=key, role="svc", permissions=UserPermissions(pub=Permission(allow=("a.>",))))
    sk = account_claims(AccountSpec(name="a", signing_keys=(scoped,)), ACC)["nats"]["signing_keys"][0]
    assert sk["kind"] == "user_scope" and sk["key"] == key and sk["role"] == "svc"
    assert sk["template"]["pub"] == {"allow": ["a.>"]}
    assert (sk["template"]["subs"], sk["template"]["data"], sk["template"]["payload"]) == (-1, -1, -1)


@pytest.mark.parametrize("exports,overlap", [
    (("x.>", "x.y"), True),
    (("x.y", "x.>"), True),
    (("x.*", "x.y"), True),
    (("x.*.z", "x.y.z"), True),
    (("x.y", "x.z"), False),
    (("x.*", "x.y.z"), False),
    (("a.logs.>", "a.events.>"), False),
])
def test_same_type_exports_must_not_contain_each_other(exports, overlap):
    spec = AccountSpec(name="a", exports=tuple(Export(s) for s in exports))
    problems = validate_account(spec)
    assert bool(problems) is overlap
    if overlap:
        assert problems.items[0].field == "exports[1].subject"
        assert "overlaps exports[0]" in problems.items[0].reason


def test_exports_of_different_types_may_overlap():
    spec = AccountSpec(name="a", exports=(Export("x.>"), Export("x.y", type="service")))
    assert not validate_account(spec)


def test_all_account_problems_reported_at_once_with_field_paths():
    spec = AccountSpec(
        name="",
        limits=AccountLimits(conn=-5, jetstream=JetStreamLimits(disk_storage=5),
                             tiered_limits={"R1": JetStreamLimits(), "X": JetStreamLimits()}),
        exports=(Export("bad..subject"), Export("a.>.b"), Export("s.*", type="service", account_token_position=2),
                 Export("t.x", response_type="Stream")),
        imports=(Import("p.>", account="not-a-key"), Import("q.>", account=ACC, local_subject="mine.x")),
        signing_keys=(USER,),
        revocations={"nobody": 1},
    )
    with pytest.raises(SpecError) as e:
        account_claims(spec, "also-bad", source="environments/dev.yaml")
    fields = _fields(e.value)
    for expected in ["name", "limits.conn", "limits.tiered_limits.X", "limits.jetstream", "exports[0].subject",
                     "exports[1].subject", "exports[3].response_type", "imports[0].account",
                     "imports[1].local_subject", "signing_keys[0]", "revocations.nobody", "account_pub"]:
        assert expected in fields, (expected, fields)
    assert "exports[2].account_token_position" not in fields  # token 2 of s.* is '*'
    assert str(e.value).startswith("environments/dev.yaml: ")


def test_non_scoped_user_claims_write_unlimited_limits_and_permissions():
    spec = UserSpec(
        name="svc",
        permissions=UserPermissions(pub=Permission(allow=("a.>",), deny=("a.secret.>",)),
                                    sub=Permission(allow=("a.>", "_INBOX.>")),
                                    resp=ResponsePermission(max=1, ttl_ns=0)),
        limits=UserLimits(src=("127.0.0.1/32",), times=(TimeRange("08:00:00", "18:00:00"),)),
        allowed_connection_types=("STANDARD", "LEAFNODE"),
    )
    claims = user_claims(spec, USER, ACC, issuer_is_signing_key=False)
    nats = claims["nats"]
    assert claims["sub"] == USER and nats["type"] == "user" and nats["version"] == 2
    assert (nats["subs"], nats["data"], nats["payload"]) == (-1, -1, -1)
    assert nats["pub"] == {"allow": ["a.>"], "deny": ["a.secret.>"]}
    assert nats["resp"] == {"max": 1, "ttl": 0}
    assert nats["src"] == ["127.0.0.1/32"]
    assert nats["allowed_connection_types"] == ["LEAFNODE", "STANDARD"]
    assert "issuer_account" not in nats


def test_user_signed_by_signing_key_names_its_account():
    nats = user_claims(UserSpec(name="u"), USER, ACC, issuer_is_signing_key=True)["nats"]
    assert nats["issuer_account"] == ACC
    assert nats["subs"] == -1


def test_scoped_user_carries_no_permission_or_limit_fields():
    claims = user_claims(UserSpec(name="u"), USER, ACC, issuer_is_signing_key=True, scoped=True)
    assert claims["nats"] == {"type": "user", "version": 2, "issuer_account": ACC}


def test_scoped_user_with_own_permissions_is_refused():
    spec = UserSpec(name="u", permissions=UserPermissions(pub=Permission(allow=("a",))))
    with pytest.raises(SpecError) as e:
        user_claims(spec, USER, ACC, issuer_is_signing_key=True, scoped=True)
    assert _fields(e.value) == ["permissions"]
    with pytest.raises(SpecError):
        user_claims(UserSpec(name="u", limits=UserLimits(subs=10)), USER, ACC, True, scoped=True)


def test_user_problems_name_fields():
    spec = UserSpec(
        name="u",
        permissions=UserPermissions(pub=Permission(allow=("a..b",)), sub=Permission(deny=("x.>.y",))),
        limits=UserLimits(subs=-7, src=("not-cidr",), times=(TimeRange("25:00:00", "08:00"),)),
        allowed_connection_types=("CARRIER_PIGEON",),
    )
    with pytest.raises(SpecError) as e:
        user_claims(spec, ACC, USER, False)
    assert set(_fields(e.value)) >= {"permissions.pub.allow[0]", "permissions.sub.deny[0]", "limits.subs",
                                     "limits.src[0]", "limits.times[0]", "allowed_connection_types[0]",
                                     "user_pub", "account_pub"}


def test_queue_subscribe_permission_is_accepted():
    spec = UserSpec(name="u", permissions=UserPermissions(sub=Permission(allow=("a.> workers",))))
    assert user_claims(spec, USER, ACC, False)["nats"]["sub"] == {"allow": ["a.> workers"]}


def test_operator_claims():
    sys_acc = new_account_key().public_key
    sk = new_operator_key().public_key
    claims = operator_claims("op", OP, sys_acc, signing_keys=(sk,), account_server_url="http://127.0.0.1:1/jwt/v1",
                             strict_signing_key_usage=True)
    assert claims["sub"] == OP and claims["name"] == "op"
    assert claims["nats"] == {"type": "operator", "version": 2, "system_account": sys_acc, "signing_keys": [sk],
                              "account_server_url": "http://127.0.0.1:1/jwt/v1", "strict_signing_key_usage": True}
    with pytest.raises(SpecError) as e:
        operator_claims("", ACC, OP, signing_keys=(ACC,), account_server_url="host:80", strict_signing_key_usage=True)
    assert set(_fields(e.value)) == {"name", "operator_pub", "system_account", "signing_keys[0]",
                                     "account_server_url"}


def test_delete_claims():
    claims = delete_accounts_claims(OP, [ACC, ACC])
    assert claims == {"sub": OP, "nats": {"accounts": [ACC], "version": 2}}
    assert "type" not in claims["nats"]
    with pytest.raises(SpecError):
        delete_accounts_claims(OP, [])
