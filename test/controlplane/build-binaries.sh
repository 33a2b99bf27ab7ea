#!/usr/bin/env bash
# Builds the test control plane's binaries (and the network-fault proxy, Toxiproxy) from Go modules
# and caches them outside the repository, keyed by version. Prints nothing but progress on stderr and, on stdout, one line per binary:
# NAME=PATH. Binaries named by TEST_ASSET_* or found in KUBEBUILDER_ASSETS are used as they are.
#
# Usage: build-binaries.sh [kube-apiserver] [kube-controller-manager] [kubectl] [etcd] [helm]
#        [toxiproxy-server] [promtool]
#        (default: the six of the control plane and the fault bed; promtool, for the alert tests, only when named)
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
TOXIPROXY_VERSION="${TOXIPROXY_VERSION:-v2.5.0}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
CACHE_ROOT="${ENI_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eni-operator}"

log() { printf '[build-binaries] %s\n' "$*" >&2; }
die() { printf '[build-binaries] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "Go is required to build the test control plane (kube-apiserver, kube-controller-manager, etcd, kubectl, helm, toxiproxy-server) and was not found on PATH"

# Runs a build into a temp dir, then moves the result into place, so an interrupted build never
# leaves a half-written binary in the cache.
# A lock per binary makes a concurrent run (another test run, cluster:up) wait for this build and reuse
# it instead of building the same thing again.
install_binary() { # name dest_dir build_fn
  local name=$1 dest=$2 fn=$3
  if [[ -x "$dest/$name" ]]; then echo "$name=$dest/$name"; return; fi
  mkdir -p "$(dirname "$dest")"
  local lock
  exec {lock}>"$dest.lock"
  if ! flock -n "$lock"; then
    log "waiting for another build of $name to finish"
    flock "$lock"
  fi
  if [[ -x "$dest/$name" ]]; then exec {lock}>&-; echo "$name=$dest/$name"; return; fi
  local work; work=$(mktemp -d)
  log "building $name into $dest (first run only; cached afterwards)"
  local start=$SECONDS
  if ! (cd "$work" && "$fn" "$work/$name") >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    rm -rf "$work"
    die "could not build $name ($dest): see the Go output above"
  fi
  mkdir -p "$dest"
  mv "$work/$name" "$dest/$name.tmp.$$" && mv "$dest/$name.tmp.$$" "$dest/$name"
  rm -rf "$work"
  exec {lock}>&-
  log "built $name in $((SECONDS - start))s"
  echo "$name=$dest/$name"
}

# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging paths that
# a consumer ignores: the wrapper replaces each of them with the published k8s.io/<name> v0.Y.Z.
kube_wrapper() {
  local modfile minor staging
  modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  [[ -f "$modfile" ]] || { echo "go mod download k8s.io/kubernetes@$KUBE_VERSION gave no go.mod"; return 1; }
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile")
  [[ -n "$staging" ]] || { echo "no staging replaces found in $modfile"; return 1; }
  {
    echo "module eni-operator.io/testbin/kube"
    echo "go $(sed -n 's/^go \(.*\)/\1/p' "$modfile")"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    for m in $staging; do echo "replace $m => $m v0.$minor.${KUBE_VERSION##*.}"; done
  } > go.mod &&
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go &&
    go mod tidy
}

kube_ldflags() {
  local major minor flags="" pkg
  major=$(echo "${KUBE_VERSION#v}" | cut -d. -f1); minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "-s -w$flags"
}

# Build functions run in an `if` condition, where errexit does not apply: each step is chained with &&.
build_kube_cmd() { # cmd out
  kube_wrapper &&
    CGO_ENABLED=0 go build -trimpath -ldflags "$(kube_ldflags)" -o "$2" "k8s.io/kubernetes/cmd/$1"
}
build_apiserver() { build_kube_cmd kube-apiserver "$1"; }
build_controller_manager() { build_kube_cmd kube-controller-manager "$1"; }
build_kubectl() { build_kube_cmd kubectl "$1"; }

build_etcd() {
  printf 'module eni-operator.io/testbin/etcd\n\ngo 1.24\n' > go.mod &&
    printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go &&
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
    go mod tidy &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3
}

build_helm() {
  local major=${HELM_VERSION%%.*}
  GOBIN=$(dirname "$1") CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
}

build_toxiproxy() {
  printf 'module eni-operator.io/testbin/toxiproxy\n\ngo 1.24\n' > go.mod &&
    printf 'package tools\n\nimport _ "github.com/Shopify/toxiproxy/v2/cmd/server"\n' > tools.go &&
    go get "github.com/Shopify/toxiproxy/v2@$TOXIPROXY_VERSION" &&
    go mod tidy &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" github.com/Shopify/toxiproxy/v2/cmd/server
}

# promtool from Prometheus's Go module (v0.3XX.Y is Prometheus 3.XX.Y), for `promtool test rules`.
build_promtool() {
  printf 'module eni-operator.io/testbin/promtool\n\ngo 1.24\n' > go.mod &&
    printf 'package tools\n\nimport _ "github.com/prometheus/prometheus/cmd/promtool"\n' > tools.go &&
    go get "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" &&
    go mod tidy &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1" github.com/prometheus/prometheus/cmd/promtool
}

# envtest's lookup order: TEST_ASSET_<NAME>, then KUBEBUILDER_ASSETS, then our cache (built on demand).
resolve() { # name version build_fn
  local name=$1 version=$2 fn=$3 var
  var="TEST_ASSET_$(echo "$name" | tr 'a-z-' 'A-Z_')"
  if [[ -n "${!var:-}" ]]; then
    [[ -x "${!var}" ]] || die "$var=${!var} is not an executable file"
    echo "$name=${!var}"; return
  fi
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$name" ]]; then
    echo "$name=$KUBEBUILDER_ASSETS/$name"; return
  fi
  install_binary "$name" "$CACHE_ROOT/bin/$name-$version" "$fn"
}

wanted=("$@"); [[ ${#wanted[@]} -gt 0 ]] || wanted=(etcd kube-apiserver kube-controller-manager kubectl helm toxiproxy-server)
for name in "${wanted[@]}"; do
  case "$name" in
    kube-apiserver) resolve kube-apiserver "$KUBE_VERSION" build_apiserver ;;
    kube-controller-manager) resolve kube-controller-manager "$KUBE_VERSION" build_controller_manager ;;
    kubectl) resolve kubectl "$KUBE_VERSION" build_kubectl ;;
    etcd) resolve etcd "$ETCD_VERSION" build_etcd ;;
    helm) resolve helm "$HELM_VERSION" build_helm ;;
    toxiproxy-server) resolve toxiproxy-server "$TOXIPROXY_VERSION" build_toxiproxy ;;
    promtool) resolve promtool "$PROMETHEUS_VERSION" build_promtool ;;
    *) die "unknown binary '$name' (expected kube-apiserver, kube-controller-manager, kubectl, etcd, helm, toxiproxy-server or promtool)" ;;
  esac
done
