package drift

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Change is what happened to an object gitfleet applied.
type Change string

const (
	// Modified: a field gitfleet manages was changed or removed by someone else.
	Modified Change = "modified"
	// Deleted: the object was deleted.
	Deleted Change = "deleted"
)

// Event is one drift.
type Event struct {
	Cluster, App string
	// Object is Kind/namespace/name (Kind/name for cluster-scoped objects), as in the
	// apply engine's change sets.
	Object string
	Change Change
	// By names the field managers the change is recorded under, comma-separated
	// ("kubectl-edit"). Empty for deletions and for writes that only removed fields: the
	// API server does not record who did those.
	By string
	// Fields are the fields gitfleet manages that the change touched, as the API server
	// names them (".data.key"); empty for deletions.
	Fields []string
	// Corrected is true when the desired state was applied again.
	Corrected bool
	// Err is a failed correction (a *CorrectionError).
	Err error
}

// String is the drift in one line, as Kubernetes Events, logs and notifications show it.
func (e Event) String() string {
	return e.Object + ": " + e.message()
}

func (e Event) message() string {
	var b strings.Builder
	switch e.Change {
	case Deleted:
		b.WriteString("deleted")
	default:
		b.WriteString(joinFields(e.Fields))
		b.WriteString(" changed by ")
		if e.By != "" {
			b.WriteString(e.By)
		} else {
			b.WriteString("an unrecorded field manager (the API server records no owner for a removed field)")
		}
	}
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "; correcting it failed: %v", e.Err)
	case e.Corrected:
		b.WriteString("; the desired state was applied again")
	default:
		b.WriteString("; not corrected (drift: alert)")
	}
	return b.String()
}

// joinFields names at most a few fields: an Event note is limited to 1 kB.
func joinFields(fields []string) string {
	const most = 5
	if len(fields) <= most {
		return strings.Join(fields, ", ")
	}
	return fmt.Sprintf("%s and %d more fields", strings.Join(fields[:most], ", "), len(fields)-most)
}

// Options configure a Watcher.
type Options struct {
	// Cluster names the member cluster in reported drift.
	Cluster string
	// Fleet selects what is watched: only objects labelled gitfleet.dev/fleet=<Fleet>.
	Fleet string
	// FieldManager is gitfleet's server-side apply field manager ("gitfleet"): its own
	// writes are never drift, and corrections are applied under it.
	FieldManager string
	// Correct is an App's drift policy: true re-applies (drift: correct), false only
	// reports (drift: alert). Asked at each drift, so a policy change needs no restart.
	// Nil reports only.
	Correct func(app string) bool
	// OnDrift is called for every drift, after the correction when there is one. It may
	// be called from several goroutines at once, and should return quickly.
	OnDrift func(Event)
	// Debounce is how long the events of one object are gathered into one drift, counted
	// from the first: a kubectl edit or a controller often writes several times in a row.
	// Zero means DefaultDebounce.
	Debounce time.Duration
	Log      logr.Logger
}

// DefaultDebounce gathers the writes of one command into one drift while keeping detection
// well within the two seconds gitfleet aims for.
const DefaultDebounce = 200 * time.Millisecond

// ReportingController is the reportingController of the Kubernetes Events gitfleet records.
const ReportingController = "gitfleet"

// Reasons of the Kubernetes Events recorded on drifted objects.
const (
	ReasonCorrected = "DriftCorrected"
	ReasonDetected  = "DriftDetected"
)

// workers bounds how many drifts are checked and corrected at once.
const workers = 4

// Watcher watches the objects gitfleet applied to one member cluster.
type Watcher struct {
	opts   Options
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	sink   events.EventSink
	queue  workqueue.TypedRateLimitingInterface[objectKey]
	// recorder records Kubernetes Events; set by Start before its workers start.
	recorder events.EventRecorder

	// syncMu serialises syncWatches, which talks to the API server without holding mu.
	syncMu sync.Mutex

	mu      sync.Mutex
	desired map[objectKey]desiredObject
	kinds   map[schema.GroupKind]*kindWatch
	pending map[objectKey]*observation
	// ctx is Start's context; nil before Start.
	ctx context.Context
	// unmapped is set while a desired kind is unknown to the cluster (a CRD not applied
	// yet), so that syncWatches tries again.
	unmapped bool
}

// objectKey identifies an object across API versions.
type objectKey struct {
	Group, Kind, Namespace, Name string
}

