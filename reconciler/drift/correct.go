package drift

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/ssa/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// maxRetries bounds how often a failed correction is tried again (about 16 s in all):
// after that the next reconcile applies the object.
const maxRetries = 6

// noteLimit is the longest note the API server accepts on an events.k8s.io Event.
const noteLimit = 1024

// CorrectionError is a drift that gitfleet could not correct.
type CorrectionError struct {
	Cluster, Object string
	Err             error
}

func (e *CorrectionError) Error() string {
	return fmt.Sprintf("cluster %q: applying %s again: %v", e.Cluster, e.Object, e.Err)
}

func (e *CorrectionError) Unwrap() error { return e.Err }

func (k objectKey) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

// processNext checks one object whose debounce has passed; false once the queue is shut.
func (w *Watcher) processNext(ctx context.Context) bool {
	key, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(key)
	w.check(ctx, key)
	return true
}

// check decides whether what was observed of one object is drift, then corrects it when
// the App asks for it, and reports it.
func (w *Watcher) check(ctx context.Context, key objectKey) {
	w.mu.Lock()
	obs := w.pending[key]
	delete(w.pending, key)
	d, desired := w.desired[key]
	kw := w.kinds[key.groupKind()]
	w.mu.Unlock()
	if obs == nil || !desired || kw == nil {
		// No longer desired (SetDesired dropped it, or its App) or no longer watched.
		w.queue.Forget(key)
		return
	}

	ev, regarding, err := w.decide(ctx, key, d, kw, obs)
	if err != nil {
		w.opts.Log.Error(err, "drift: reading the object failed, will look again", "cluster", w.opts.Cluster, "object", key.String())
		w.retry(key, obs)
		return
	}
	if ev == nil {
		w.queue.Forget(key)
		return
	}
	if w.opts.Correct(d.app) {
		applied, err := w.apply(ctx, d.obj)
		if err != nil {
			ev.Err = &CorrectionError{Cluster: w.opts.Cluster, Object: ev.Object, Err: err}
			first := w.queue.NumRequeues(key) == 0
			w.retry(key, obs)
			if !first {
				// Reported at the first failure; the retries only log.
				w.opts.Log.Error(ev.Err, "drift: correction failed again", "cluster", w.opts.Cluster, "object", ev.Object)
				return
			}
		} else {
			ev.Corrected = true
			regarding = applied
			w.queue.Forget(key)
			if ev.Change == Deleted && key.Group == "" && key.Kind == "Namespace" {
				w.retryNamespace(key.Name)
			}
		}
	} else {
		w.queue.Forget(key)
	}
	w.report(*ev, regarding, d.obj.GroupVersionKind())
}

// decide compares what the watch saw with the cluster and the desired object: nil when it
// is not drift. regarding is the object the Kubernetes Event is recorded on.
func (w *Watcher) decide(ctx context.Context, key objectKey, d desiredObject, kw *kindWatch, obs *observation) (ev *Event, regarding *unstructured.Unstructured, err error) {
	ev = &Event{Cluster: w.opts.Cluster, App: d.app, Object: key.String(), Change: Modified}
	lost, by := obs.lost, obs.by
	live := kw.cached(key)
	if live == nil || obs.deleted {
		if live == nil {
			// Asked rather than trusted to the cache: the object may be back already, or
			// may only have lost the fleet's label (then it left the watch, not the cluster).
			live, err = w.dyn.Resource(kw.gvr).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				ev.Change = Deleted
				regarding = obs.last
				if regarding == nil {
					regarding = d.obj
				}
				return ev, regarding, nil
			}
			if err != nil {
				return nil, nil, err
			}
		}
		if obs.last != nil {
			// Still there, or there again: what changed since the watch last saw it?
			t, err := takenFrom(obs.last, live, w.opts.FieldManager)
			if err != nil {
				return nil, nil, err
			}
			if t != nil {
				lost = unionSet(lost, t.fields)
				by = mergeSorted(by, t.by)
			}
		}
	}
	if lost == nil {
		return nil, nil, nil
	}
	owned, err := ownedBy(live, w.opts.FieldManager)
	if err != nil {
		return nil, nil, err
	}
	// Fields gitfleet owns again (a reconcile applied meanwhile) are not drift, nor fields
	// the desired state no longer has.
	lost.Difference(owned).Leaves().Iterate(func(p fieldpath.Path) {
		if inObject(d.obj.Object, p) {
			ev.Fields = append(ev.Fields, p.String())
		}
	})
	if len(ev.Fields) == 0 {
		return nil, nil, nil
	}
	slices.Sort(ev.Fields)
	ev.By = strings.Join(by, ",")
	return ev, live, nil
}

