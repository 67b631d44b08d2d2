//go:build tools

// Package tools pins the Kubernetes control-plane components that gitfleet's tests and
// demo run against. Nothing here is imported by gitfleet itself; `make tools` builds them
// into .tools/bin at the repository root. etcd and kwok live in their own modules beside
// this one (etcd/, kwok/) so each resolves the dependency versions its own release was
// tested with instead of being lifted to Kubernetes' versions.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
