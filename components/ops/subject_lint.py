"""``python -m components.ops.subject_lint --env FILE --paths PATH…``: check the subjects written in
files against an environment's layout (its tenant root, id rule and subject schema).

Prints one line per non-conforming subject (``file:line: subject: why``) and a summary; exits 1 when
any was found, 2 on bad arguments or a bad environment file, so CI can run it on every change
(seed 002: ``subject_lint.py --paths``).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Iterator, Sequence

from components.model.environment.load import load_environment
from components.model.errors import SpecError
from components.model.subject_lint import lint_text

SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".state", ".tools"}


def files_under(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for top, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                yield os.path.join(top, name)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="subject_lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment file whose layout defines the subjects")
    parser.add_argument("--paths", nargs="+", required=True, help="files or directories to check")
    args = parser.parse_args(argv)
    try:
        layout = load_environment(args.env).layout
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return 2
    bad = checked = 0
    for path in files_under(args.paths):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue   # binary or unreadable: not source
        checked += 1
        for finding in lint_text(layout, text):
            bad += 1
            print(f"{path}:{finding.line}: {finding.subject}: {'; '.join(finding.problems)}")
    print(f"subject_lint: {bad} non-conforming subject(s) in {checked} file(s) "
          f"(layout root {layout.subjects.root!r} of {args.env})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
