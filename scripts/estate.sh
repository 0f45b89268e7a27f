#!/usr/bin/env bash
# Every stack of a sharded environment (platform.shard_stacks) with one command:
#   scripts/estate.sh <estate stack> up|preview|refresh|destroy|outputs|recover [--all] [--shard k] [--parallel n]
# (components/ops/estate.py; the passphrase rules of scripts/pulumi.sh apply to every stack.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 2 ] || { echo "usage: scripts/estate.sh <stack> <action> [options]" >&2; exit 2; }
stack="$1"; action="$2"; shift 2
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
command -v pulumi >/dev/null 2>&1 || { echo "pulumi: the CLI is not built yet: run make setup" >&2; exit 1; }
# shellcheck source=passphrase.sh
source "$ROOT/scripts/passphrase.sh" "$stack"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m components.ops.estate "$action" --stack "$stack" "$@"
