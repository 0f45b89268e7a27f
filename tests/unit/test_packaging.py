"""The installable package: pyproject.toml pins what requirements.txt pins, and ships every package
of ``components`` (a subpackage left out would import in the checkout and fail once installed)."""
from __future__ import annotations

import os

import pytest
from setuptools import find_packages

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def _requirements() -> dict[str, str]:
    pins = {}
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, version = line.split("==")
                pins[name.lower()] = version
    return pins


def _pins(specs: list[str]) -> dict[str, str]:
    return {name.lower(): version for name, version in (s.split("==") for s in specs)}


def test_runtime_and_extra_pins_are_the_requirements_pins() -> None:
    project = _pyproject()["project"]
    declared = {**_pins(project["dependencies"]), **_pins(project["optional-dependencies"]["dev"])}
    assert declared == _requirements()
    assert set(_pins(project["optional-dependencies"]["test"])) <= set(_pins(project["optional-dependencies"]["dev"]))


def test_every_components_package_is_shipped() -> None:
    include = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(ROOT, include=include))
    walk = os.walk(os.path.join(ROOT, "components"))
    on_disk = {os.path.relpath(d, ROOT).replace(os.sep, ".") for d, _, files in walk if "__init__.py" in files}
    assert on_disk == shipped and "components.api" in shipped
    assert not any(p.startswith("tests") for p in shipped)
