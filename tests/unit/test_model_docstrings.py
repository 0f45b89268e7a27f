"""Every public module-level function and class of the model says what it is or returns in a
docstring whose first line is one sentence (the rest, after a blank line, gives the rules behind
it). Ruff's D100-D104 (pyproject.toml) require that the docstrings exist; this test holds their
first line to the form, which pydocstyle's D205/D400 would also demand of methods and modules."""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "components" / "model"


def _modules() -> list[pathlib.Path]:
    return sorted(MODEL.rglob("*.py"))


def _public(path: pathlib.Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not n.name.startswith("_")]


def _problem(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str | None:
    doc = ast.get_docstring(node, clean=True)
    if not doc:
        return "no docstring"
    lines = doc.split("\n")
    if len(lines) > 1 and lines[1].strip():
        return f"the first sentence runs past the first line: {lines[0]!r} / {lines[1]!r}"
    if not lines[0].endswith("."):
        return f"the first line is not a whole sentence ending with a period: {lines[0]!r}"
    return None


def test_the_walk_sees_the_model() -> None:
    names = {n.name for p in _modules() for n in _public(p)}
    assert {"load_environment", "Environment", "validate_and_normalize_stream", "account_claims"} <= names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_public_names_open_with_one_sentence(path: pathlib.Path) -> None:
    problems = [f"{path.relative_to(ROOT)}:{n.lineno} {n.name}: {why}"
                for n in _public(path) if (why := _problem(n))]
    assert not problems, "\n".join(problems)
