package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/render"
)

// AnnotationAppliedHash holds a hash of the object as gitfleet last applied it. With it,
// an apply of an unchanged revision needs one LIST per kind instead of a GET and a
// server-side dry run per object: an object whose hash matches and that nobody but
// gitfleet changed since is unchanged without asking the API server.
const AnnotationAppliedHash = "gitfleet.dev/applied-hash"

// stampHashes records each object's hash in its annotations.
func stampHashes(objs []*unstructured.Unstructured) {
	for _, o := range objs {
		ann := o.GetAnnotations()
		delete(ann, AnnotationAppliedHash)
		if len(ann) == 0 {
			ann = nil // the hash of an object is the same whether or not it was stamped.
		}
		o.SetAnnotations(ann)
		data, _ := json.Marshal(o.Object) // an unstructured object always encodes.
		sum := sha256.Sum256(data)
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationAppliedHash] = hex.EncodeToString(sum[:12])
		o.SetAnnotations(ann)
	}
}

// splitUnchanged lists the App's live objects (one LIST per kind) and returns the change
// set entries of the objects that are certainly unchanged (with their live state, from
// which their health can be judged without another request), and the objects to apply.
// Anything uncertain (a kind the cluster does not know yet, a failed list, a change by
// another field manager) goes to the apply engine, which compares with a dry run.
func (a *clusterApplier) splitUnchanged(ctx context.Context, app string, objs []*unstructured.Unstructured) ([]ssa.ChangeSetEntry, []*unstructured.Unstructured, []*unstructured.Unstructured) {
	live := map[string]*unstructured.Unstructured{}
	listed := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if listed[gvk] {
			continue
		}
		listed[gvk] = true
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := a.client.List(ctx, list, client.MatchingLabels{render.LabelApp: app, render.LabelFleet: a.fleet}); err != nil {
			continue
		}
		for i := range list.Items {
			item := &list.Items[i]
			live[object.UnstructuredToObjMetadata(item).String()] = item
		}
	}
	var unchanged []ssa.ChangeSetEntry
	var apply, unchangedLive []*unstructured.Unstructured
	for _, o := range objs {
		meta := object.UnstructuredToObjMetadata(o)
		l, ok := live[meta.String()]
		if !ok || l.GetAnnotations()[AnnotationAppliedHash] != o.GetAnnotations()[AnnotationAppliedHash] || changedByOthers(l) {
			apply = append(apply, o)
			continue
		}
		unchangedLive = append(unchangedLive, l)
		unchanged = append(unchanged, ssa.ChangeSetEntry{
			ObjMetadata:  meta,
			GroupVersion: o.GroupVersionKind().GroupVersion().String(),
			Subject:      utils.FmtUnstructured(o),
			Action:       ssa.UnchangedAction,
		})
	}
	return unchanged, apply, unchangedLive
}

// liveHealth judges objects from their live state (kstatus), without requests.
func liveHealth(objs []*unstructured.Unstructured) Health {
	worst := Healthy
	for _, o := range objs {
		res, err := status.Compute(o)
		switch {
		case err != nil:
			return Unknown
		case res.Status == status.FailedStatus:
			return Failed
		case res.Status != status.CurrentStatus:
			worst = Progressing
		}
	}
	return worst
}

// changedByOthers reports whether another field manager wrote to the object since
// gitfleet's last apply (or in the same second: timestamps are whole seconds, so a tie is
// treated as a change).
func changedByOthers(u *unstructured.Unstructured) bool {
	var ours *metav1.Time
	for _, e := range u.GetManagedFields() {
		if e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			ours = e.Time
		}
	}
	if ours == nil {
		return true
	}
	for _, e := range u.GetManagedFields() {
		if e.Manager == FieldManager || e.Time == nil || e.Subresource == "status" {
			continue
		}
		if !e.Time.Time.Before(ours.Time) {
			return true
		}
	}
	return false
}

// applyOrder sorts change set entries the way the apply engine reports a staged apply:
// definitions (CRDs, namespaces, cluster roles), then classes, then the rest, each in the
// engine's object order, so an apply reads the same whether or not objects were skipped.
func applyOrder(entries []ssa.ChangeSetEntry, objs []*unstructured.Unstructured) {
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.Sort(ssa.SortableUnstructureds(sorted))
	stage := func(o *unstructured.Unstructured) int {
		switch {
		case utils.IsClusterDefinition(o):
			return 0
		case utils.IsClassDefinition(o):
			return 1
		}
		return 2
	}
	sort.SliceStable(sorted, func(i, j int) bool { return stage(sorted[i]) < stage(sorted[j]) })
	pos := make(map[string]int, len(sorted))
	for i, o := range sorted {
		pos[object.UnstructuredToObjMetadata(o).String()] = i
	}
	sort.SliceStable(entries, func(i, j int) bool {
		return pos[entries[i].ObjMetadata.String()] < pos[entries[j].ObjMetadata.String()]
	})
}
