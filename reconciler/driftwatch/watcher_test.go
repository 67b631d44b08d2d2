package driftwatch

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"gitfleet.dev/gitfleet/test/harness"
)

func configMap(ns, name, value string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"gitfleet.dev/fleet": "drift", "gitfleet.dev/app": "web"}},
		"data":     map[string]any{"value": value},
	}}
	return u
}

type recorder struct {
	mu     sync.Mutex
	events []Event
	at     []time.Time
	// matches are the Matches events, kept apart: every unchanged check of an alert-only
	// object sends one.
	matches []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Change == Matches {
		r.matches = append(r.matches, e)
		return
	}
	r.events, r.at = append(r.events, e), append(r.at, time.Now())
}

// waitMatch waits for a Matches event of object.
func (r *recorder) waitMatch(t *testing.T, object string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, e := range r.matches {
			if e.Object == object {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no event saying %s matches the desired state again within %s", object, within)
}

func (r *recorder) wait(t *testing.T, n int, within time.Duration) []Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.events) >= n {
			out := append([]Event(nil), r.events...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d drift event(s) within %s, want %d", len(r.events), within, n)
	return nil
}

func setup(t *testing.T, cfg *rest.Config, correct bool) (client.Client, *recorder, *Watcher) {
	t.Helper()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	mgr := ssa.NewResourceManager(c, polling.NewStatusPoller(c, mapper, polling.Options{}), ssa.Owner{Field: "gitfleet", Group: "gitfleet.dev"})
	rec := &recorder{}
	w := New(meta, mapper, mgr, Options{Cluster: "a", Fleet: "drift", FieldManager: "gitfleet", LabelFleet: "gitfleet.dev/fleet",
		Correct: func(string) bool { return correct }, OnDrift: rec.add})
	return c, rec, w
}

func TestDrift(t *testing.T) {
	env := harness.StartT(t, harness.Options{Clusters: []string{"a"}})
	cfg := env.Cluster("a").RESTConfig()
	for _, tc := range []struct {
		name    string
		correct bool
	}{{"correct", true}, {"alert", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, rec, w := setup(t, cfg, tc.correct)
			ns := "drift-" + tc.name
			if err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				t.Fatal(err)
			}
			desired := configMap(ns, "settings", "v1")
			if err := c.Patch(t.Context(), desired.DeepCopy(), client.Apply, client.FieldOwner("gitfleet"), client.ForceOwnership); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			w.SetDesired(map[string][]*unstructured.Unstructured{"web": {desired}})
			go w.Start(ctx)
			time.Sleep(500 * time.Millisecond) // informers list and watch

			// gitfleet applying again is not drift; nor is an annotation it does not manage.
			if err := c.Patch(t.Context(), desired.DeepCopy(), client.Apply, client.FieldOwner("gitfleet"), client.ForceOwnership); err != nil {
				t.Fatal(err)
			}
			var live corev1.ConfigMap
			if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &live); err != nil {
				t.Fatal(err)
			}
			live.Annotations = map[string]string{"note": "checked by alice"}
			if err := c.Update(t.Context(), &live, client.FieldOwner("kubectl-annotate")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			if n := len(rec.events); n != 0 {
				t.Fatalf("%d drift events for gitfleet's own apply and an unmanaged annotation: %+v", n, rec.events)
			}

			// kubectl edit of a managed field.
			if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &live); err != nil {
				t.Fatal(err)
			}
			live.Data["value"] = "edited"
			start := time.Now()
			if err := c.Update(t.Context(), &live, client.FieldOwner("kubectl-edit")); err != nil {
				t.Fatal(err)
			}
			ev := rec.wait(t, 1, 5*time.Second)[0]
			t.Logf("modification detected after %s", rec.at[0].Sub(start))
			if ev.Change != Modified || ev.Corrected != tc.correct || ev.By != "kubectl-edit" || ev.Object != "ConfigMap/"+ns+"/settings" || ev.App != "web" {
				t.Errorf("event %+v", ev)
			}
			if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &live); err != nil {
				t.Fatal(err)
			}
			want := "edited"
			if tc.correct {
				want = "v1"
			}
			if live.Data["value"] != want {
				t.Errorf("value after the drift %q, want %q", live.Data["value"], want)
			}
			var events corev1.EventList
			if err := c.List(t.Context(), &events, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			wantReason := map[bool]string{true: "DriftCorrected", false: "DriftDetected"}[tc.correct]
			if len(events.Items) == 0 || events.Items[0].Reason != wantReason || events.Items[0].InvolvedObject.Name != "settings" || !strings.Contains(events.Items[0].Message, "kubectl-edit") {
				t.Errorf("Kubernetes Events %+v, want one with reason %s naming kubectl-edit", events.Items, wantReason)
			}

			if !tc.correct {
				// Put back by hand: the report can be closed.
				live.Data["value"] = "v1"
				if err := c.Update(t.Context(), &live, client.FieldOwner("kubectl-edit")); err != nil {
					t.Fatal(err)
				}
				rec.waitMatch(t, "ConfigMap/"+ns+"/settings", 5*time.Second)
			}

			// Deletion.
			start = time.Now()
			if err := c.Delete(t.Context(), &live); err != nil {
				t.Fatal(err)
			}
			ev = rec.wait(t, 2, 5*time.Second)[1]
			t.Logf("deletion detected after %s", rec.at[1].Sub(start))
			// Nothing in the cluster says who deleted it: gitfleet says it does not know,
			// rather than naming the last writer (itself).
			if ev.Change != Deleted || ev.Corrected != tc.correct || ev.By != Unknown {
				t.Errorf("event %+v, want a deletion by %q", ev, Unknown)
			}
			err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "settings"}, &live)
			if tc.correct && err != nil {
				t.Errorf("deleted object not recreated: %v", err)
			}
			if !tc.correct && !apierrors.IsNotFound(err) {
				t.Errorf("drift: alert recreated the deleted object (err %v)", err)
			}
			if !tc.correct {
				// Someone creates it again as it was: it matches again.
				rec.mu.Lock()
				rec.matches = nil
				rec.mu.Unlock()
				if err := c.Patch(t.Context(), desired.DeepCopy(), client.Apply, client.FieldOwner("kubectl-client-side-apply"), client.ForceOwnership); err != nil {
					t.Fatal(err)
				}
				rec.waitMatch(t, "ConfigMap/"+ns+"/settings", 5*time.Second)
			}

			// An App removed from the desired set is no longer watched.
			w.SetDesired(nil)
			if err := c.Patch(t.Context(), configMap(ns, "settings", "v3"), client.Apply, client.FieldOwner("someone"), client.ForceOwnership); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			if n := len(rec.events); n != 2 {
				t.Errorf("%d events after the App left the desired set, want still 2", n)
			}
		})
	}
}

