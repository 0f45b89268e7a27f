"""Every exception class the model defines derives from ``NatsTenancyError``, the one class a
caller catches to handle any failure of ours, and stays a ``ValueError`` (bad input), as callers
written before the root class existed catch it."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import components.model
from components.model.errors import NatsTenancyError


def _model_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(components.model.__path__, "components.model."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found.append(value)
    return found


def test_the_walk_finds_the_model_exceptions() -> None:
    names = {e.__name__ for e in _model_exceptions()}
    assert {"SpecError", "JwtError", "CredsError", "NkeyError", "UnitError"} <= names


def test_every_model_exception_is_a_nats_tenancy_error_and_a_value_error() -> None:
    for error in _model_exceptions():
        if error is NatsTenancyError:
            continue
        assert issubclass(error, NatsTenancyError), error
        assert issubclass(error, ValueError), error
