# Sourced by scripts/pulumi.sh and scripts/estate.sh with the stack name: the secrets passphrase of
# that stack. The dev stack (and its shard stacks, dev-shard-<k>) has a dev-only default passphrase
# (documented in the README); every other stack refuses to run unless PULUMI_CONFIG_PASSPHRASE or
# PULUMI_CONFIG_PASSPHRASE_FILE is set, and never with the dev one.
_nt_stack="$1"
_nt_dev_passphrase="nats-tenancy-dev-only"
case "$_nt_stack" in dev|dev-shard-*) _nt_is_dev=1 ;; *) _nt_is_dev=0 ;; esac
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ "$_nt_is_dev" = 1 ]; then
    export PULUMI_CONFIG_PASSPHRASE="$_nt_dev_passphrase"
  else
    echo "stack '$_nt_stack' needs its own secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (the dev default is refused for it)" >&2
    exit 1
  fi
fi
if [ "$_nt_is_dev" = 0 ] && [ "${PULUMI_CONFIG_PASSPHRASE:-}" = "$_nt_dev_passphrase" ]; then
  echo "stack '$_nt_stack' must not use the dev-only passphrase: choose a real one in PULUMI_CONFIG_PASSPHRASE" >&2
  exit 1
fi
