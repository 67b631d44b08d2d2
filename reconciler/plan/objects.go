package plan

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// objectKey identifies an object in a cluster the way the API server does: group, kind,
// namespace and name. The version is not part of it: moving an object to another API
// version changes it, it does not replace it.
type objectKey struct {
	Group, Kind, Namespace, Name string
}

// placed is one rendered object and the App that renders it.
type placed struct {
	app string
	obj *unstructured.Unstructured
	// namespace is where apply puts the object (see namespaceOf).
	namespace string
}

// clusterObjects indexes the objects of a cluster's render by key. Apps whose render
// failed are listed in failed: apply leaves their objects as they are.
type clusterObjects struct {
	byKey  map[objectKey]placed
	failed map[string]bool
	// apps are the Apps that target the cluster, rendered or not.
	apps map[string]render.AppResult
}

func indexCluster(res *render.ClusterResult) *clusterObjects {
	idx := &clusterObjects{byKey: map[objectKey]placed{}, failed: map[string]bool{}, apps: map[string]render.AppResult{}}
	if res == nil {
		return idx
	}
	scopes := clusterScopedCRDs(res)
	for _, app := range res.Apps {
		name := app.App.Metadata.Name
		idx.apps[name] = app
		if app.Err != nil {
			idx.failed[name] = true
			continue
		}
		for _, o := range app.Objects {
			ns := namespaceOf(o, app.App.Spec.Namespace, scopes)
			idx.byKey[keyOf(o, ns)] = placed{app: name, obj: o, namespace: ns}
		}
	}
	return idx
}

func keyOf(o *unstructured.Unstructured, namespace string) objectKey {
	return objectKey{Group: o.GroupVersionKind().Group, Kind: o.GetKind(), Namespace: namespace, Name: o.GetName()}
}

// namespaceOf is the namespace apply puts an object in: its own, or for a namespaced
// object that names none, its App's spec.namespace or "default" (as the reconciler, helm
// install and kubectl do). Without a cluster to ask, a kind is cluster-scoped when it is
// a built-in cluster-scoped kind or a custom resource whose CRD, rendered for the same
// cluster, says so.
func namespaceOf(o *unstructured.Unstructured, appNamespace string, clusterCRDs map[string]bool) string {
	if ns := o.GetNamespace(); ns != "" {
		return ns
	}
	gk := o.GroupVersionKind().GroupKind()
	if schema.ClusterScopedKind(gk.String()) || clusterCRDs[gk.String()] {
		return ""
	}
	if appNamespace != "" {
		return appNamespace
	}
	return "default"
}

// clusterScopedCRDs lists the group kinds (Kind.group) of the cluster-scoped custom
// resources a render defines.
func clusterScopedCRDs(res *render.ClusterResult) map[string]bool {
	out := map[string]bool{}
	for _, app := range res.Apps {
		for _, o := range app.Objects {
			if o.GetKind() != "CustomResourceDefinition" {
				continue
			}
			scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			if strings.EqualFold(scope, "Cluster") {
				out[kind+"."+group] = true
			}
		}
	}
	return out
}

// change describes an object for the report, from the object that stands for it.
func change(app string, p placed) ObjectChange {
	return ObjectChange{
		App:        app,
		APIVersion: p.obj.GetAPIVersion(),
		Kind:       p.obj.GetKind(),
		Namespace:  p.namespace,
		Name:       p.obj.GetName(),
	}
}
