"""Shard stacks (``platform.shard_stacks``): stack roles from names, each stack's part of the
environment, the digests the driver compares, the merged outputs, and what is refused."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from components.model.environment.load import load_environment, load_environment_text
from components.model.errors import SpecError
from components.model.identity.sharding import jump_shard_of
from components.model.part_cache import drop_other_parts, part_path, read_part, write_part
from components.model.shard_stacks import (
    StackRole,
    check_role,
    estate_digest,
    merge_outputs,
    shard_digest,
    shard_stack_names,
    stack_part,
    stack_role,
)
from components.model.tenant_plan import shard_members

TENANTS = [f"t{i:03d}" for i in range(40)]


def sharded(shards: int = 4, tenants: list[str] = TENANTS, max_memory: str = "16GiB", max_file: str = "256GiB",
            **platform: object) -> str:
    env = yaml.safe_load(open("environments/dev.yaml", encoding="utf-8"))
    template = dict(env["tenants"][0])
    template.pop("name", None)
    env["tenants"] = [{**template, "id": t} for t in tenants]
    env["leafnodes"] = [{"customer": "edge-1", "tenant": tenants[0]}]
    env["jetstream"] = {"max_memory": max_memory, "max_file": max_file}
    env["platform"] = {**(env.get("platform") or {}), "shards": shards, "shard_stacks": True, **platform}
    return yaml.safe_dump(env, sort_keys=False)


def load(text: str, stack: str = "dev"):
    return load_environment_text(text, "environments/dev.yaml", stack)


def test_stack_role_is_read_off_the_stack_name() -> None:
    assert stack_role("dev") == StackRole("dev")
    assert stack_role("dev-shard-3") == StackRole("dev", 3)
    assert stack_role("eu-prod-shard-0") == StackRole("eu-prod", 0)
    assert stack_role("dev-shard-03") == StackRole("dev-shard-03")   # not a shard number
    assert not stack_role("dev").is_shard and stack_role("dev-shard-12").is_shard


def test_every_tenant_is_in_exactly_one_shard_stack_and_the_estate_holds_none() -> None:
    env = load(sharded())
    assert shard_stack_names(env) == [f"dev-shard-{k}" for k in range(4)]
    estate = stack_part(env, StackRole("dev"))
    assert estate.tenants == () and estate.leafnodes == () and shard_members(estate) == {}
    parts = [stack_part(env, StackRole("dev", k)) for k in range(4)]
    held = Counter(t.id for p in parts for t in p.tenants)
    assert sorted(held) == TENANTS and set(held.values()) == {1}
    for k, part in enumerate(parts):
        assert list(shard_members(part)) == [k], "a shard stack builds its own ingest account only"
        assert shard_members(part)[k] == [t.id for t in part.tenants]
        assert all(ln.tenant in {t.id for t in part.tenants} for ln in part.leafnodes)
    assert sum(len(p.leafnodes) for p in parts) == 1


def test_an_unsharded_environment_is_one_stack() -> None:
    env = load_environment("environments/dev.yaml", stack="dev")
    assert not env.platform.shard_stacks and shard_stack_names(env) == []
    assert stack_part(env, StackRole("dev")) is env


def test_onboarding_changes_the_digest_of_one_shard_only() -> None:
    before = load(sharded())
    after = load(sharded(tenants=TENANTS + ["newcomer"]))
    target = after.shard_of("newcomer")
    changed = [k for k in range(4) if shard_digest(before, k) != shard_digest(after, k)]
    assert changed == [target]
    assert estate_digest(before) == estate_digest(after), "onboarding does not touch the estate stack"


def test_a_server_change_changes_the_estate_digest() -> None:
    before = load(sharded())
    after = load(sharded().replace("max_file: 256GiB", "max_file: 257GiB"))
    assert estate_digest(before) != estate_digest(after)


def test_jump_hashing_spreads_and_moves_only_to_a_new_shard() -> None:
    ids = [f"tenant-{i}" for i in range(5000)]
    at_50 = [jump_shard_of(t, 50) for t in ids]
    at_51 = [jump_shard_of(t, 51) for t in ids]
    counts = Counter(at_50)
    assert set(counts) == set(range(50)) and max(counts.values()) < 2 * min(counts.values())
    moved = [(a, b) for a, b in zip(at_50, at_51) if a != b]
    assert moved and all(b == 50 for _, b in moved) and len(moved) < len(ids) / 25


def test_a_shard_stack_of_an_unsharded_environment_is_refused() -> None:
    env = load_environment("environments/dev.yaml", stack="dev")
    with pytest.raises(SpecError) as err:
        check_role(env, stack_role("dev-shard-0"), "dev-shard-0")
    assert "platform.shard_stacks" in str(err.value) and "not sharded" in str(err.value)


def test_a_shard_beyond_the_count_is_refused_with_the_fix() -> None:
    env = load(sharded())
    with pytest.raises(SpecError) as err:
        check_role(env, stack_role("dev-shard-4"), "dev-shard-4")
    assert "pulumi stack rm dev-shard-4" in str(err.value)


def test_shard_stacks_need_a_shard() -> None:
    with pytest.raises(SpecError) as err:
        load(sharded(shards=0))
    assert "platform.shard_stacks" in str(err.value)


def test_merged_outputs_are_the_one_stack_contract() -> None:
    estate = {"nats_url": "nats://127.0.0.1:4222", "shard_contract": {"operator_seed": "x"}, "tenants": {},
              "accounts": {"SYS_OPS": {"public_key": "A0"}}, "leafnodes": {}, "system": {"creds": "c"}}
    shards = [
        {"shard": 1, "shard_digest": "b", "nats_url": "n", "tenants": {"t2": {}}, "accounts": {"t2": {}},
         "leafnodes": {}, "platform": {"accounts": ["A1"], "shard_of": {"t2": 1}, "creds": {"consumer": ["c1"]}}},
        {"shard": 0, "shard_digest": "a", "nats_url": "n", "tenants": {"t1": {}}, "accounts": {"t1": {}},
         "leafnodes": {"edge-1": {"directory": "d"}},
         "platform": {"accounts": ["A0"], "shard_of": {"t1": 0}, "creds": {"consumer": ["c0"]}}},
    ]
    out = merge_outputs(estate, shards)
    assert "shard_contract" not in out and out["nats_url"] == "nats://127.0.0.1:4222"
    assert sorted(out["tenants"]) == ["t1", "t2"] and sorted(out["accounts"]) == ["SYS_OPS", "t1", "t2"]
    assert out["platform"] == {"accounts": ["A0", "A1"], "shard_of": {"t1": 0, "t2": 1},
                               "creds": {"consumer": ["c0", "c1"]}}
    assert out["leafnodes"] == {"edge-1": {"directory": "d"}} and out["system"] == {"creds": "c"}


def test_digests_do_not_follow_an_acknowledgement_or_the_hash_seed() -> None:
    plain = load(sharded())
    acked = load(sharded() + "data_protection:\n  allow_data_loss: [T001_ORDERS_LIVE, T002_ORDERS_LIVE]\n")
    assert estate_digest(plain) == estate_digest(acked)
    assert [shard_digest(plain, k) for k in range(4)] == [shard_digest(acked, k) for k in range(4)]


def test_digests_are_the_same_in_every_process(tmp_path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text(sharded() + "data_protection:\n  allow_data_loss: [A, B, C, D]\n", encoding="utf-8")
    code = ("import sys; from components.model.environment.load import load_environment as l; "
            "from components.model.shard_stacks import estate_digest as e, shard_digests as s; "
            f"env = l({str(path)!r}, stack='dev'); print(e(env), sorted(s(env).items()))")
    runs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2", "3")}
    assert len(runs) == 1, runs


def _digests(env) -> dict:
    base = estate_digest(env)
    return {None: base, **{k: f"{base}-{shard_digest(env, k)}" for k in range(env.platform.shards)}}


def test_the_driver_keeps_each_stacks_part_for_its_program(tmp_path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text(sharded(), encoding="utf-8")
    env = load_environment(str(path), stack="dev")
    digests = _digests(env)
    roles = [StackRole("dev")] + [StackRole("dev", k) for k in range(4)]
    files = {role.shard: write_part(str(tmp_path), env, role, digests[role.shard]) for role in roles}
    for role in roles:
        assert read_part(files[role.shard], str(path), role) == stack_part(env, role)
    # A part is only ever read by the stack it was made for, from the file it was made from.
    assert read_part(files[1], str(path), StackRole("dev", 2)) is None
    assert read_part(files[1], str(tmp_path / "other.yaml"), StackRole("dev", 1)) is None

    # Onboarding a tenant makes a new part for its own shard only: the other parts' files stay.
    path.write_text(sharded(tenants=TENANTS + ["newcomer"]), encoding="utf-8")
    grown = load_environment(str(path), stack="dev")
    new_digests = _digests(grown)
    home = grown.shard_of("newcomer")
    moved = {k for k in files if part_path(str(tmp_path), grown, StackRole("dev", k), new_digests[k]) != files[k]}
    assert moved == {home}
    kept = [write_part(str(tmp_path), grown, role, new_digests[role.shard]) for role in roles]
    drop_other_parts(str(tmp_path), "dev", kept)
    assert not os.path.exists(files[home]), "the part of the shard's older digest is dropped"
    assert sorted(os.listdir(os.path.dirname(kept[0]))) == sorted(os.path.basename(p) for p in kept)
    newcomer_part = read_part(kept[home + 1], str(path), StackRole("dev", home))
    assert newcomer_part is not None and "newcomer" in {t.id for t in newcomer_part.tenants}


def test_the_estate_stacks_servers_are_sized_for_every_shards_tenants() -> None:
    from components.model.render.server_budget import server_budget

    many = [f"t{i:04d}" for i in range(1200)]
    room = {"max_memory": "200GiB", "max_file": "3000GiB"}   # the servers hold 1,200 dev-tier tenants
    env = load(sharded(shards=40, tenants=many, **room))
    estate = stack_part(env, StackRole("dev"))
    assert estate.tenants == ()
    assert server_budget(estate) == server_budget(env)
    assert server_budget(estate) != server_budget(load(sharded(shards=40, tenants=many[:10], **room)))
    one_more = load(sharded(shards=40, tenants=many + ["one-more"], **room))
    assert estate_digest(env) == estate_digest(one_more), "one more tenant in the same size class: no estate run"
