package addons

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kindOrder is render.Sort's order (definitions, namespaces, accounts and RBAC first),
// repeated here because render imports this package. The renderer sorts a unit again
// when it labels it; this order makes Render's own output read the way it is applied.
var kindOrder = map[string]int{
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

// sortObjects orders objects by kind rank, then apiVersion, kind, namespace and name.
func sortObjects(objs []*unstructured.Unstructured) {
	rank := func(u *unstructured.Unstructured) int {
		if r, ok := kindOrder[u.GetKind()]; ok {
			return r
		}
		return len(kindOrder)
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
