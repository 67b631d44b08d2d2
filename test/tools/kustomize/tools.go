//go:build tools

// Package tools pins the kustomize CLI built on the same kustomize/api as gitfleet, the
// reference that gitfleet's kustomize renders are compared with.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
