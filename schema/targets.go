package schema

import "slices"

// Targets reports whether the App is to be applied to the cluster: the cluster is named in
// spec.targets.clusters, or its labels match spec.targets.selector.
func (a *App) Targets(c *Cluster) bool {
	if slices.Contains(a.Spec.Targets.Clusters, c.Metadata.Name) {
		return true
	}
	sel := a.Spec.Targets.Selector
	if sel == nil {
		return false
	}
	// As in Kubernetes, an empty selector matches everything: "selector: {}" targets every
	// cluster of the fleet.
	for k, v := range sel.MatchLabels {
		if got, ok := c.Metadata.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// AppsFor returns the Apps that target the cluster, directly or through a business
// Namespace on it, sorted by name.
func (r *Repo) AppsFor(c *Cluster) []*App {
	var out []*App
	for _, a := range r.Apps {
		if a.Targets(c) || len(r.TargetNamespaces(a, c)) > 0 {
			out = append(out, a)
		}
	}
	return out
}

// TargetNamespaces returns the business Namespaces in the App's spec.targets.namespaces
// that live on the cluster, sorted. The App is rendered into each of them there.
func (r *Repo) TargetNamespaces(a *App, c *Cluster) []string {
	var out []string
	for _, name := range a.Spec.Targets.Namespaces {
		if ns := r.Namespace(name); ns != nil && ns.Spec.Cluster == c.Metadata.Name && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
