// Package driftwatch notices, within seconds, when someone changes or deletes an object
// gitfleet applied to a member cluster, and puts it back (drift: correct) or only reports it
// (drift: alert).
//
// It watches (informers, not polling) only the kinds gitfleet applied to the cluster and
// only objects labelled with the fleet's name, and only their metadata: who wrote an
// object last is in its managedFields, so the informers keep names and managedFields
// entries without their field sets, not copies of every object. An update made by gitfleet's own field
// manager is never drift. For any other update or a deletion, the desired object is
// compared with the cluster through the apply engine (a server-side dry run): only a
// difference in what gitfleet manages is drift, so a controller writing status or someone
// adding an annotation gitfleet does not manage is not.
package driftwatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// Change is what happened to a managed object.
type Change string

const (
	Modified Change = "modified"
	Deleted  Change = "deleted"
	// Matches: an object reported as drifted (drift: alert) matches the desired state
	// again, fixed by someone in the cluster; the report can be closed.
	Matches Change = "matches"
)

// Unknown is Event.By when the cluster keeps no trace of who made the change: a deletion
// removes the object, managedFields with it, and the API server does not say who asked.
const Unknown = "unknown"

// Event is one drift.
type Event struct {
	Cluster, App string
	// Object is Kind/namespace/name.
	Object string
	Change Change
	// By is the field manager of the change as the object's managedFields say
	// (kubectl-edit, ...), or Unknown.
	By string
	// Corrected is true when the desired state was applied again.
	Corrected bool
	// Err is a failed correction.
	Err error
}

// Options configure a Watcher.
type Options struct {
	Cluster, Fleet string
	// FieldManager is gitfleet's: its own updates are never drift.
	FieldManager string
	// LabelFleet is the label that carries the fleet's name on every applied object.
	LabelFleet string
	// Correct tells, per App, whether drift is corrected (true) or only reported.
	Correct func(app string) bool
	// OnDrift receives every drift, after the correction when there is one.
	OnDrift func(Event)
	// Debounce merges the events of one object that arrive close together: the first is
	// checked at once, the ones that follow within Debounce make one check after it.
	Debounce time.Duration
	Log      logr.Logger
}

// Watcher watches one member cluster.
type Watcher struct {
	opts    Options
	meta    metadata.Interface
	mapper  meta.RESTMapper
	manager *ssa.ResourceManager

	mu       sync.Mutex
	desired  map[string]desired // object id -> desired state
	watching map[schema.GroupVersionResource]context.CancelFunc
	pending  map[string]*time.Timer
	// checked is when each object was last checked at once (the leading edge of the
	// debounce).
	checked map[string]time.Time
	ctx     context.Context
	// paused is set while gitfleet itself applies and prunes: its deletions of pruned
	// objects are not drift, and the desired state is about to change.
	paused bool
}

// Pause stops reporting drift until the next SetDesired: call it before an apply.
func (w *Watcher) Pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = true
	for key, t := range w.pending {
		t.Stop()
		delete(w.pending, key)
	}
}

type desired struct {
	app string
	obj *unstructured.Unstructured
}

// New makes a watcher; the apply engine and REST mapper are the ones the cluster's
// applies use, so corrections are exactly what an apply would do.
func New(client metadata.Interface, mapper meta.RESTMapper, manager *ssa.ResourceManager, opts Options) *Watcher {
	if opts.Debounce == 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	return &Watcher{opts: opts, meta: client, mapper: mapper, manager: manager,
		desired: map[string]desired{}, watching: map[schema.GroupVersionResource]context.CancelFunc{}, pending: map[string]*time.Timer{}, checked: map[string]time.Time{}}
}

// Start runs the watcher until ctx ends.
func (w *Watcher) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	w.sync()
	<-ctx.Done()
}

