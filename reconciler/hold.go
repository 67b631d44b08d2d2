package reconciler

import (
	"context"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/reconciler/driftwatch"
	"gitfleet.dev/gitfleet/reconciler/inventory"
	"gitfleet.dev/gitfleet/reconciler/status"
)

// DriftReported is the action of drift that gitfleet reports and leaves in place (an App
// with drift: alert); DriftCorrected is that of drift it put back.
const (
	DriftReported  = "reported"
	DriftCorrected = "corrected"
)

// holdDrift takes out of an alert-only App's apply the objects someone else changed or
// deleted while the repository kept them as gitfleet last applied them: applying them
// would correct the drift, which drift: alert promises not to do, on every path (the
// interval, a retry, a webhook, a restart, a new leader). They are reported instead, and
// written again only when the repository changes them (a fix in git) or they match again
// (a fix in the cluster). An object whose desired state changed since gitfleet applied it
// is applied as usual: that change came through git.
func (a *clusterApplier) holdDrift(ctx context.Context, app string, s *split, prev *inventory.Inventory) []status.Drift {
	var held []status.Drift
	apply := s.apply[:0:0]
	for _, o := range s.apply {
		live := s.live[object.UnstructuredToObjMetadata(o).String()]
		if live == nil || hashOf(live) != hashOf(o) || !changedByOthers(live) {
			apply = append(apply, o)
			continue
		}
		entry, _, _, err := a.manager.Diff(ctx, o.DeepCopy(), ssa.DefaultDiffOptions())
		switch {
		case err != nil:
			apply = append(apply, o) // the apply reports what is wrong.
		case entry.Action == ssa.UnchangedAction:
			// Changed by someone, but not in what gitfleet manages.
			s.unchanged = append(s.unchanged, unchangedEntry(o))
			s.unchangedLive = append(s.unchangedLive, live)
		default:
			by, _ := driftwatch.ModifiedBy(live, FieldManager)
			held = append(held, status.Drift{App: app, Object: driftwatch.ID(o), Change: string(driftwatch.Modified), Action: DriftReported, By: by})
			s.held = append(s.held, o)
		}
	}
	create := s.create[:0:0]
	for _, o := range s.create {
		e := prev.Find(object.UnstructuredToObjMetadata(o).String())
		if e == nil || e.Hash == "" || e.Hash != hashOf(o) {
			create = append(create, o) // new, or changed in git since it was deleted.
			continue
		}
		held = append(held, status.Drift{App: app, Object: driftwatch.ID(o), Change: string(driftwatch.Deleted), Action: DriftReported, By: driftwatch.Unknown})
		s.held = append(s.held, o)
	}
	s.apply, s.create = apply, create
	return held
}

// hashOf is the applied hash an object carries.
func hashOf(o metav1.Object) string { return o.GetAnnotations()[AnnotationAppliedHash] }

// unchangedEntry is the change set entry of an object that needs nothing.
func unchangedEntry(o *unstructured.Unstructured) ssa.ChangeSetEntry {
	return ssa.ChangeSetEntry{
		ObjMetadata:  object.UnstructuredToObjMetadata(o),
		GroupVersion: o.GroupVersionKind().GroupVersion().String(),
		Subject:      utils.FmtUnstructured(o),
		Action:       ssa.UnchangedAction,
	}
}

// recordHashes notes in inv the hash of each object of the change set that is in the
// cluster as gitfleet wrote it, and of the held ones (the cluster has another state, but
// gitfleet's last write had this hash). Objects the apply did not reach keep no hash: one
// missing later was never created, not deleted by someone.
func recordHashes(inv *inventory.Inventory, cs *ssa.ChangeSet, objs, held []*unstructured.Unstructured) {
	byID := make(map[string]string, len(objs))
	for _, o := range objs {
		byID[object.UnstructuredToObjMetadata(o).String()] = hashOf(o)
	}
	hashes := map[string]string{}
	for _, e := range cs.Entries {
		switch e.Action {
		case ssa.CreatedAction, ssa.ConfiguredAction, ssa.UnchangedAction:
			if h, ok := byID[e.ObjMetadata.String()]; ok {
				hashes[e.ObjMetadata.String()] = h
			}
		}
	}
	for _, o := range held {
		hashes[object.UnstructuredToObjMetadata(o).String()] = hashOf(o)
	}
	inventory.RecordHashes(inv, hashes)
}
