"""The static checks of ``make test-fast`` (``scripts/checks.sh``) pass on this tree and fail on a
copy with one planted violation of each kind: a line over the length limit (ruff), an untyped
function in the model (mypy strict), and the model importing Pulumi (an import-layer contract)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKS = os.path.join(ROOT, "scripts", "checks.sh")


def _copy(tmp_path) -> str:
    """The parts of the tree the checks read: the package, the tests (an import-linter root) and
    the configuration."""
    dest = str(tmp_path / "tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")
    for folder in ("components", "tests"):
        shutil.copytree(os.path.join(ROOT, folder), os.path.join(dest, folder), ignore=ignore)
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), dest)
    return dest


def _checks(tree: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", CHECKS, tree], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tools() -> None:
    for tool in ("ruff", "mypy", "lint-imports"):
        if not os.access(os.path.join(ROOT, ".venv", "bin", tool), os.X_OK):
            pytest.skip(f"{tool} is not installed in .venv: run make setup")


def test_the_tree_passes_its_checks(tools, tmp_path) -> None:
    run = _checks(_copy(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("ruff", "mypy", "import-linter"):
        assert f"checks: {name} passed" in run.stdout


def test_each_planted_violation_fails_its_check(tools, tmp_path) -> None:
    tree = _copy(tmp_path)
    with open(os.path.join(tree, "components", "model", "planted.py"), "w", encoding="utf-8") as f:
        f.write('"""A module that breaks every rule the checks keep."""\n'
                "import pulumi\n\n"
                f"LONG = {'x' * 130!r}\n\n\n"
                "def untyped(value):\n"
                '    """Returns its argument."""\n'
                "    return value, pulumi\n")
    run = _checks(tree)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "checks: ruff FAILED" in out and "E501" in out and "planted.py" in out
    assert "checks: mypy FAILED" in out and "untyped" in out
    assert "checks: import-linter FAILED" in out and "components.model.planted -> pulumi" in out
