package reconcilebench

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/harness"
)

const (
	driftNS = "drift-bench"
	// editsPerOp hand edits make one op, so that even one op gives a median and a worst
	// worth the name.
	editsPerOp = 20
	// driftObjects per app: the edits go round them, so each edit is of an object nobody
	// touched just before, as a person's edit usually is.
	driftObjects = 20
	// desiredValue is what git says every edited ConfigMap holds.
	desiredValue = "from-git"
	// editor is the field manager of the hand edits, as kubectl edit would be.
	editor = "kubectl-edit"
	// driftWait bounds each wait: far above any latency worth measuring, so passing it means
	// the drift was missed.
	driftWait = 30 * time.Second
)

// BenchmarkDriftDetection hand-edits objects gitfleet applied to a real API server, one at
// a time, as another field manager (kubectl-edit), while a Loop watches for drift:
//
//   - alert: edits of a `drift: alert` app's ConfigMaps; the time from sending the edit to
//     gitfleet reporting the drift (LoopOptions.Notify), next to the time a plain client-go
//     informer on the same objects sees the same edit: the floor of any watch-based
//     detector. Goal: median under 1 s.
//   - correct: edits of a `drift: correct` app's ConfigMaps; the time from sending the edit
//     until the object holds git's value again, next to a minimal corrector (an informer
//     that answers each change with one server-side apply) correcting an edit of objects it
//     owns. Both are timed by one more informer, the same instrument. Goal: median under
//     100 ms.
//
// One op is editsPerOp edits; the metrics are median and worst over all of them, in ms.
func BenchmarkDriftDetection(b *testing.B) {
	env := harness.StartT(b, harness.Options{Clusters: []string{"c00"}})
	cs, err := kubernetes.NewForConfig(env.Clusters[0].RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	conn, err := reconciler.NewKubeconfigConnector(env.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	reports := map[string]chan time.Time{"watched-alert": make(chan time.Time, editsPerOp), "watched-correct": make(chan time.Time, editsPerOp)}
	// resolved hears the alert app's drift ending: a report is sent when a drift starts,
	// so each timed edit must begin from an object that matches git again.
	resolved := make(chan time.Time, editsPerOp)
	loop := reconciler.NewLoop(reconciler.LoopOptions{
		Source: oneRevision{driftFleet(env)}, Connector: conn, Apply: reconciler.DefaultApplyOptions(),
		Interval: time.Hour, WatchDrift: true,
		Notify: func(_ context.Context, _ *schema.Repo, d reconciler.DriftReport) {
			at := time.Now()
			if d.Resolved {
				if d.App == "watched-alert" {
					select {
					case resolved <- at:
					default:
					}
				}
				return
			}
			if ch, ok := reports[d.App]; ok {
				select {
				case ch <- at:
				default:
				}
			}
		},
	})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Start(ctx) }()
	b.Cleanup(func() { cancel(); <-done })

	obs := watchValues(b, cs)
	baselineCorrector(b, cs)
	obs.waitFor(b, "alert-00", func(v string) bool { return v == desiredValue }) // the first apply
	edits := &handEditor{cs: cs}

	b.Run("alert", func(b *testing.B) {
		ch := reports["watched-alert"]
		// The drift watch starts after the first apply; until its informers have listed,
		// an edit is part of what they list, not an event. Edit until one is reported.
		warmUp(b, func() bool {
			edits.edit(b, "alert-00")
			select {
			case <-ch:
				return true
			case <-time.After(time.Second):
				return false
			}
		})
		restore(b, edits, "alert-00", resolved)
		var detect, floor []time.Duration
		for b.Loop() {
			for k := range editsPerOp {
				name := fmt.Sprintf("alert-%02d", k%driftObjects)
				drain(ch)
				value := edits.next()
				seen := obs.expect(name, func(v string) bool { return v == value })
				sent := time.Now()
				edits.set(b, name, value)
				select {
				case at := <-ch:
					detect = append(detect, at.Sub(sent))
				case <-time.After(driftWait):
					b.Fatalf("the edit of %s was not reported as drift within %s", name, driftWait)
				}
				floor = append(floor, seen.wait(b).Sub(sent))
				restore(b, edits, name, resolved)
			}
		}
		report(b, "detect", detect, "baseline-informer", floor)
	})

	b.Run("correct", func(b *testing.B) {
		warmUp(b, func() bool {
			back := obs.expect("correct-00", correctedAfterEdit())
			edits.edit(b, "correct-00")
			_, ok := back.waitUpTo(time.Second)
			return ok
		})
		var correct, floor []time.Duration
		for b.Loop() {
			for k := range editsPerOp {
				i := k % driftObjects
				correct = append(correct, timeCorrection(b, obs, edits, fmt.Sprintf("correct-%02d", i)))
				floor = append(floor, timeCorrection(b, obs, edits, fmt.Sprintf("baseline-%02d", i)))
			}
		}
		report(b, "correct", correct, "baseline-corrector", floor)
	})
}

// restore puts git's value back into an alert app's object and waits until gitfleet
// reports that drift resolved, so the next edit of it is a new drift.
func restore(b *testing.B, edits *handEditor, name string, resolved chan time.Time) {
	b.Helper()
	drain(resolved)
	edits.set(b, name, desiredValue)
	select {
	case <-resolved:
	case <-time.After(driftWait):
		b.Fatalf("restoring %s was not reported as the drift resolved within %s", name, driftWait)
	}
}

// timeCorrection edits the ConfigMap and returns how long until it holds git's value again.
func timeCorrection(b *testing.B, obs *observer, edits *handEditor, name string) time.Duration {
	back := obs.expect(name, correctedAfterEdit())
	sent := time.Now()
	edits.edit(b, name)
	at, ok := back.waitUpTo(driftWait)
	if !ok {
		b.Fatalf("%s was not corrected within %s", name, driftWait)
	}
	return at.Sub(sent)
}

// correctedAfterEdit matches the first value equal to git's after one that was not.
func correctedAfterEdit() func(string) bool {
	edited := false
	return func(v string) bool {
		if v != desiredValue {
			edited = true
		}
		return edited && v == desiredValue
	}
}

// warmUp calls try until it succeeds, for at most driftWait.
func warmUp(b *testing.B, try func() bool) {
	b.Helper()
	deadline := time.Now().Add(driftWait)
	for !try() {
		if time.Now().After(deadline) {
			b.Fatalf("no drift noticed within %s of the first apply", driftWait)
		}
	}
}

func drain(ch chan time.Time) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// report states the median and worst of both series, and the ratio of the medians.
func report(b *testing.B, metric string, got []time.Duration, baseline string, floor []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	med, worst := medianWorst(got)
	bmed, bworst := medianWorst(floor)
	b.ReportMetric(ms(med), metric+"-median-ms")
	b.ReportMetric(ms(worst), metric+"-worst-ms")
	b.ReportMetric(ms(bmed), baseline+"-median-ms")
	b.ReportMetric(ms(bworst), baseline+"-worst-ms")
	b.ReportMetric(float64(med)/float64(bmed), metric+"-x-baseline")
}

func medianWorst(d []time.Duration) (median, worst time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

// driftFleet is one cluster with a `drift: alert` app and a `drift: correct` app of
// driftObjects ConfigMaps each, in a namespace a third app makes.
func driftFleet(env *harness.Env) fstest.MapFS {
	cluster := env.Clusters[0].Name
	files := fstest.MapFS{
		"fleet.yaml":                                 {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: bench-drift\n")},
		"clusters/" + cluster + ".yaml":              {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: " + cluster + "\n")},
		"apps/drift-ns/app.yaml":                     {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: drift-ns\nspec:\n  source:\n    kustomize:\n      path: apps/drift-ns/manifests\n  targets:\n    selector: {}\n")},
		"apps/drift-ns/manifests/kustomization.yaml": {Data: []byte("resources:\n- ns.yaml\n")},
		"apps/drift-ns/manifests/ns.yaml":            {Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + driftNS + "\n")},
	}
	for _, policy := range []string{"alert", "correct"} {
		dir := "apps/watched-" + policy + "/"
		files[dir+"app.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: watched-%s\nspec:\n  namespace: %s\n  drift: %s\n  dependsOn: [drift-ns]\n  source:\n    kustomize:\n      path: %smanifests\n  targets:\n    selector: {}\n", policy, driftNS, policy, dir))}
		var res []string
		for i := range driftObjects {
			name := fmt.Sprintf("%s-%02d", policy, i)
			res = append(res, name+".yaml")
			files[dir+"manifests/"+name+".yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %s\n", name, desiredValue))}
		}
		files[dir+"manifests/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources:\n- " + strings.Join(res, "\n- ") + "\n")}
	}
	return files
}

