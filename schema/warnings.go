package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Warnings are things in a valid repository that are allowed but probably not meant: a
// cluster selector that matches no cluster applies nothing, and says nothing about it.
// validate prints them without failing; the positions and fields are those of problems.
func (r *Repo) Warnings() ErrorList {
	var out ErrorList
	check := func(o Origin, field string, sel *LabelSelector) {
		if sel == nil || len(sel.MatchLabels) == 0 {
			return
		}
		probe := &App{Spec: AppSpec{Targets: Targets{Selector: sel}}}
		for _, c := range r.Clusters {
			if probe.Targets(c) {
				return
			}
		}
		out = append(out, o.Errorf(field, "the selector %s matches no cluster of the repository (cluster labels: %s), so nothing is done with it", formatLabels(sel.MatchLabels), r.clusterLabels()))
	}
	for _, a := range r.Apps {
		check(a.Origin, "spec.targets.selector", a.Spec.Targets.Selector)
		if k := a.Spec.Source.Kustomize; k != nil {
			for i, ov := range k.Overlays {
				check(a.Origin, fmt.Sprintf("spec.source.kustomize.overlays[%d].selector", i), ov.Selector)
			}
		}
		if h := a.Spec.Source.Helm; h != nil {
			for i := range h.ValuesByLabel {
				check(a.Origin, fmt.Sprintf("spec.source.helm.valuesByLabel[%d].selector", i), &h.ValuesByLabel[i].Selector)
			}
		}
	}
	for _, ad := range r.Addons {
		check(ad.Origin, "spec.selector", ad.Spec.Selector)
	}
	timeout := r.Fleet.Spec.HealthTimeout.Duration
	out = append(out, r.rolloutWarnings(r.Fleet.Origin, "spec.rollout", r.Fleet.Spec.Rollout, timeout)...)
	for _, a := range r.Apps {
		out = append(out, r.rolloutWarnings(a.Origin, "spec.rollout", a.Spec.Rollout, timeout)...)
	}
	out.Sort()
	return out
}

func formatLabels(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// clusterLabels lists each cluster with its labels, for a selector that matched none.
func (r *Repo) clusterLabels() string {
	var parts []string
	for _, c := range r.Clusters {
		parts = append(parts, fmt.Sprintf("%s {%s}", c.Metadata.Name, formatLabels(c.Metadata.Labels)))
	}
	if len(parts) == 0 {
		return "there are no clusters"
	}
	return strings.Join(parts, "; ")
}
