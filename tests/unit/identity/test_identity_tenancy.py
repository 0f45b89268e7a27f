"""Tenant subject model, least-privilege roles, platform sharding and the JWT-size budget."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.model.errors import Problems, SpecError
from components.model.identity import roles
from components.model.identity.account import AccountSpec, account_claims, validate_account
from components.model.identity.jwt_codec import MAX_TOKEN_BYTES, issue
from components.model.identity.keys import new_account_key, new_user_key
from components.model.identity.sharding import shard_of
from components.model.identity.tenancy import (
    all_tenants_root,
    platform_imports,
    tenant_roots,
    validate_tenant_id,
)
from components.model.identity.user import MAX_USER_JWT_BYTES, user_claims
from components.model.subjects import subject_contains, subjects_overlap
from tests.support.shard_budget import (
    DEFAULT_HEADROOM_BYTES,
    assign,
    platform_jwt_bytes,
    shard_capacity,
    shards_needed,
)
from tests.support.tenant_exports import tenant_exports


@pytest.mark.parametrize("tenant,ok", [
    ("acme", True), ("a", True), ("0-9", True), ("a" * 63, True),
    ("a" * 64, False), ("-acme", False), ("Acme", False), ("ac.me", False), ("ac_me", False), ("", False),
    ("*", False), ("a>", False),
])
def test_tenant_id(tenant, ok):
    problems = Problems("environments/dev.yaml")
    assert validate_tenant_id(tenant, "tenants[3].id", problems) is ok
    if not ok:
        assert problems.items[0].field == "tenants[3].id"
        assert "a-z, 0-9" in str(problems.items[0])


def test_roots_with_and_without_prefix():
    assert tenant_roots("acme") == {"logs": "acme.logs.>", "events": "acme.events.>", "otel": "acme.otel.>"}
    assert tenant_roots("acme", "ingest")["otel"] == "ingest.acme.otel.>"
    assert all_tenants_root("logs") == "*.logs.>"
    assert all_tenants_root("logs", "ingest") == "ingest.*.logs.>"
    with pytest.raises(SpecError):
        tenant_roots("Bad")
    with pytest.raises(SpecError):
        tenant_roots("ok", "pre.*")


def test_tenant_exports_and_platform_imports_keep_the_subject():
    acc = new_account_key().public_key
    exports = tenant_exports("acme", "ingest")
    assert [e.subject for e in exports] == ["ingest.acme.logs.>", "ingest.acme.events.>", "ingest.acme.otel.>"]
    assert all(e.type == "stream" for e in exports)
    assert not validate_account(AccountSpec(name="acme", exports=tuple(exports)))
    imports = platform_imports("acme", acc, "ingest")
    assert [i.subject for i in imports] == [e.subject for e in exports]
    assert all(i.local_subject is None and i.account == acc for i in imports)


@pytest.mark.parametrize("outer,inner,contains", [
    ("a.>", "a.b", True), ("a.>", "a.b.c", True), ("a.>", "a", False), ("a.*", "a.b", True),
    ("a.*", "a.>", False), ("a.*", "a.*", True), (">", "a.*", True), ("a.b", "a.*", False),
])
def test_subject_contains(outer, inner, contains):
    assert subject_contains(outer, inner) is contains


@pytest.mark.parametrize("a,b,overlap", [
    ("a.*", "*.b", True), ("a.>", "a", False), ("a.>", "*.b.c", True), ("a.b", "a.c", False), ("a", "a.b", False),
])
def test_subjects_overlap(a, b, overlap):
    assert subjects_overlap(a, b) is overlap and subjects_overlap(b, a) is overlap


ROLE_CASES = [
    roles.tenant_service_user("t" * 63, "ingest"),
    roles.tenant_reader_user("t" * 63, "ingest"),
    roles.tenant_leaf_user("t" * 63, "ingest"),
    roles.tenant_provisioning_user("t" * 63),
    roles.platform_consumer_user("ingest"),
    roles.system_user(),
]


@pytest.mark.parametrize("spec", ROLE_CASES, ids=lambda s: s.name[:20])
def test_role_user_jwts_fit_the_control_line(spec):
    acc = new_account_key()
    token = issue(user_claims(spec, new_user_key().public_key, acc.public_key, False), acc.seed)
    assert len(token) < MAX_USER_JWT_BYTES < 4096


def test_roles_are_least_privilege():
    svc = roles.tenant_service_user("acme")
    assert svc.permissions.pub.allow == ("acme.>", roles.INBOX, *roles.JS_USE)
    # uses JetStream but cannot manage it: no create/update/delete API subjects
    assert not any(s.startswith("$JS.API.") and any(w in s for w in ("CREATE", "UPDATE", "DELETE", "PURGE"))
                   for s in svc.permissions.pub.allow)
    assert "$JS.API.>" not in svc.permissions.pub.allow
    assert svc.permissions.sub.allow == ("acme.>", "_INBOX.>") and svc.permissions.resp is not None
    reader = roles.tenant_reader_user("acme", "p")
    assert reader.permissions.pub.deny == (">",) and not reader.permissions.pub.allow
    assert "p.acme.logs.>" in reader.permissions.sub.allow
    leaf = roles.tenant_leaf_user("acme")
    assert leaf.allowed_connection_types == ("LEAFNODE",)
    prov = roles.tenant_provisioning_user("acme")
    # the JetStream API and the acks of its own snapshots (backups before a data loss), nothing else
    assert prov.permissions.pub.allow == ("$JS.API.>", "$JS.SNAPSHOT.ACK.>")
    assert prov.permissions.sub.allow == ("_INBOX.>",)
    plat = roles.platform_consumer_user()
    assert set(plat.permissions.pub.deny) == {"*.logs.>", "*.events.>", "*.otel.>"}
    assert {"*.logs.>", "*.events.>", "*.otel.>", "_INBOX.>"} <= set(plat.permissions.sub.allow)


# --- sharding ---------------------------------------------------------------------------------

TENANTS = [f"tenant-{i:04d}" for i in range(600)]


def test_shard_of_is_deterministic_and_in_range():
    for count in (1, 2, 7):
        first = assign(TENANTS, count)
        assert first == assign(list(reversed(TENANTS)), count)
        assert set(first.values()) <= set(range(count))
    assert shard_of("acme", 5) == shard_of("acme", 5)
    with pytest.raises(ValueError):
        shard_of("acme", 0)


def test_adding_or_removing_tenants_moves_no_other_tenant():
    before = assign(TENANTS[:400], 4)
    after = assign(TENANTS, 4)
    assert all(after[t] == s for t, s in before.items())
    fewer = assign(TENANTS[100:400], 4)
    assert all(before[t] == s for t, s in fewer.items())


def test_growing_the_shard_count_only_moves_tenants_to_the_new_shard():
    four, five = assign(TENANTS, 4), assign(TENANTS, 5)
    moved = [t for t in TENANTS if four[t] != five[t]]
    assert moved and all(five[t] == 4 for t in moved)
    assert len(moved) < len(TENANTS) * 0.35  # about 1/5 expected


def test_shards_are_roughly_balanced():
    counts = [list(assign(TENANTS, 4).values()).count(s) for s in range(4)]
    assert min(counts) > 100, counts


def test_shards_needed_respects_capacity():
    n = shards_needed(TENANTS, 200)
    assert n >= 3
    load = [list(assign(TENANTS, n).values()).count(s) for s in range(n)]
    assert max(load) <= 200
    assert shards_needed([], 10) == 1


def test_jwt_size_per_tenant_and_shard_capacity():
    """Pins the budget: 3 stream imports per tenant; the 1 MiB JWT cap decides shard size."""
    base = platform_jwt_bytes([])
    long_ids = platform_jwt_bytes(["t" * 63])
    short_ids = platform_jwt_bytes(["t" * 20])
    assert 680 <= long_ids - base <= 720, long_ids - base      # ~700 bytes per tenant, 63-char ids
    assert 510 <= short_ids - base <= 545, short_ids - base    # ~527 bytes per tenant, 20-char ids

    no_headroom = shard_capacity(headroom_bytes=0)
    assert 1500 <= no_headroom <= 1560, no_headroom            # 63-char ids: ~1,530 tenants max
    assert 2000 <= shard_capacity(tenant_id_length=20, headroom_bytes=0) <= 2100  # ~2,050 with 20-char ids
    default = shard_capacity()
    assert default < no_headroom
    # the capacity is real: it fits, and a few percent more would not fit the cap
    ids = [f"{i:063d}" for i in range(no_headroom)]
    assert platform_jwt_bytes(ids) <= MAX_TOKEN_BYTES
    more = [f"{i:063d}" for i in range(int(no_headroom * 1.02))]
    assert platform_jwt_bytes(more) > MAX_TOKEN_BYTES
    assert DEFAULT_HEADROOM_BYTES < MAX_TOKEN_BYTES // 10


def test_platform_account_with_many_imports_is_valid():
    acc = new_account_key().public_key
    imports = tuple(i for t in TENANTS[:50] for i in platform_imports(t, acc))
    assert account_claims(AccountSpec(name="platform", imports=imports), new_account_key().public_key)


# --- subject containment against brute force ---------------------------------------------------

_TOKENS = st.sampled_from(["a", "b", "*"])
_SUBJECTS = st.builds(lambda toks, tail: ".".join(toks + ([">"] if tail else [])),
                      st.lists(_TOKENS, min_size=1, max_size=3), st.booleans())
_CONCRETE = [".".join(p) for n in range(1, 6) for p in itertools.product("abc", repeat=n)]


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


@settings(max_examples=300, deadline=None)
@given(_SUBJECTS, _SUBJECTS)
def test_containment_and_overlap_agree_with_brute_force(a, b):
    """Checked over all concrete subjects of up to 5 tokens from {a,b,c}: enough to witness any case."""
    ma = {s for s in _CONCRETE if _matches(a, s)}
    mb = {s for s in _CONCRETE if _matches(b, s)}
    assert subject_contains(a, b) is (mb <= ma)
    assert subjects_overlap(a, b) is bool(ma & mb)
