"""The tenant memo (``environment/tenant_memo.py``): a load through it gives exactly the environment
a plain load gives, reads and checks only the tenants whose text changed, and never hides a problem."""
from __future__ import annotations

import copy
import glob

import pytest
import yaml

from components.model.environment.load import load_environment
from components.model.environment.tenant_memo import TenantMemo, split_tenants
from components.model.errors import SpecError


def many_tenants(n: int, changed: int | None = None) -> str:
    env = yaml.safe_load(open("environments/dev.yaml", encoding="utf-8"))
    template = dict(env["tenants"][0])
    template.pop("name", None)
    env["tenants"] = [{**copy.deepcopy(template), "id": f"t{i:03d}"} for i in range(n)]   # no YAML aliases
    if changed is not None:
        env["tenants"][changed]["name"] = "Changed Inc"
    env["jetstream"] = {"max_memory": "16GiB", "max_file": "256GiB"}
    env["leafnodes"] = [{"customer": "edge-1", "tenant": "t000"}]
    return yaml.safe_dump(env, sort_keys=False)


@pytest.mark.parametrize("path", ["environments/dev.yaml", "environments/prod.yaml",
                                  *sorted(glob.glob("environments/examples/*.yaml"))])
def test_a_load_through_the_memo_is_the_plain_load(tmp_path, path) -> None:
    stack = "prod" if path.endswith("prod.yaml") else "dev"
    plain = load_environment(path, stack=stack)
    memo_file = str(tmp_path / "memo")
    first = load_environment(path, stack=stack, memo=TenantMemo(memo_file))
    again_memo = TenantMemo(memo_file)
    again = load_environment(path, stack=stack, memo=again_memo)
    assert first == plain and again == plain
    assert again_memo.hits == len(plain.tenants), "every unchanged tenant comes from the memo"


def test_only_the_changed_tenant_is_parsed_and_checked_again(tmp_path) -> None:
    path, memo_file = tmp_path / "dev.yaml", str(tmp_path / "memo")
    path.write_text(many_tenants(30), encoding="utf-8")
    load_environment(str(path), stack="dev", memo=TenantMemo(memo_file))
    path.write_text(many_tenants(31, changed=4), encoding="utf-8")
    memo = TenantMemo(memo_file)
    env = load_environment(str(path), stack="dev", memo=memo)
    assert env == load_environment(str(path), stack="dev")
    assert memo.parsed_pieces == 2 and memo.hits == 29   # t004 (its name changed) and t030 (new)
    assert {t.id: t.name for t in env.tenants}["t004"] == "Changed Inc"


def test_a_problem_in_a_tenant_is_reported_and_never_kept(tmp_path) -> None:
    path, memo_file = tmp_path / "dev.yaml", str(tmp_path / "memo")
    path.write_text(many_tenants(5), encoding="utf-8")
    load_environment(str(path), stack="dev", memo=TenantMemo(memo_file))
    broken = many_tenants(5).replace("tier: ", "tier: unknown-", 1)
    path.write_text(broken, encoding="utf-8")
    for _ in range(2):   # the refused tenant is reported again on the next load: it was not kept
        with pytest.raises(SpecError) as memo_error:
            load_environment(str(path), stack="dev", memo=TenantMemo(memo_file))
        with pytest.raises(SpecError) as plain_error:
            load_environment(str(path), stack="dev")
        assert str(memo_error.value) == str(plain_error.value) and "unknown-" in str(memo_error.value)


def test_a_yaml_error_names_the_files_own_line(tmp_path) -> None:
    path, memo_file = tmp_path / "dev.yaml", str(tmp_path / "memo")
    path.write_text(many_tenants(5), encoding="utf-8")
    load_environment(str(path), stack="dev", memo=TenantMemo(memo_file))
    lines = many_tenants(6).splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if line.startswith("- id: t005"))
    lines.insert(last + 1, "  tier: twice\n")   # a duplicate key, deep in the file
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(SpecError) as memo_error:
        load_environment(str(path), stack="dev", memo=TenantMemo(memo_file))
    with pytest.raises(SpecError) as plain_error:
        load_environment(str(path), stack="dev")
    assert str(memo_error.value) == str(plain_error.value)
    assert f"line {last + 2}" in str(memo_error.value)


def test_a_change_outside_the_tenants_is_read_in_full(tmp_path) -> None:
    path, memo_file = tmp_path / "dev.yaml", str(tmp_path / "memo")
    path.write_text(many_tenants(5), encoding="utf-8")
    load_environment(str(path), stack="dev", memo=TenantMemo(memo_file))
    doc = yaml.safe_load(many_tenants(5))
    doc["tiers"][doc["tenants"][0]["tier"]]["max_streams"] = 7   # the context of every tenant
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    memo = TenantMemo(memo_file)
    env = load_environment(str(path), stack="dev", memo=memo)
    assert memo.hits == 0 and all(t.quotas.max_streams == 7 for t in env.tenants)


def test_tenants_that_share_anchors_are_read_in_full_and_alike(tmp_path) -> None:
    env = yaml.safe_load(many_tenants(4))
    env["tenants"] = [{**env["tenants"][0], "id": f"t{i:03d}"} for i in range(4)]   # one shared object
    text = yaml.safe_dump(env, sort_keys=False)
    assert "*id001" in text
    path, memo_file = tmp_path / "dev.yaml", str(tmp_path / "memo")
    path.write_text(text, encoding="utf-8")
    memo = TenantMemo(memo_file)
    assert load_environment(str(path), stack="dev", memo=memo) == load_environment(str(path), stack="dev")
    assert memo.parsed_pieces == 0, "not split: a piece would depend on another's anchor"


def test_tenants_with_anchors_or_in_flow_style_are_not_split() -> None:
    text = many_tenants(3)
    head, pieces, tail = split_tenants(text)
    assert head + "".join(pieces) + tail == text and len(pieces) == 3
    assert all(p.startswith("- id: ") for p in pieces)
    indented = head + "".join("  " + line for piece in pieces for line in piece.splitlines(True)) + tail
    assert yaml.safe_load(indented) == yaml.safe_load(text)
    assert len(split_tenants(indented)[1]) == 3
    assert split_tenants(text.replace("- id: t001", "- &one\n  id: t001")) is None
    assert split_tenants("version: 1\ntenants: [{id: a}]\n") is None
    assert split_tenants("version: 1\n") is None
