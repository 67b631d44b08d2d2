package reconciler

import (
	"context"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/reconciler/inventory"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/addons"
)

// checkPruneGuard refuses an apply that would delete more than the allowed share of the
// objects gitfleet manages in the cluster: a repository that suddenly renders almost
// nothing is far more likely broken than meant.
func (a *clusterApplier) checkPruneGuard(old map[string]*inventory.Inventory, plans map[string]*appPlan, orphans map[string]*inventory.Inventory, pruneOrphans bool) error {
	g := a.opts.PruneGuard
	if g.AllowMassPrune {
		return nil
	}
	managed, prune := 0, 0
	for _, inv := range old {
		managed += inv.Len()
	}
	for _, p := range plans {
		prune += len(p.stale)
	}
	if pruneOrphans {
		for _, inv := range orphans {
			prune += inv.Len()
		}
	}
	if prune < g.MinObjects || managed == 0 || float64(prune) <= g.MaxFraction*float64(managed) {
		return nil
	}
	return &PruneGuardError{Cluster: a.cluster, Prune: prune, Managed: managed}
}

// deleteOptions only delete objects that still carry the App's label: an object someone
// else took over, or that moved to another App, is left alone.
func (a *clusterApplier) deleteOptions(app string) ssa.DeleteOptions {
	opts := ssa.DefaultDeleteOptions()
	opts.Inclusions = map[string]string{render.LabelApp: app, render.LabelFleet: a.fleet}
	// CRDs and namespaces an addon marks so are never pruned: removing the TApp addon must
	// not delete every TApp of the cluster with its CRD.
	opts.Exclusions = map[string]string{addons.AnnotationPrune: addons.PruneDisabled}
	return opts
}

// prune deletes an App's stale objects; those whose deletion failed stay in its inventory
// so the next apply tries again.
func (a *clusterApplier) prune(ctx context.Context, app string, p *appPlan) {
	if len(p.stale) == 0 {
		return
	}
	cs, err := a.manager.DeleteAll(ctx, p.stale, a.deleteOptions(app))
	p.result.Changes = append(p.result.Changes, cs.Entries...)
	if err != nil {
		inventory.AddObjects(p.next, failedDeletes(cs, p.stale))
		if p.result.Err == nil {
			p.result.Err = &ApplyError{Cluster: a.cluster, App: app, Err: err}
		}
	}
}

// pruneOrphans deletes everything of Apps that no longer target the cluster. Their
// inventories are dropped once empty and kept with what is left otherwise.
func (a *clusterApplier) pruneOrphans(ctx context.Context, orphans, keep map[string]*inventory.Inventory) ([]ssa.ChangeSetEntry, map[string]*inventory.Inventory, []string) {
	var pruned []ssa.ChangeSetEntry
	var drop []string
	for app, inv := range orphans {
		objs := mustObjects(inv)
		cs, err := a.manager.DeleteAll(ctx, objs, a.deleteOptions(app))
		pruned = append(pruned, cs.Entries...)
		if err != nil {
			a.opts.Log.Error(err, "prune of removed app incomplete", "cluster", a.cluster, "app", app)
			left := inventory.New()
			inventory.AddObjects(left, failedDeletes(cs, objs))
			keep[app] = left
			continue
		}
		drop = append(drop, app)
	}
	return pruned, keep, drop
}

// failedDeletes returns the objects whose change set entry says the delete did not happen.
func failedDeletes(cs *ssa.ChangeSet, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	failed := map[string]bool{}
	for _, e := range cs.Entries {
		if e.Action == ssa.UnknownAction {
			failed[e.ObjMetadata.String()] = true
		}
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if failed[object.UnstructuredToObjMetadata(o).String()] {
			out = append(out, o)
		}
	}
	return out
}
