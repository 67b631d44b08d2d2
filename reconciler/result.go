package reconciler

import (
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// Health is the aggregated kstatus of an App's objects after an apply.
type Health string

const (
	// Healthy: every object reached its desired state (kstatus Current).
	Healthy Health = "Healthy"
	// Progressing: some objects are still rolling out when the health timeout ended.
	Progressing Health = "Progressing"
	// Failed: some object reports a failure (kstatus Failed).
	Failed Health = "Failed"
	// Unknown: not checked, because the apply did not get that far.
	Unknown Health = "Unknown"
)

// ClusterResult is what one apply did in one cluster.
type ClusterResult struct {
	Cluster string
	Apps    []AppResult
	// Pruned lists objects deleted because their App no longer targets the cluster.
	Pruned []ssa.ChangeSetEntry
	// Quotas are the live ResourceQuotas of the business namespaces on the cluster.
	Quotas []QuotaUsage
	// Err is a failure of the whole cluster (unreachable, prune guard); App failures
	// are in their AppResult.
	Err error
}

// AppResult is what one apply did for one App in one cluster.
type AppResult struct {
	App string
	// Changes lists every object of the App with its action, pruned objects included;
	// after a failed apply it holds what was done before the failure.
	Changes []ssa.ChangeSetEntry
	Health  Health
	// Applied are the objects as they were applied (namespaces filled in), which the
	// drift watch compares the cluster with; empty when the apply failed.
	Applied []*unstructured.Unstructured
	// Drift lists the objects of an alert-only App (drift: alert) that someone changed
	// or deleted and that were therefore left as they are, not applied.
	Drift []status.Drift
	// Err is a render, apply, prune or dependency failure of this App.
	Err error
	// Held says why the App was left as the cluster has it (a rollout wave not reached).
	Held string
}

// Counts is the number of objects per action, for summaries.
type Counts struct {
	Created, Configured, Unchanged, Pruned, Skipped int
}

// Counts adds up the actions of every App in the cluster.
func (r ClusterResult) Counts() Counts {
	var c Counts
	add := func(entries []ssa.ChangeSetEntry) {
		for _, e := range entries {
			switch e.Action {
			case ssa.CreatedAction:
				c.Created++
			case ssa.ConfiguredAction:
				c.Configured++
			case ssa.UnchangedAction:
				c.Unchanged++
			case ssa.DeletedAction:
				c.Pruned++
			case ssa.SkippedAction:
				c.Skipped++
			}
		}
	}
	for _, a := range r.Apps {
		add(a.Changes)
	}
	add(r.Pruned)
	return c
}

// Health is the worst health of the cluster's Apps.
func (r ClusterResult) Health() Health {
	if r.Err != nil {
		return Unknown
	}
	worst := Healthy
	rank := map[Health]int{Healthy: 0, Progressing: 1, Unknown: 2, Failed: 3}
	for _, a := range r.Apps {
		if rank[a.Health] > rank[worst] {
			worst = a.Health
		}
	}
	return worst
}

// Errors lists every failure in the cluster: its own and its Apps'.
func (r ClusterResult) Errors() []error {
	var errs []error
	if r.Err != nil {
		errs = append(errs, r.Err)
	}
	for _, a := range r.Apps {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	return errs
}
