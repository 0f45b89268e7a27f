"""Errors that point at the exact input that is wrong and say how to fix it, and the root of every
exception the project raises (``NatsTenancyError``): a caller catches that one class to handle any
failure of ours and lets everything else (a bug, an interrupt) through."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional


class NatsTenancyError(Exception):
    """Root of every exception nats-tenancy raises on purpose."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem with one input field.

    ``file`` is the file the value came from (or a resource name when it came from code),
    ``field`` a dotted/indexed path such as ``tenants[2].streams.live.retention``.
    """

    file: str
    field: str
    reason: str
    fix: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        text = f"{where}: {self.reason}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


class SpecError(NatsTenancyError, ValueError):
    """One or more problems with user input, all reported at once."""

    def __init__(self, problems: Iterable[SpecProblem]):
        self.problems: tuple[SpecProblem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("SpecError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, field: str, reason: str, fix: Optional[str] = None) -> "SpecError":
        return cls([SpecProblem(file, field, reason, fix)])


class Problems:
    """Collects problems while validating, then raises them together."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[SpecProblem] = []

    def add(self, field: str, reason: str, fix: Optional[str] = None) -> None:
        self.items.append(SpecProblem(self.file, field, reason, fix))

    def extend(self, error: SpecError) -> None:
        self.items.extend(error.problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise SpecError(self.items)