// retry looks at the object again later, with what was observed so far.
func (w *Watcher) retry(key objectKey, obs *observation) {
	if w.queue.NumRequeues(key) >= maxRetries {
		w.opts.Log.Info("drift: giving up; the next reconcile applies the object", "cluster", w.opts.Cluster, "object", key.String())
		w.queue.Forget(key)
		return
	}
	w.mu.Lock()
	if newer := w.pending[key]; newer != nil {
		newer.merge(obs)
	} else {
		w.pending[key] = obs
	}
	w.mu.Unlock()
	w.queue.AddRateLimited(key)
}

// retryNamespace retries at once the corrections waiting in a namespace that was just
// created again: they failed because it was being deleted, and need not wait out their
// backoff.
func (w *Watcher) retryNamespace(namespace string) {
	w.mu.Lock()
	var keys []objectKey
	for k := range w.pending {
		if k.Namespace == namespace {
			keys = append(keys, k)
		}
	}
	w.mu.Unlock()
	for _, k := range keys {
		w.queue.Add(k)
	}
}

// apply applies the desired object as gitfleet's apply does: server-side, under gitfleet's
// field manager, taking conflicting fields. It writes even when the values are back to the
// desired ones already: the apply takes back ownership of the fields, so that the next
// out-of-band change of them is seen again.
func (w *Watcher) apply(ctx context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	obj := desired.DeepCopy()
	utils.RemoveCABundleFromCRD(obj) // as the reconciler's apply does
	gvk := obj.GroupVersionKind()
	m, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	return w.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj,
		metav1.ApplyOptions{FieldManager: w.opts.FieldManager, Force: true})
}

// report logs the drift, records it as a Kubernetes Event on the object, and hands it to
// OnDrift.
func (w *Watcher) report(ev Event, regarding *unstructured.Unstructured, gvk schema.GroupVersionKind) {
	log := w.opts.Log.WithValues("cluster", ev.Cluster, "app", ev.App, "object", ev.Object, "change", ev.Change,
		"by", ev.By, "fields", ev.Fields, "corrected", ev.Corrected)
	if ev.Err != nil {
		log.Error(ev.Err, "drift")
	} else {
		log.Info("drift")
	}
	if regarding != nil {
		reason, kind, action := ReasonDetected, corev1.EventTypeWarning, "Report"
		if ev.Corrected {
			reason, kind, action = ReasonCorrected, corev1.EventTypeNormal, "Apply"
		}
		if regarding.GetKind() == "" {
			// The reference needs the object's kind, which list items may lack.
			regarding = regarding.DeepCopy()
			regarding.SetGroupVersionKind(gvk)
		}
		w.recorder.Eventf(regarding, nil, kind, reason, action, "%s", truncate(ev.note(), noteLimit))
	}
	w.opts.OnDrift(ev)
}

// note is the Event's text: the object is its subject already.
func (e Event) note() string {
	if ce := (*CorrectionError)(nil); errors.As(e.Err, &ce) {
		e.Err = ce.Err
	}
	return e.message()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func unionSet(a, b *fieldpath.Set) *fieldpath.Set {
	if a == nil {
		return b
	}
	return a.Union(b)
}