// oneRevision is a fleet repository that never changes: the loop applies it once.
type oneRevision struct{ files fs.FS }

func (s oneRevision) Fetch(context.Context) (string, error) { return "bench", nil }
func (s oneRevision) Snapshot(context.Context, string) (fs.FS, error) {
	return s.files, nil
}
func (s oneRevision) SourceRevision(_ context.Context, rev string) (string, error) {
	return rev, nil
}

// editor makes the hand edits: an update of data.value by the kubectl-edit field manager.
type handEditor struct {
	cs kubernetes.Interface
	n  int
}

// next is a value no edit used before.
func (e *handEditor) next() string {
	e.n++
	return fmt.Sprintf("edited-%d", e.n)
}

func (e *handEditor) edit(b *testing.B, name string) { e.set(b, name, e.next()) }

func (e *handEditor) set(b *testing.B, name, value string) {
	b.Helper()
	patch := fmt.Appendf(nil, `{"data":{"value":%q}}`, value)
	if _, err := e.cs.CoreV1().ConfigMaps(driftNS).Patch(b.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: editor}); err != nil {
		b.Fatalf("editing %s: %v", name, err)
	}
}

// observer is a plain informer on the namespace's ConfigMaps: the baseline detector, and
// the clock of corrections.
type observer struct {
	store cache.Store
	mu    sync.Mutex
	waits map[string]*valueWait
}

