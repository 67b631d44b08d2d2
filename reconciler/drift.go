package reconciler

import (
	"context"
	"fmt"
	"sync"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/metadata"

	"gitfleet.dev/gitfleet/reconciler/driftwatch"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// driftWatchers keeps one drift watcher per member cluster, fed with what each apply put
// there.
type driftWatchers struct {
	conn    Connector
	opts    ApplyOptions
	onDrift func(driftwatch.Event)

	mu          sync.Mutex
	watchers    map[string]*driftwatch.Watcher
	policy      map[string]bool // App -> correct
	lastDesired map[string]map[string][]*unstructured.Unstructured
}

// pause stops drift reports on every cluster while gitfleet applies and prunes: its own
// deletions are not drift.
func (d *driftWatchers) pause() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.watchers {
		w.Pause()
	}
}

// update points every reachable cluster's watcher at what was just applied there.
func (d *driftWatchers) update(ctx context.Context, repo *schema.Repo, results []ClusterResult) {
	d.mu.Lock()
	if d.watchers == nil {
		d.watchers = map[string]*driftwatch.Watcher{}
		d.lastDesired = map[string]map[string][]*unstructured.Unstructured{}
	}
	d.policy = map[string]bool{}
	for _, a := range repo.Apps {
		d.policy[a.Metadata.Name] = a.Spec.Drift == schema.DriftCorrect
	}
	d.mu.Unlock()
	for _, r := range results {
		if r.Err != nil {
			// Unreachable: its watcher, if any, resumes with the last desired state.
			d.mu.Lock()
			w, ok := d.watchers[r.Cluster]
			d.mu.Unlock()
			if ok {
				w.SetDesired(d.lastDesired[r.Cluster])
			}
			continue
		}
		w, err := d.watcher(ctx, repo, r.Cluster)
		if err != nil {
			d.opts.Log.Error(err, "drift watch not started", "cluster", r.Cluster)
			continue
		}
		apps := map[string][]*unstructured.Unstructured{}
		for _, a := range r.Apps {
			switch {
			case a.Err == nil:
				apps[a.App] = a.Applied
			case d.lastDesired[r.Cluster] != nil:
				// Not applied this time (a render failure): it keeps what it had.
				apps[a.App] = d.lastDesired[r.Cluster][a.App]
			}
		}
		d.mu.Lock()
		d.lastDesired[r.Cluster] = apps
		d.mu.Unlock()
		w.SetDesired(apps)
	}
}

func (d *driftWatchers) correct(app string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	correct, known := d.policy[app]
	return correct || !known // generated units (namespaces, addons) are always corrected.
}

func (d *driftWatchers) watcher(ctx context.Context, repo *schema.Repo, cluster string) (*driftwatch.Watcher, error) {
	d.mu.Lock()
	w, ok := d.watchers[cluster]
	d.mu.Unlock()
	if ok {
		return w, nil
	}
	c := repo.Cluster(cluster)
	a, err := newClusterApplier(ctx, repo.Fleet.Metadata.Name, c, d.conn, d.opts)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfigAndClient(a.restConfig, a.httpClient)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", cluster, err)
	}
	manager := ssa.NewResourceManager(a.client, nil, ssa.Owner{Field: FieldManager, Group: "gitfleet.dev"})
	w = driftwatch.New(meta, a.client.RESTMapper(), manager, driftwatch.Options{
		Cluster: cluster, Fleet: repo.Fleet.Metadata.Name, FieldManager: FieldManager, LabelFleet: render.LabelFleet,
		Correct: d.correct, OnDrift: d.onDrift, Log: d.opts.Log,
	})
	d.mu.Lock()
	d.watchers[cluster] = w
	d.mu.Unlock()
	go w.Start(ctx)
	return w, nil
}