func keyOf(gk schema.GroupKind, namespace, name string) objectKey {
	return objectKey{Group: gk.Group, Kind: gk.Kind, Namespace: namespace, Name: name}
}

func (k objectKey) groupKind() schema.GroupKind {
	return schema.GroupKind{Group: k.Group, Kind: k.Kind}
}

// desiredObject is one object as gitfleet applied it, and its App.
type desiredObject struct {
	app string
	obj *unstructured.Unstructured
}

// New makes a watcher for the cluster cfg points at. It does not contact the cluster;
// Start does.
func New(cfg *rest.Config, opts Options) (*Watcher, error) {
	if opts.Fleet == "" {
		return nil, errors.New("drift: Options.Fleet is required: it selects the objects to watch")
	}
	if opts.FieldManager == "" {
		return nil, errors.New("drift: Options.FieldManager is required: it tells gitfleet's own writes apart")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Correct == nil {
		opts.Correct = func(string) bool { return false }
	}
	if opts.OnDrift == nil {
		opts.OnDrift = func(Event) {}
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("drift: cluster %q: building HTTP client: %w", opts.Cluster, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("drift: cluster %q: building dynamic client: %w", opts.Cluster, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("drift: cluster %q: building REST mapper: %w", opts.Cluster, err)
	}
	ev, err := eventsv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("drift: cluster %q: building events client: %w", opts.Cluster, err)
	}
	return &Watcher{
		opts:   opts,
		dyn:    dyn,
		mapper: mapper,
		sink:   &events.EventSinkImpl{Interface: ev},
		// A failed correction is retried after 250 ms, 500 ms, ... up to 8 s apart: long
		// enough to outlast a namespace that is being deleted and re-created.
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[objectKey](250*time.Millisecond, 8*time.Second)),
		desired: map[objectKey]desiredObject{},
		kinds:   map[schema.GroupKind]*kindWatch{},
		pending: map[objectKey]*observation{},
	}, nil
}

// SetDesired replaces what the cluster must hold: per App, the objects as gitfleet
// applies them (namespaces filled in). Objects no longer listed stop being watched, and
// kinds no longer listed stop being listed and watched.
//
// Call it with a revision's objects before applying and pruning them: from then on
// gitfleet's own writes are recognised, and objects the revision prunes are no longer
// expected (a deletion of an object still listed is drift, and corrected by re-creating it).
func (w *Watcher) SetDesired(apps map[string][]*unstructured.Unstructured) {
	desired := map[objectKey]desiredObject{}
	// Sorted, so that an object two Apps render (which validation should have refused)
	// belongs to the same App every time.
	for _, app := range slices.Sorted(maps.Keys(apps)) {
		for _, o := range apps[app] {
			k := keyOf(o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName())
			desired[k] = desiredObject{app: app, obj: o.DeepCopy()}
		}
	}
	w.mu.Lock()
	w.desired = desired
	ctx := w.ctx
	w.mu.Unlock()
	if ctx != nil {
		w.syncWatches(ctx)
	}
}

// Start watches until ctx ends. It returns an error only when the watcher cannot run.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	if w.ctx != nil {
		w.mu.Unlock()
		return fmt.Errorf("drift: cluster %q: watcher started twice", w.opts.Cluster)
	}
	w.ctx = ctx
	w.mu.Unlock()

	broadcaster := events.NewBroadcaster(w.sink)
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		return fmt.Errorf("drift: cluster %q: recording events: %w", w.opts.Cluster, err)
	}
	defer broadcaster.Shutdown()
	// Set before the workers start, which are its only readers.
	w.recorder = broadcaster.NewRecorder(nil, ReportingController)

	w.syncWatches(ctx)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w.processNext(ctx) {
			}
		})
	}
	retry := time.NewTicker(2 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			w.queue.ShutDown()
			w.stopWatches()
			wg.Wait()
			return nil
		case <-retry.C:
			w.mu.Lock()
			again := w.unmapped
			w.mu.Unlock()
			if again {
				w.syncWatches(ctx)
			}
		}
	}
}

// HasSynced tells whether every desired kind is being watched and its initial list has
// been read: changes made from then on are seen.
func (w *Watcher) HasSynced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return false
	}
	for _, d := range w.desired {
		kw := w.kinds[d.obj.GroupVersionKind().GroupKind()]
		if kw == nil || !kw.informer.HasSynced() {
			return false
		}
	}
	return true
}
