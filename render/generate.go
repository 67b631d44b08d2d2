package render

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/schema"
)

// Generated units are applied like Apps (own inventory, prune, health) but come from the
// fleet model instead of a source directory. Their names contain a dot, which App names
// cannot, so they never clash with an App.
const (
	// UnitNamespaces holds each cluster's business namespaces with their ResourceQuota,
	// LimitRange and RoleBindings.
	UnitNamespaces = "gitfleet.namespaces"
	// UnitAddonPrefix + an Addon's name holds that Addon's objects on a cluster.
	UnitAddonPrefix = "addon."
	// UnitAlerting holds the PrometheusRules and Alertmanager routing of the alert
	// policies that watch a cluster.
	UnitAlerting = "gitfleet.alerting"
)

// LabelBusiness marks the objects generated for a business.
const LabelBusiness = "gitfleet.dev/business"

// businessRoleBinding maps TKEStack's preset business roles to the Kubernetes built-in
// ClusterRoles with the same meaning inside a namespace.
var businessRoleBinding = map[schema.BusinessRole]string{
	schema.BusinessAdmin:    "admin",
	schema.BusinessMember:   "edit",
	schema.BusinessReadOnly: "view",
}

// generatedUnit is a synthetic App for generated objects: pruned like an App, applied
// before every App of the cluster.
func generatedUnit(name string) *schema.App {
	prune := true
	return &schema.App{
		Object: schema.Object{TypeMeta: schema.TypeMeta{APIVersion: schema.APIVersion, Kind: schema.KindApp}, Metadata: schema.ObjectMeta{Name: name}},
		Spec:   schema.AppSpec{Prune: &prune, Drift: schema.DriftCorrect},
	}
}

// namespaceObjects generates the business namespaces of one cluster: for each, the
// Namespace, its ResourceQuota and LimitRange, and a RoleBinding per business member.
func (r *Renderer) namespaceObjects(c *schema.Cluster) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, ns := range r.repo.Namespaces {
		if ns.Spec.Cluster != c.Metadata.Name {
			continue
		}
		name, business := ns.Metadata.Name, ns.Spec.Business
		labels := map[string]any{LabelBusiness: business}
		out = append(out, object("v1", "Namespace", "", name, labels, nil))
		if len(ns.Spec.Quota) > 0 {
			hard := map[string]any{}
			for _, k := range sortedResourceNames(ns.Spec.Quota) {
				q := ns.Spec.Quota[k]
				hard[schema.QuotaResourceName(k)] = q.String()
			}
			out = append(out, object("v1", "ResourceQuota", name, "business-quota", labels, map[string]any{"spec": map[string]any{"hard": hard}}))
		}
		if lr := ns.Spec.LimitRange; lr != nil {
			limit := map[string]any{"type": "Container"}
			for field, rl := range map[string]schema.ResourceList{"default": lr.Default, "defaultRequest": lr.DefaultRequest, "min": lr.Min, "max": lr.Max} {
				if len(rl) > 0 {
					m := map[string]any{}
					for _, k := range sortedResourceNames(rl) {
						q := rl[k]
						m[k] = q.String()
					}
					limit[field] = m
				}
			}
			out = append(out, object("v1", "LimitRange", name, "business-limits", labels, map[string]any{"spec": map[string]any{"limits": []any{limit}}}))
		}
		if b := r.repo.Business(business); b != nil {
			for i, m := range b.Spec.Members {
				kind, subject := "User", m.User
				if m.Group != "" {
					kind, subject = "Group", m.Group
				}
				rb := object("rbac.authorization.k8s.io/v1", "RoleBinding", name, fmt.Sprintf("business-%s-%d", m.Role, i), labels, map[string]any{
					"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": businessRoleBinding[m.Role]},
					"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}},
				})
				out = append(out, rb)
			}
		}
	}
	return out
}

func sortedResourceNames(rl schema.ResourceList) []string {
	return slices.Sorted(maps.Keys(rl))
}

// object builds an unstructured object from its parts.
func object(apiVersion, kind, namespace, name string, labels map[string]any, fields map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	if len(labels) > 0 {
		l := map[string]any{}
		for k, v := range labels {
			l[k] = v
		}
		meta["labels"] = l
	}
	obj := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range fields {
		obj[k] = v
	}
	return &unstructured.Unstructured{Object: obj}
}
