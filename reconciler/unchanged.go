package reconciler

import (
	"context"
	"fmt"

	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/meta"
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
// which their health can be judged without another request), the objects certainly
// absent, and the objects the apply engine must compare.
// Anything uncertain (a kind the cluster does not know yet, a failed list, a change by
// another field manager) goes to the apply engine, which compares with a dry run.
func (a *clusterApplier) splitUnchanged(ctx context.Context, app string, objs []*unstructured.Unstructured) split {
	live := map[string]metav1.Object{}
	listed := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if listed[gvk] {
			continue
		}
		listed[gvk] = true
		items, err := a.listLive(ctx, gvk, client.MatchingLabels{render.LabelApp: app, render.LabelFleet: a.fleet})
		if err != nil {
			listed[gvk] = false // unknown yet (a CRD in the same App): the engine decides.
			continue
		}
		for _, item := range items {
			id := object.ObjMetadata{Namespace: item.GetNamespace(), Name: item.GetName(), GroupKind: gvk.GroupKind()}
			live[id.String()] = item
		}
	}
	s := split{live: live}
	for _, o := range objs {
		meta := object.UnstructuredToObjMetadata(o)
		l, ok := live[meta.String()]
		switch {
		case !ok && listed[o.GroupVersionKind()] && !utils.IsCRD(o) && !utils.IsClassDefinition(o):
			// Certainly absent (listed, not found, and not a definition that must become
			// ready before what uses it): created with one apply request, namespaces and
			// cluster roles before the engine runs, the rest after it.
			s.create = append(s.create, o)
			continue
		case !ok || hashOf(l) != hashOf(o) || changedByOthers(l):
			s.apply = append(s.apply, o)
			continue
		}
		s.unchangedLive = append(s.unchangedLive, l)
		s.unchanged = append(s.unchanged, unchangedEntry(o))
	}
	return s
}

// split is how the objects of an App are handled.
type split struct {
	// unchanged need nothing; unchangedLive is their live state.
	unchanged     []ssa.ChangeSetEntry
	unchangedLive []metav1.Object
	// apply go through the apply engine (dry-run comparison, staging).
	apply []*unstructured.Unstructured
	// create are absent and are created with one server-side apply request each.
	create []*unstructured.Unstructured
	// held are drifted objects of an alert-only App, left as they are (holdDrift).
	held []*unstructured.Unstructured
	// live is what the lists found, by object id: whole objects, or metadata for the
	// kinds that have no status (listLive).
	live map[string]metav1.Object
}

// createAll applies objects that are known to be absent, concurrently, one request each:
// the dry-run comparison the engine would make first can only say "created".
// It returns the objects as the API server answered, from which their health can be
// judged without polling.
func (a *clusterApplier) createAll(ctx context.Context, objs []*unstructured.Unstructured) ([]ssa.ChangeSetEntry, []*unstructured.Unstructured, error) {
	entries := make([]ssa.ChangeSetEntry, len(objs))
	live := make([]*unstructured.Unstructured, len(objs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, a.opts.ObjectConcurrency))
	for i, o := range objs {
		g.Go(func() error {
			entries[i] = ssa.ChangeSetEntry{
				ObjMetadata:  object.UnstructuredToObjMetadata(o),
				GroupVersion: o.GroupVersionKind().GroupVersion().String(),
				Subject:      utils.FmtUnstructured(o),
				Action:       ssa.CreatedAction,
			}
			obj := o.DeepCopy()
			if err := a.client.Patch(ctx, obj, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
				entries[i].Action = ssa.UnknownAction
				return fmt.Errorf("%s apply failed: %w", utils.FmtUnstructured(o), err)
			}
			live[i] = obj
			return nil
		})
	}
	err := g.Wait()
	var done []ssa.ChangeSetEntry
	var doneLive []*unstructured.Unstructured
	for i, e := range entries {
		if e.Action == ssa.CreatedAction && live[i] != nil {
			done, doneLive = append(done, e), append(doneLive, live[i])
		}
	}
	return done, doneLive, err
}

// statusless are kinds without a status: kstatus finds them Current, or InProgress while
// they are being deleted, from their metadata alone. Their live state is listed as
// metadata (PartialObjectMetadata, which the API server sends as protobuf): a fraction of
// the bytes and of the decoding of whole objects, and Secrets' data never read.
var statusless = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}: true, {Kind: "Secret"}: true, {Kind: "ServiceAccount"}: true, {Kind: "LimitRange"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}: true, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}: true, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: true,
}

// listLive lists the live objects of one kind: their metadata for a statusless kind, the
// whole objects otherwise (their health is in their status).
func (a *clusterApplier) listLive(ctx context.Context, gvk schema.GroupVersionKind, opts ...client.ListOption) ([]metav1.Object, error) {
	var list client.ObjectList = &unstructured.UnstructuredList{}
	if statusless[gvk.GroupKind()] {
		list = &metav1.PartialObjectMetadataList{}
	}
	list.GetObjectKind().SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := a.client.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, len(items))
	for i, item := range items {
		out[i] = item.(metav1.Object) // both lists hold objects with metadata.
	}
	return out, nil
}

// liveHealth judges objects from their live state (kstatus), without requests: whole
// objects by their status, a statusless kind's metadata by whether it is being deleted.
func liveHealth(objs []metav1.Object) Health {
	worst := Healthy
	for _, m := range objs {
		o, whole := m.(*unstructured.Unstructured)
		if !whole {
			if m.GetDeletionTimestamp() != nil {
				worst = Progressing
			}
			continue
		}
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
func changedByOthers(u metav1.Object) bool {
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
