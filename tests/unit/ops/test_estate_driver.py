"""The estate driver's decisions that need no CLI: what its record says, and the refusal of a
shard count change that would move tenants between shard stacks."""
from __future__ import annotations

import os

import pytest

from components.model.shard_stacks import shard_stack_name
from components.ops.estate import Estate, EstateError, Record
from tests.unit.specs.test_shard_stacks import TENANTS, sharded


def project(tmp_path, shards: int) -> str:
    os.makedirs(tmp_path / "environments", exist_ok=True)
    (tmp_path / "environments" / "dev.yaml").write_text(sharded(shards=shards), encoding="utf-8")
    return str(tmp_path)


def test_the_record_keeps_digest_and_tenants_per_stack(tmp_path) -> None:
    record = Record("dev", str(tmp_path))
    assert record.digest("dev-shard-0") is None and record.tenants("dev-shard-0") is None
    record.store("dev-shard-0", "abc", ["t2", "t1"])
    again = Record("dev", str(tmp_path))
    assert again.digest("dev-shard-0") == "abc" and again.tenants("dev-shard-0") == {"t1", "t2"}
    again.store("dev-shard-0", None, [])
    assert Record("dev", str(tmp_path)).digest("dev-shard-0") is None


def test_a_new_shard_count_that_moves_tenants_is_refused_before_any_stack_runs(tmp_path) -> None:
    root = project(tmp_path, shards=4)
    before = Estate("dev", root, say=lambda _: None)
    for k in range(4):
        before.record.store(shard_stack_name("dev", k), before.digest(k), before.shard_tenants(k))
    (tmp_path / "environments" / "dev.yaml").write_text(sharded(shards=5), encoding="utf-8")
    after = Estate("dev", root, say=lambda _: None)
    moved = [t for t in TENANTS if after.env.shard_of(t) == 4]
    assert moved, "jump hashing moves some tenants to the new shard"
    with pytest.raises(EstateError) as err:
        after.run("up")
    assert f"{len(moved)} tenant(s) would move" in str(err.value) and "platform.shards" in str(err.value)
    assert "-> dev-shard-4" in str(err.value)


def test_an_unsharded_environment_is_refused_with_the_command_to_use(tmp_path) -> None:
    os.makedirs(tmp_path / "environments")
    with open("environments/dev.yaml", encoding="utf-8") as f:
        (tmp_path / "environments" / "dev.yaml").write_text(f.read(), encoding="utf-8")
    with pytest.raises(EstateError) as err:
        Estate("dev", str(tmp_path))
    assert "scripts/pulumi.sh dev" in str(err.value)