type valueWait struct {
	match func(string) bool
	at    time.Time
	done  chan struct{}
}

func watchValues(b *testing.B, cs kubernetes.Interface) *observer {
	o := &observer{waits: map[string]*valueWait{}}
	inf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(driftNS)).Core().V1().ConfigMaps().Informer()
	o.store = inf.GetStore()
	see := func(obj any) {
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.see(cm, time.Now())
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: see, UpdateFunc: func(_, obj any) { see(obj) }})
	stop := make(chan struct{})
	b.Cleanup(func() { close(stop) })
	go inf.Run(stop)
	if !cache.WaitForCacheSync(b.Context().Done(), inf.HasSynced) {
		b.Fatal("the observing informer did not sync")
	}
	return o
}

// see ends the wait for cm if its value matches; o.mu is held.
func (o *observer) see(cm *corev1.ConfigMap, at time.Time) {
	if w := o.waits[cm.Name]; w != nil && w.match(cm.Data["value"]) {
		w.at = at
		close(w.done)
		delete(o.waits, cm.Name)
	}
}

// expect starts waiting for the named ConfigMap to hold a matching value; what it holds
// now counts.
func (o *observer) expect(name string, match func(string) bool) *valueWait {
	w := &valueWait{match: match, done: make(chan struct{})}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waits[name] = w
	if obj, ok, _ := o.store.GetByKey(driftNS + "/" + name); ok {
		o.see(obj.(*corev1.ConfigMap), time.Now())
	}
	return w
}

// waitFor waits until the named ConfigMap holds a matching value.
func (o *observer) waitFor(b *testing.B, name string, match func(string) bool) {
	b.Helper()
	if _, ok := o.expect(name, match).waitUpTo(driftWait); !ok {
		b.Fatalf("%s never held the value wanted", name)
	}
}

func (w *valueWait) wait(b *testing.B) time.Time {
	b.Helper()
	at, ok := w.waitUpTo(driftWait)
	if !ok {
		b.Fatalf("the informer did not see the value within %s", driftWait)
	}
	return at
}

func (w *valueWait) waitUpTo(d time.Duration) (time.Time, bool) {
	select {
	case <-w.done:
		return w.at, true
	case <-time.After(d):
		return time.Time{}, false
	}
}

// baselineCorrector creates driftObjects ConfigMaps gitfleet does not manage and keeps
// them at git's value the most direct way: an informer that answers every change by
// someone else with one server-side apply.
func baselineCorrector(b *testing.B, cs kubernetes.Interface) {
	const owner = "baseline-corrector"
	apply := func(ctx context.Context, name string) error {
		patch := fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"labels":{"bench":"baseline"}},"data":{"value":%q}}`, name, desiredValue)
		force := true
		_, err := cs.CoreV1().ConfigMaps(driftNS).Patch(ctx, name, types.ApplyPatchType, patch, metav1.PatchOptions{FieldManager: owner, Force: &force})
		return err
	}
	// The namespace is gitfleet's: wait for the first apply to make it.
	deadline := time.Now().Add(driftWait)
	for {
		_, err := cs.CoreV1().Namespaces().Get(b.Context(), driftNS, metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("namespace %s: %v", driftNS, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range driftObjects {
		if err := apply(b.Context(), fmt.Sprintf("baseline-%02d", i)); err != nil {
			b.Fatal(err)
		}
	}
	inf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(driftNS), informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = "bench=baseline"
	})).Core().V1().ConfigMaps().Informer()
	ctx := b.Context()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, obj any) {
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Data["value"] != desiredValue {
			// A failed correction shows as a timeout of the wait for it.
			_ = apply(ctx, cm.Name)
		}
	}})
	stop := make(chan struct{})
	b.Cleanup(func() { close(stop) })
	go inf.Run(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		b.Fatal("the baseline corrector's informer did not sync")
	}
}
