//go:build tools

// Package tools pins the helm CLI at the same version as gitfleet's Helm library, the
// reference that gitfleet's Helm renders are compared with.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
