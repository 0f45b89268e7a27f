"""The estate driver's decisions that need no CLI: what its record says, and the refusal of a
shard count change that would move tenants between shard stacks."""
from __future__ import annotations

import json
import os
import subprocess
from types import SimpleNamespace

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


class _Workspace:
    def __init__(self, work_dir: str) -> None:
        self.work_dir, self.env_vars, self.pulumi_home = work_dir, {"PULUMI_CONFIG_PASSPHRASE": "x"}, None


class _Stack:
    """What the seeding step reads of a stack: its name, workspace and (empty) config."""

    def __init__(self, name: str, work_dir: str) -> None:
        self.name, self.workspace = name, _Workspace(work_dir)

    def get_all_config(self) -> dict:
        return {}


def test_new_account_seeds_reach_the_cli_on_stdin_never_on_its_command_line(tmp_path, monkeypatch) -> None:
    root = project(tmp_path, shards=4)
    estate = Estate("dev", root, say=lambda _: None)
    shard = next(k for k in range(4) if estate.shard_tenants(k))
    estate.record.store(shard_stack_name("dev", shard), "before", [])   # the stack holds no tenant yet
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    estate._cli = SimpleNamespace(command="pulumi")   # the CLI handle, without running `pulumi version`
    estate._seed_new_tenants(_Stack(shard_stack_name("dev", shard), root), shard)
    (argv, kwargs), = calls
    seeds = json.loads(kwargs["input"])
    assert sorted(seeds) == sorted(estate.shard_tenants(shard))
    assert all(seed.startswith("SA") for seed in seeds.values())
    assert argv[-1] == "nats-tenancy:accountSeeds" and "--secret" in argv
    assert not any(seed in arg for seed in seeds.values() for arg in argv)


class _UnreadableStack(_Stack):
    """A stack whose config and outputs must not be read: every read fails the test."""

    def get_all_config(self) -> dict:
        raise AssertionError("a stack this command made has no config to read")

    def outputs(self) -> dict:
        raise AssertionError("a stack this command made has no outputs to read")


def test_a_stack_this_command_made_is_seeded_without_reading_its_outputs_or_config(tmp_path, monkeypatch) -> None:
    root = project(tmp_path, shards=4)
    estate = Estate("dev", root, say=lambda _: None)
    shard = next(k for k in range(4) if estate.shard_tenants(k))
    name = shard_stack_name("dev", shard)
    estate._created.add(name)
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: calls.append(kw) or subprocess.CompletedProcess(argv, 0))
    estate._cli = SimpleNamespace(command="pulumi")
    estate._seed_new_tenants(_UnreadableStack(name, root), shard)
    (kwargs,) = calls
    assert sorted(json.loads(kwargs["input"])) == sorted(estate.shard_tenants(shard))


def test_only_a_stack_made_now_with_no_config_file_before_it_counts_as_new(tmp_path, monkeypatch) -> None:
    from pulumi import automation as auto

    root = project(tmp_path, shards=4)
    estate = Estate("dev", root, say=lambda _: None)
    made, selected = [], []

    def create(name, **_):
        if name == "dev-shard-1":
            raise auto.StackAlreadyExistsError(auto.CommandResult("", "already exists", 255))
        made.append(name)
        return SimpleNamespace(name=name)

    monkeypatch.setattr(auto, "create_stack", create)
    monkeypatch.setattr(auto, "select_stack", lambda name, **_: selected.append(name) or SimpleNamespace(name=name))
    estate.record.store("dev-shard-0", "before", ["t1"])
    (tmp_path / "Pulumi.dev-shard-2.yaml").write_text("config: {}\n", encoding="utf-8")
    for k in range(4):
        estate._create_or_select(shard_stack_name("dev", k), opts=None)
    assert selected == ["dev-shard-0", "dev-shard-1"]     # recorded: select only; existing: select after init
    assert made == ["dev-shard-2", "dev-shard-3"]
    assert estate._created == {"dev-shard-3"}              # dev-shard-2's config file outlived a stack