func TestModifiedBy(t *testing.T) {
	at := func(sec int) *metav1.Time {
		tm := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC))
		return &tm
	}
	entry := func(manager string, sec int) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Time: at(sec), Operation: metav1.ManagedFieldsOperationUpdate}
	}
	for _, tc := range []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		by      string
		ours    bool
	}{
		{"gitfleet newest", []metav1.ManagedFieldsEntry{entry("kubectl-edit", 1), entry("gitfleet", 2)}, "gitfleet", true},
		// Timestamps are whole seconds: an edit in the same second as gitfleet's apply
		// is an edit, not gitfleet's own write.
		{"same second", []metav1.ManagedFieldsEntry{entry("gitfleet", 2), entry("kubectl-edit", 2)}, "kubectl-edit", false},
		{"edit after", []metav1.ManagedFieldsEntry{entry("gitfleet", 2), entry("kube-controller-manager", 1), entry("kubectl-edit", 3)}, "kubectl-edit", false},
		{"no gitfleet entry", []metav1.ManagedFieldsEntry{entry("helm", 1)}, "helm", false},
		{"nothing recorded", nil, Unknown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := configMap("ns", "x", "v")
			u.SetManagedFields(tc.entries)
			by, ours := ModifiedBy(u, "gitfleet")
			if by != tc.by || ours != tc.ours {
				t.Errorf("ModifiedBy = %q, %v; want %q, %v", by, ours, tc.by, tc.ours)
			}
		})
	}
}
