#!/usr/bin/env bash
# Runs the Pulumi CLI on one stack of this project: scripts/pulumi.sh <stack> <pulumi args...>
#   scripts/pulumi.sh dev up --yes        scripts/pulumi.sh prod preview --diff
# The stack is created on first use with the passphrase secrets provider. The dev stack has a
# dev-only default passphrase (DEV_PASSPHRASE below, documented in the README); every other stack
# refuses to run unless PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE is set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV_PASSPHRASE="nats-tenancy-dev-only"
[ $# -ge 2 ] || { echo "usage: scripts/pulumi.sh <stack> <pulumi command> [args...]" >&2; exit 2; }
stack="$1"; shift
# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"
command -v pulumi >/dev/null 2>&1 || { echo "pulumi: the CLI is not built yet: run make setup" >&2; exit 1; }

if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ "$stack" = "dev" ]; then
    export PULUMI_CONFIG_PASSPHRASE="$DEV_PASSPHRASE"
  else
    echo "stack '$stack' needs its own secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (the dev default is refused for it)" >&2
    exit 1
  fi
fi
if [ "$stack" != "dev" ] && [ "${PULUMI_CONFIG_PASSPHRASE:-}" = "$DEV_PASSPHRASE" ]; then
  echo "stack '$stack' must not use the dev-only passphrase: choose a real one in PULUMI_CONFIG_PASSPHRASE" >&2
  exit 1
fi

cd "$ROOT"
if ! pulumi stack select "$stack" >/dev/null 2>&1; then
  pulumi stack init "$stack" --secrets-provider passphrase >/dev/null
fi
exec pulumi --stack "$stack" "$@"
