#!/usr/bin/env bash
# Runs the test suite with the project's toolchain on PATH: scripts/test.sh [pytest args...]
# pytest's exit code 5 ("no tests collected") is reported as a failure with a clear message: a
# selection that runs nothing is a mistake, not a pass.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests for: $*" >&2
fi
exit "$rc"