// SetDesired replaces what the cluster must hold: per App, the objects as applied. The
// watcher keeps the objects themselves (a fleet's worth of copies would double what a
// replica holds): the caller must not change them afterwards.
func (w *Watcher) SetDesired(apps map[string][]*unstructured.Unstructured) {
	w.mu.Lock()
	w.paused = false
	w.desired = map[string]desired{}
	for app, objs := range apps {
		for _, o := range objs {
			w.desired[ID(o)] = desired{app: app, obj: o}
		}
	}
	w.mu.Unlock()
	w.sync()
}

// sync starts an informer for every kind in the desired set and stops the others.
func (w *Watcher) sync() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return
	}
	want := map[schema.GroupVersionResource]string{} // resource -> kind
	mapped := map[schema.GroupVersionKind]bool{}
	for _, d := range w.desired {
		gvk := d.obj.GroupVersionKind()
		if mapped[gvk] {
			continue
		}
		mapped[gvk] = true
		m, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			continue // a kind the cluster does not serve (yet): the apply reports it.
		}
		want[m.Resource] = gvk.Kind
	}
	for gvr, stop := range w.watching {
		if _, ok := want[gvr]; !ok {
			stop()
			delete(w.watching, gvr)
		}
	}
	for gvr, kind := range want {
		if _, ok := w.watching[gvr]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(w.ctx)
		w.watching[gvr] = cancel
		factory := metadatainformer.NewFilteredSharedInformerFactory(w.meta, 0, metav1.NamespaceAll, func(o *metav1.ListOptions) {
			o.LabelSelector = w.opts.LabelFleet + "=" + w.opts.Fleet
		})
		inf := factory.ForResource(gvr).Informer()
		_ = inf.SetTransform(slim) // fails only once the informer runs.
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
			// An object created after the informer started is one someone put back
			// (gitfleet's own creates come during an apply, while paused): it may match
			// again, or differ.
			AddFunc: func(obj any, initial bool) {
				if !initial {
					w.observe(kind, obj, Modified)
				}
			},
			UpdateFunc: func(_, obj any) { w.observe(kind, obj, Modified) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				w.observe(kind, obj, Deleted)
			},
		})
		go inf.Run(ctx.Done())
	}
}

// slim keeps of an object's metadata what observe reads: its name and who wrote it when
// (managedFields entries without their field sets, which are most of the metadata).
func slim(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	out := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
	}}
	for _, e := range m.ManagedFields {
		out.ManagedFields = append(out.ManagedFields, metav1.ManagedFieldsEntry{
			Manager: e.Manager, Operation: e.Operation, Time: e.Time, Subresource: e.Subresource,
		})
	}
	return out, nil
}

