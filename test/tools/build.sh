#!/usr/bin/env bash
# Builds the harness binaries and the reference renderers from the Go module proxy into
# $TOOLS_BIN (default: .tools/bin at the repository root).
#
#   build.sh        all of them (make tools, make test, make bench)
#   build.sh demo   only what make demo runs: etcd, kube-apiserver, kube-controller-manager,
#                   kube-scheduler and kwok (with its Stage files)
#
# Each binary has its own stamp file (.stamp-NAME) holding a hash of what it is built from:
# the Go version, the go.mod and go.sum of its module here, its package and the build flags.
# When the stamp matches, that binary is not rebuilt; so after `build.sh demo`, a later
# `build.sh` builds only kubectl, kustomize and helm, and nothing is rebuilt until a pinned
# version changes. Compiling Kubernetes from source is what makes a first run take minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TOOLS_BIN:-$root/.tools/bin}
mkdir -p "$bin"

set_name=${1:-all}
# NAME MODULE_DIR PACKAGE, in build order.
demo_tools=(
  "etcd $here/etcd go.etcd.io/etcd/server/v3"
  "kwok $here/kwok sigs.k8s.io/kwok/cmd/kwok"
  "kube-apiserver $here k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager $here k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler $here k8s.io/kubernetes/cmd/kube-scheduler"
)
other_tools=(
  "kustomize $here/kustomize sigs.k8s.io/kustomize/kustomize/v5"
  "helm $here/helm helm.sh/helm/v3/cmd/helm"
  # kubectl is the baseline of the reconcile benchmarks (kubectl apply --server-side).
  "kubectl $here k8s.io/kubernetes/cmd/kubectl"
)
case $set_name in
  all) tools=("${demo_tools[@]}" "${other_tools[@]}") ;;
  demo) tools=("${demo_tools[@]}") ;;
  *) echo "usage: $0 [all|demo]: all builds every tool, demo only what make demo runs" >&2; exit 2 ;;
esac

flags=(-trimpath "-ldflags=-s -w")
go_version=$(go version)

# stamp NAME MODULE_DIR PACKAGE: the hash a binary's stamp must hold.
stamp() {
  (echo "$go_version"; echo "$1 $3 CGO_ENABLED=0 ${flags[*]}"; cat "$2/go.mod" "$2/go.sum") | sha256sum | cut -d' ' -f1
}

# up_to_date NAME STAMP: the binary (and, for kwok, its Stage files) is there and was built
# from what is pinned now.
up_to_date() {
  [ -x "$bin/$1" ] && [ -f "$bin/.stamp-$1" ] && [ "$(cat "$bin/.stamp-$1")" = "$2" ] || return 1
  [ "$1" != kwok ] || [ -d "$bin/kwok-stages" ]
}

build() { # build NAME MODULE_DIR PACKAGE
  local name=$1 dir=$2 pkg=$3
  echo "tools: building $name from $pkg (the first time takes minutes)"
  rm -f "$bin/.stamp-$name"
  (cd "$dir" && CGO_ENABLED=0 go build "${flags[@]}" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  if [ "$name" = kwok ]; then
    # kwok's Stage objects make fake nodes Ready and pods Running; they ship in its module.
    local kwok_dir
    kwok_dir=$(cd "$dir" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    mkdir -p "$bin/kwok-stages"
    cp "$kwok_dir"/kustomize/stage/node/fast/node-*.yaml "$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/node-*.yaml "$kwok_dir"/kustomize/stage/pod/fast/pod-*.yaml "$bin/kwok-stages/"
    chmod 644 "$bin"/kwok-stages/*.yaml
  fi
}

built=0
for t in "${tools[@]}"; do
  read -r name dir pkg <<<"$t"
  want=$(stamp "$name" "$dir" "$pkg")
  if up_to_date "$name" "$want"; then
    continue
  fi
  build "$name" "$dir" "$pkg"
  echo "$want" > "$bin/.stamp-$name"
  built=$((built + 1))
done
rm -f "$bin/.stamp" # the single stamp of earlier versions of this script
if [ "$built" = 0 ]; then
  echo "tools: up to date in $bin ($set_name)"
else
  echo "tools: built $built into $bin ($set_name)"
fi
