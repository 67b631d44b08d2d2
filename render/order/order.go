// Package order sorts rendered objects the way gitfleet prints and applies them:
// definitions, namespaces, quotas, accounts and RBAC first, then everything else by
// apiVersion, kind, namespace and name. Render output is byte-identical from run to run
// because of it. It is its own package so that render and its sub-packages (addons)
// share one order without importing each other.
package order

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kindRank puts the objects others depend on first.
var kindRank = map[string]int{
	"CustomResourceDefinition": 0,
	"Namespace":                1,
	"ResourceQuota":            2,
	"LimitRange":               3,
	"ServiceAccount":           4,
	"ClusterRole":              5,
	"ClusterRoleBinding":       6,
	"Role":                     7,
	"RoleBinding":              8,
}

// Sort orders objects in place, stably.
func Sort(objs []*unstructured.Unstructured) {
	rank := func(u *unstructured.Unstructured) int {
		if r, ok := kindRank[u.GetKind()]; ok {
			return r
		}
		return len(kindRank)
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if a.GetAPIVersion() != b.GetAPIVersion() {
			return a.GetAPIVersion() < b.GetAPIVersion()
		}
		if a.GetKind() != b.GetKind() {
			return a.GetKind() < b.GetKind()
		}
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
}
