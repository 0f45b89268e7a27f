"""Args dataclasses to the props mappings the dynamic providers take.

Why only set fields travel: an unset field (``None``) is left to the provider's ``check``, which
fills the catalogue's default there, so the recorded inputs are the canonical config whether a
program wrote the default or left it out, and a later default change in the catalogue is one
place, not one per program.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping


def to_props(value: Any) -> Any:
    """The plain value of an Args dataclass (nested ones included), without the fields left unset."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_props(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, Mapping):
        return {k: to_props(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_props(v) for v in value]
    return value


def field_names(args_type: type) -> tuple[str, ...]:
    """The fields of an Args dataclass, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(args_type))
