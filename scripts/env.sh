# Source this file to use the project's toolchain in a shell: `source scripts/env.sh`.
# Puts the built Pulumi CLI and the virtualenv first on PATH and points Pulumi at the local file
# backend inside the project (.state/backend). It sets no passphrase: scripts/pulumi.sh does that.
_nt_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
# shellcheck source=../tools/versions.env
. "$_nt_root/tools/versions.env"
# shellcheck source=../tools/natscli/version.env
. "$_nt_root/tools/natscli/version.env"
export PATH="$_nt_root/.tools/pulumi-v$PULUMI_VERSION/bin:$_nt_root/.tools/natscli-v$NATSCLI_VERSION/bin:$_nt_root/.tools/kubernetes-v$KUBERNETES_VERSION/bin:$_nt_root/.venv/bin:$PATH"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_nt_root/.state/backend}"
export PULUMI_HOME="${PULUMI_HOME:-$_nt_root/.tools/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "${PULUMI_BACKEND_URL#file://}" "$PULUMI_HOME"
unset _nt_root
