"""docs/api.md against the API: every public class is documented there, and every field of the
Args that have a table of their own (the JetStream Args point to their catalogues instead)."""
from __future__ import annotations

from pathlib import Path

import pytest

from components import api
from components.api import _props

DOC = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text(encoding="utf-8")
TABLED = [api.OperatorArgs, api.AccountArgs, api.UserArgs, api.TenantArgs, api.PlatformArgs,
          api.PlatformConsumerArgs, api.LeafNodeArgs, api.LocalNatsServerArgs, api.JetStreamConnection]
CLASSES = ["Operator", "Account", "User", "Tenant", "Platform", "LeafNode", "Stream", "Consumer", "KeyValue",
           "ObjectStore", "LocalNatsServer", "Hub", "JetStreamConnection"]


@pytest.mark.parametrize("name", CLASSES)
def test_every_class_is_documented(name: str) -> None:
    assert name in api.__all__ and f"`{name}" in DOC


@pytest.mark.parametrize("args_type", TABLED, ids=lambda c: c.__name__)
def test_every_field_is_in_the_doc(args_type: type) -> None:
    missing = [f for f in _props.field_names(args_type) if f"`{f}`" not in DOC]
    assert not missing, f"{args_type.__name__}: fields docs/api.md does not name: {missing}"


def test_the_example_is_the_one_the_e2e_test_runs() -> None:
    assert "examples/api_program" in DOC and "tests/e2e/test_api_program.py" in DOC
