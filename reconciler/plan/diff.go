package plan

import (
	"fmt"
	"reflect"
	"sort"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/addons"
)

// sides are the two renders of one cluster; a side is nil where the cluster does not
// exist in that revision.
type sides struct {
	base, head *render.ClusterResult
	// fleetPrune is the head Fleet's prune setting, which decides what happens to the
	// objects of an App that no longer targets the cluster.
	fleetPrune bool
}

// diffRenders compares a cluster's base and head renders the way apply would act on them,
// had base been applied: objects only in head are created, objects in both that differ
// are changed, objects only in base are pruned when their App's (or, for an App that no
// longer targets the cluster, the Fleet's) prune setting says so. An App whose head render
// failed is neither applied nor pruned, so its objects do not appear at all.
func diffRenders(name string, s sides) ClusterPlan {
	cp := ClusterPlan{Name: name, State: ClusterChanged}
	switch {
	case s.base == nil:
		cp.State = ClusterAdded
	case s.head == nil:
		cp.State = ClusterRemoved
	}
	base, head := indexCluster(s.base), indexCluster(s.head)
	for app := range base.failed {
		if _, ok := head.apps[app]; ok && !head.failed[app] {
			cp.Notes = append(cp.Notes, fmt.Sprintf("app %s could not be rendered in the base revision: its objects are compared with nothing and listed as created", app))
		}
	}
	for key, h := range head.byKey {
		b, ok := base.byKey[key]
		switch {
		case !ok:
			cp.Create = append(cp.Create, change(h.app, h))
		case b.obj == h.obj || reflect.DeepEqual(b.obj.Object, h.obj.Object):
			// The same object (a render reused from base) or an identical one.
			cp.Unchanged++
		default:
			c := change(h.app, h)
			if b.app != h.app {
				c.FromApp = b.app
			}
			c.Fields = diffFields(h.obj.GetKind(), b.obj.Object, h.obj.Object)
			cp.Change = append(cp.Change, c)
		}
	}
	for key, b := range base.byKey {
		if _, ok := head.byKey[key]; ok || head.failed[b.app] {
			continue
		}
		c := change(b.app, b)
		switch reason := keepReason(b, head, s); reason {
		case "":
			cp.Prune = append(cp.Prune, c)
		default:
			c.Reason = reason
			cp.Kept = append(cp.Kept, c)
		}
	}
	sortChanges(cp.Create, cp.Change, cp.Prune, cp.Kept)
	if cp.State == ClusterChanged && len(cp.Create)+len(cp.Change)+len(cp.Prune)+len(cp.Kept) == 0 {
		cp.State = ClusterUnchanged
	}
	return cp
}

// keepReason says why apply would leave an object that head no longer renders, or ""
// when it deletes it. A cluster removed from the repository is cleaned of everything
// (reconciler.RemoveCluster), except what is marked never to be pruned.
func keepReason(b placed, head *clusterObjects, s sides) string {
	if b.obj.GetAnnotations()[addons.AnnotationPrune] == addons.PruneDisabled {
		return fmt.Sprintf("marked %s: %s", addons.AnnotationPrune, addons.PruneDisabled)
	}
	if s.head == nil {
		return ""
	}
	app, ok := head.apps[b.app]
	switch {
	case !ok && !s.fleetPrune:
		return fmt.Sprintf("app %s no longer targets the cluster and the Fleet has prune: false", b.app)
	case ok && app.App.Spec.Prune != nil && !*app.App.Spec.Prune:
		return fmt.Sprintf("app %s has prune: false", b.app)
	}
	return ""
}

func sortChanges(lists ...[]ObjectChange) {
	for _, l := range lists {
		sort.Slice(l, func(i, j int) bool { return lessChange(l[i], l[j]) })
	}
}

// lessChange orders by App first: reviewers read a plan App by App.
func lessChange(a, b ObjectChange) bool {
	if a.App != b.App {
		return a.App < b.App
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return false
}
