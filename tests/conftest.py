"""Test tiers by folder: tests/unit, tests/mocks, tests/server, tests/e2e, tests/clients and tests/k8s get the
marker of their tier."""
from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_TIERS = ("unit", "mocks", "server", "e2e", "clients", "k8s")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = os.path.relpath(str(item.fspath), os.path.join(ROOT, "tests"))
        tier = rel.split(os.sep, 1)[0]
        if tier in _TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (long end-to-end and scale runs)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "slow" in item.keywords and not item.config.getoption("--run-slow"):
        pytest.skip("slow test: run with `make test-slow` (pytest --run-slow)")
