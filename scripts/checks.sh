#!/usr/bin/env bash
# The static checks of `make test-fast` (configured in pyproject.toml), each run even when an
# earlier one failed, so one run lists every finding:
#   ruff           pyflakes, pycodestyle and import order on every Python file of the project;
#   mypy           strict types on the pure model (components/model);
#   import-linter  the layer contracts: the model imports no Pulumi and no network, providers do
#                  not import components, the product does not import tests.
# Usage: scripts/checks.sh [ROOT]; ROOT defaults to this checkout (a copy can be checked instead).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${1:-$HERE}"
BIN="$HERE/.venv/bin"
cd "$ROOT" || exit 2
rc=0
run() {  # run <name> <command...>
  local name="$1"; shift
  if "$@"; then printf 'checks: %s passed\n' "$name"; else printf 'checks: %s FAILED\n' "$name" >&2; rc=1; fi
}
imports() {  # import-linter's report without its banner: the contracts, and the broken ones in full
  local out status
  out="$("$BIN/lint-imports" --no-cache 2>&1)"; status=$?
  printf '%s\n' "$out" | sed -n '/^Contracts$/,$p' | grep -v '^-*$'
  return "$status"
}
run ruff "$BIN/ruff" check --quiet .
run mypy "$BIN/mypy"
run import-linter imports
exit "$rc"