// observe debounces an event and checks the object: the first event of an object at once,
// the ones that follow close behind it once they settle.
func (w *Watcher) observe(kind string, obj any, change Change) {
	u, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	key := objectID(kind, u.GetNamespace(), u.GetName())
	by := Unknown
	if change == Modified {
		var ours bool
		if by, ours = ModifiedBy(u, w.opts.FieldManager); ours {
			return // gitfleet's own apply.
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, managed := w.desired[key]; !managed || w.paused {
		return
	}
	if t, ok := w.pending[key]; ok {
		t.Stop()
	} else if now := time.Now(); now.Sub(w.checked[key]) >= w.opts.Debounce {
		w.checked[key] = now
		go w.check(key, change, by)
		return
	}
	w.pending[key] = time.AfterFunc(w.opts.Debounce, func() { w.check(key, change, by) })
}

// check decides whether the object drifted and corrects or reports it.
func (w *Watcher) check(key string, change Change, by string) {
	w.mu.Lock()
	d, ok := w.desired[key]
	ctx, paused := w.ctx, w.paused
	delete(w.pending, key)
	w.mu.Unlock()
	if !ok || paused || ctx == nil || ctx.Err() != nil {
		return
	}
	ev := Event{Cluster: w.opts.Cluster, App: d.app, Object: key, Change: change, By: by}
	obj := d.obj.DeepCopy()
	correct := w.opts.Correct(d.app)
	if correct {
		entry, err := w.manager.Apply(ctx, obj, ssa.DefaultApplyOptions())
		switch {
		case err != nil:
			ev.Err = fmt.Errorf("correcting %s: %w", key, err)
		case entry.Action == ssa.UnchangedAction:
			return // the change did not touch what gitfleet manages.
		default:
			ev.Corrected = true
		}
	} else {
		entry, _, _, err := w.manager.Diff(ctx, obj, ssa.DefaultDiffOptions())
		switch {
		case err != nil:
			ev.Err = fmt.Errorf("comparing %s: %w", key, err)
		case entry.Action == ssa.UnchangedAction:
			// What gitfleet manages is as desired: if this object was reported as
			// drifted, it is fixed now. The receiver knows whether it was.
			if w.opts.OnDrift != nil {
				w.opts.OnDrift(Event{Cluster: ev.Cluster, App: ev.App, Object: key, Change: Matches, By: by})
			}
			return
		}
	}
	w.opts.Log.Info("drift", "cluster", ev.Cluster, "app", ev.App, "object", ev.Object, "change", ev.Change, "by", ev.By, "corrected", ev.Corrected)
	if err := w.recordEvent(ctx, d.obj, ev); err != nil {
		w.opts.Log.Error(err, "recording the drift as a Kubernetes Event failed", "object", ev.Object)
	}
	if w.opts.OnDrift != nil {
		w.opts.OnDrift(ev)
	}
}

// ModifiedBy names who made the newest change to u: the field manager of the newest
// managedFields entry other than gitfleet's, among those at least as new as gitfleet's
// own apply (timestamps are whole seconds, so a tie goes to the other manager). ours is
// true when gitfleet's apply is the newest change; by is Unknown when nothing says.
func ModifiedBy(u metav1.Object, fieldManager string) (by string, ours bool) {
	var own, newest *metav1.ManagedFieldsEntry
	entries := u.GetManagedFields()
	for i := range entries {
		e := &entries[i]
		if e.Time == nil {
			continue
		}
		if e.Manager == fieldManager {
			if own == nil || own.Time.Before(e.Time) {
				own = e
			}
			continue
		}
		if newest == nil || !e.Time.Before(newest.Time) {
			newest = e
		}
	}
	switch {
	case newest == nil && own != nil:
		return fieldManager, true
	case newest == nil:
		return Unknown, false
	case own != nil && newest.Time.Before(own.Time):
		return fieldManager, true
	}
	return newest.Manager, false
}

// ID names an object as drift reports do: Kind/namespace/name, or Kind/name.
func ID(o *unstructured.Unstructured) string {
	return objectID(o.GetKind(), o.GetNamespace(), o.GetName())
}

func objectID(kind, namespace, name string) string {
	if namespace != "" {
		return kind + "/" + namespace + "/" + name
	}
	return kind + "/" + name
}

// recordEvent records the drift as a Kubernetes Event on the object, where `kubectl
// describe` and event exporters show it.
func (w *Watcher) recordEvent(ctx context.Context, obj *unstructured.Unstructured, ev Event) error {
	reason, action := "DriftDetected", "reported"
	if ev.Corrected {
		reason, action = "DriftCorrected", "corrected"
	}
	by := ev.By
	if by == "" || by == Unknown {
		by = "an unknown client"
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	now := metav1.Now()
	e := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: obj.GetName() + ".gitfleet-", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(),
		},
		Reason:              reason,
		Message:             fmt.Sprintf("%s %s by %s; gitfleet %s it (app %s, drift: %s)", ev.Object, ev.Change, by, action, ev.App, map[bool]string{true: "correct", false: "alert"}[ev.Corrected]),
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: "gitfleet"},
		ReportingController: "gitfleet",
		ReportingInstance:   "gitfleet",
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	return w.manager.Client().Create(ctx, e)
}
