package render

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kindOrder puts the objects others depend on first, so rendered output reads top-down the
// way it will be applied: definitions, namespaces, then everything else.
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

// Sort orders objects deterministically: by kind rank, then apiVersion, kind, namespace and
// name, so that render output is byte-identical from run to run.
func Sort(objs []*unstructured.Unstructured) {
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

func sortStrings(s []string) { sort.Strings(s) }
