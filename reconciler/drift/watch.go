package drift

import (
	"context"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"gitfleet.dev/gitfleet/render"
)

// kindWatch is the informer of one kind: a list and a watch of the fleet's objects of that
// kind, and the cache they fill.
type kindWatch struct {
	gvk      schema.GroupVersionKind
	gvr      schema.GroupVersionResource
	informer cache.SharedIndexInformer
	stop     context.CancelFunc
}

// observation is what the watch saw of one object while its drift was being gathered
// (Options.Debounce).
type observation struct {
	// deleted: the watch reported the object gone (deleted, or no longer carrying the
	// fleet's label); last is how it looked then.
	deleted bool
	last    *unstructured.Unstructured
	// lost are the fields out-of-band writes took from gitfleet; by who wrote them.
	lost *fieldpath.Set
	by   []string
}

func (o *observation) add(t *taken) {
	if o.lost == nil {
		o.lost = &fieldpath.Set{}
	}
	o.lost = o.lost.Union(t.fields)
	o.by = mergeSorted(o.by, t.by)
}

// merge folds an older observation (one whose correction is retried) into o.
func (o *observation) merge(older *observation) {
	if !o.deleted && older.deleted {
		o.deleted, o.last = true, older.last
	}
	if older.lost != nil {
		o.add(&taken{fields: older.lost, by: older.by})
	}
}

// syncWatches starts an informer for each kind in the desired set and stops the others.
func (w *Watcher) syncWatches(ctx context.Context) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()

	w.mu.Lock()
	want := map[schema.GroupKind]string{} // kind -> API version to watch it in
	for _, d := range w.desired {
		gvk := d.obj.GroupVersionKind()
		if v, ok := want[gvk.GroupKind()]; !ok || gvk.Version < v {
			want[gvk.GroupKind()] = gvk.Version
		}
	}
	have := maps.Clone(w.kinds)
	w.mu.Unlock()

	// Mapping a kind may ask the API server (discovery): done without holding mu, so
	// that watch events are not held up meanwhile.
	unmapped := false
	started := map[schema.GroupKind]*kindWatch{}
	for gk, version := range want {
		m, err := w.mapper.RESTMapping(gk, version)
		if err != nil {
			// A kind the cluster does not serve yet, typically a custom resource whose CRD
			// the same revision applies: Start tries again every few seconds.
			w.opts.Log.V(1).Info("drift: kind not served yet, will watch it once it is", "cluster", w.opts.Cluster, "kind", gk.String(), "err", err.Error())
			unmapped = true
			continue
		}
		if kw, ok := have[gk]; ok && kw.gvr == m.Resource {
			continue
		}
		started[gk] = w.watch(ctx, m.GroupVersionKind, m.Resource)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	for gk, kw := range w.kinds {
		if _, wanted := want[gk]; !wanted || started[gk] != nil {
			kw.stop()
			delete(w.kinds, gk)
		}
	}
	maps.Copy(w.kinds, started)
	w.unmapped = unmapped
}

// stopWatches stops every informer.
func (w *Watcher) stopWatches() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for gk, kw := range w.kinds {
		kw.stop()
		delete(w.kinds, gk)
	}
}

// watch starts the informer of one kind: only objects carrying the fleet's label, in
// every namespace.
func (w *Watcher) watch(ctx context.Context, gvk schema.GroupVersionKind, gvr schema.GroupVersionResource) *kindWatch {
	selector := render.LabelFleet + "=" + w.opts.Fleet
	inf := dynamicinformer.NewFilteredDynamicInformer(w.dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = selector }).Informer()
	// Status is never compared and is the bulk of many objects: not kept.
	_ = inf.SetTransform(func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			unstructured.RemoveNestedField(u.Object, "status")
		}
		return obj, nil
	})
	gk := gvk.GroupKind()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) { w.onUpdate(gk, oldObj, newObj) },
		DeleteFunc: func(obj any) { w.onDelete(gk, obj) },
	})
	kctx, cancel := context.WithCancel(ctx)
	go inf.RunWithContext(kctx)
	return &kindWatch{gvk: gvk, gvr: gvr, informer: inf, stop: cancel}
}

// onUpdate notes an update that took fields from gitfleet. Everything else (status,
// fields of other managers, gitfleet's own applies, resyncs) stops here, without a
// request to the API server.
func (w *Watcher) onUpdate(gk schema.GroupKind, oldObj, newObj any) {
	old, ok1 := oldObj.(*unstructured.Unstructured)
	cur, ok2 := newObj.(*unstructured.Unstructured)
	if !ok1 || !ok2 || old.GetResourceVersion() == cur.GetResourceVersion() {
		return
	}
	key := keyOf(gk, cur.GetNamespace(), cur.GetName())
	if !w.isDesired(key) {
		return
	}
	t, err := takenFrom(old, cur, w.opts.FieldManager)
	if err != nil {
		w.opts.Log.Error(err, "drift: cannot compare managed fields", "cluster", w.opts.Cluster, "object", key.String())
		return
	}
	if t != nil {
		w.observe(key, func(o *observation) { o.add(t) })
	}
}

// onDelete notes that an object left the watch.
func (w *Watcher) onDelete(gk schema.GroupKind, obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := keyOf(gk, u.GetNamespace(), u.GetName())
	w.observe(key, func(o *observation) { o.deleted, o.last = true, u })
}

func (w *Watcher) isDesired(key objectKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.desired[key]
	return ok
}

// observe records what was seen of a desired object and schedules its check after the
// debounce. The delay counts from the first event: later events of the same object join
// the scheduled check without postponing it, so steady writes cannot delay detection.
func (w *Watcher) observe(key objectKey, note func(*observation)) {
	w.mu.Lock()
	if _, ok := w.desired[key]; !ok {
		w.mu.Unlock()
		return
	}
	o := w.pending[key]
	if o == nil {
		o = &observation{}
		w.pending[key] = o
	}
	note(o)
	w.mu.Unlock()
	w.queue.AddAfter(key, w.opts.Debounce)
}

// cached is the object as the informer last saw it, or nil.
func (kw *kindWatch) cached(key objectKey) *unstructured.Unstructured {
	id := key.Name
	if key.Namespace != "" {
		id = key.Namespace + "/" + key.Name
	}
	obj, ok, err := kw.informer.GetIndexer().GetByKey(id)
	if err != nil || !ok {
		return nil
	}
	u, _ := obj.(*unstructured.Unstructured)
	return u
}

// mergeSorted is the sorted union of two lists of names.
func mergeSorted(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
