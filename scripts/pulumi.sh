#!/usr/bin/env bash
# Runs the Pulumi CLI on one stack of this project: scripts/pulumi.sh <stack> <pulumi args...>
#   scripts/pulumi.sh dev up --yes        scripts/pulumi.sh prod preview --diff
# The stack is created on first use with the passphrase secrets provider; the passphrase rules
# (a dev-only default for dev, documented in the README) are in scripts/passphrase.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 2 ] || { echo "usage: scripts/pulumi.sh <stack> <pulumi command> [args...]" >&2; exit 2; }
stack="$1"; shift
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
command -v pulumi >/dev/null 2>&1 || { echo "pulumi: the CLI is not built yet: run make setup" >&2; exit 1; }

# shellcheck source=passphrase.sh
source "$ROOT/scripts/passphrase.sh" "$stack"

cd "$ROOT"
if ! pulumi stack select "$stack" >/dev/null 2>&1; then
  pulumi stack init "$stack" --secrets-provider passphrase >/dev/null
fi
exec pulumi --stack "$stack" "$@"
