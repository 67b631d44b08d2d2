#!/usr/bin/env bash
# Builds the harness binaries (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok) and the reference renderers (kustomize, helm) from the Go module proxy into $TOOLS_BIN (default: .tools/bin at the repository root).
# A stamp file holds a hash of the pinned versions (the go.mod and go.sum files here) and of the
# Go version; when it matches, nothing is rebuilt, so only the first run pays the ~10 minutes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${TOOLS_BIN:-$root/.tools/bin}
mkdir -p "$bin"

modules=("$here" "$here/etcd" "$here/kwok" "$here/kustomize" "$here/helm")
stamp_want=$( (go version; for m in "${modules[@]}"; do cat "$m/go.mod" "$m/go.sum"; done; cat "$0") | sha256sum | cut -d' ' -f1)
stamp_file=$bin/.stamp
all_there=true
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kustomize helm; do
  [ -x "$bin/$b" ] || all_there=false
done
if $all_there && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_want" ]; then
  echo "tools: up to date in $bin"
  exit 0
fi

rm -f "$stamp_file"
build() { # build MODULE_DIR OUTPUT PACKAGE
  local dir=$1 out=$2 pkg=$3
  echo "tools: building $out from $pkg (first time takes several minutes)"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$bin/$out.tmp" "$pkg")
  mv "$bin/$out.tmp" "$bin/$out"
}
build "$here/etcd" etcd go.etcd.io/etcd/server/v3
build "$here/kwok" kwok sigs.k8s.io/kwok/cmd/kwok
build "$here/kustomize" kustomize sigs.k8s.io/kustomize/kustomize/v5
build "$here/helm" helm helm.sh/helm/v3/cmd/helm
build "$here" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build "$here" kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build "$here" kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
# kubectl is the baseline of the reconcile benchmarks (kubectl apply --server-side).
build "$here" kubectl k8s.io/kubernetes/cmd/kubectl

# kwok's Stage objects make fake nodes Ready and pods Running; they ship in its module.
kwok_dir=$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
mkdir -p "$bin/kwok-stages"
cp "$kwok_dir"/kustomize/stage/node/fast/node-*.yaml "$kwok_dir"/kustomize/stage/node/heartbeat-with-lease/node-*.yaml "$kwok_dir"/kustomize/stage/pod/fast/pod-*.yaml "$bin/kwok-stages/"
chmod 644 "$bin"/kwok-stages/*.yaml
echo "$stamp_want" > "$stamp_file"
echo "tools: built into $bin"
