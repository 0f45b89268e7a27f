"""Finding subjects in text and checking them against a layout (pure; the command is
``components.ops.subject_lint``).

Seed 002 keeps its v1 subject schema by linting code in CI (``subject_lint.py --paths``). A
candidate is a dotted word whose first tokens are the layout root's literal tokens (``xorb.…``); for
a root that starts with the tenant (``{tenant}.…``) the next token must be one of the layout's
trees, since any dotted word (``os.path``) would otherwise look like a subject. Wildcards are
accepted where a rule would be: code subscribes with ``xorb.t-qa.scan.*.created`` too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from components.model.environment.layout import Layout

_CANDIDATE = re.compile(r"(?<![A-Za-z0-9_$.-])([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_*>-]+)+)")


@dataclass(frozen=True)
class Finding:
    """A subject found in text at ``line`` that breaks the layout, with each problem in words."""

    line: int
    subject: str
    problems: tuple[str, ...]


def candidates(layout: Layout, text: str) -> Iterator[tuple[int, str]]:
    """(line number, subject) of every word in ``text`` that the layout's root claims."""
    template = layout.root("\x00").split(".")
    trees = set(layout.subjects.trees)
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _CANDIDATE.finditer(line):
            subject = match.group(1).rstrip(".")
            if _claimed(template, trees, subject.split(".")):
                yield number, subject


def _claimed(template: list[str], trees: set[str], tokens: list[str]) -> bool:
    for want, got in zip(template, tokens):
        if want == "\x00":
            break
        if want != got:
            return False
    if template[0] == "\x00":   # {tenant} first: only <id>.<tree>.… is taken for a subject
        after = len(template)
        return len(tokens) > after and tokens[after] in trees
    return len(tokens) > 1


def lint_text(layout: Layout, text: str) -> list[Finding]:
    """Subjects in ``text`` that break the layout, with why."""
    out = []
    for number, subject in candidates(layout, text):
        problems = layout.check_subject(subject, allow_wildcards=True)
        if problems:
            out.append(Finding(number, subject, tuple(problems)))
    return out
