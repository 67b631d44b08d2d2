package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/gitrepo"
)

// fleet is a test's fleet repository and the means to apply it.
type fleet struct {
	t    *testing.T
	name string
	repo *gitrepo.Repo
	conn *countingConnector
	// render are the options of each apply's renderer (a chart fetcher, say).
	render render.Options
}

// newFleet makes a git repository whose Fleet is named after the test, with both harness
// clusters declared.
func newFleet(t *testing.T, name string) *fleet {
	t.Helper()
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	inner, err := reconciler.NewKubeconfigConnector(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, name: name, repo: repo, conn: &countingConnector{inner: inner}}
	f.write(map[string]string{
		"fleet.yaml":          fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: %s\nspec:\n  healthTimeout: 20s\n", name),
		"clusters/alpha.yaml": clusterYAML(alpha),
		"clusters/beta.yaml":  clusterYAML(beta),
	})
	return f
}

func clusterYAML(name string) string {
	return fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: %s\n  labels:\n    env: test\nspec:\n  version: \"1.37.2\"\n", name)
}

// appYAML declares a kustomize App at apps/NAME targeting every cluster.
func appYAML(name string, dependsOn ...string) string {
	s := fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: %s\nspec:\n  source:\n    kustomize:\n      path: apps/%s\n  targets:\n    selector:\n      matchLabels: {env: test}\n", name, name)
	if len(dependsOn) > 0 {
		s += fmt.Sprintf("  dependsOn: [%s]\n", strings.Join(dependsOn, ", "))
	}
	return s
}

func kustomization(resources ...string) string {
	return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + strings.Join(resources, "\n- ") + "\n"
}

func configMap(ns, name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  value: %q\n", name, ns, value)
}

func namespace(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", name)
}

func (f *fleet) write(files map[string]string) {
	f.t.Helper()
	if err := f.repo.Write(files); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) commit(files map[string]string) string {
	f.t.Helper()
	f.write(files)
	rev, err := f.repo.Commit(f.t.Name())
	if err != nil {
		f.t.Fatal(err)
	}
	return rev
}

// apply applies HEAD with the CLI's defaults and returns the results by cluster name.
func (f *fleet) apply(mutate ...func(*reconciler.ApplyOptions)) map[string]reconciler.ClusterResult {
	f.t.Helper()
	ctx := f.t.Context()
	snap, err := reconciler.OpenSnapshot(ctx, f.repo.Dir, "")
	if err != nil {
		f.t.Fatal(err)
	}
	repo, err := schema.Load(ctx, snap.FS)
	if err != nil {
		f.t.Fatalf("fleet repo does not load: %v", err)
	}
	r, err := render.NewWithOptions(ctx, snap.FS, repo, f.render)
	if err != nil {
		f.t.Fatal(err)
	}
	opts := reconciler.DefaultApplyOptions()
	opts.HealthTimeout = repo.Fleet.Spec.HealthTimeout.Duration
	for _, m := range mutate {
		m(&opts)
	}
	results, err := reconciler.Apply(ctx, repo, r, f.conn, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]reconciler.ClusterResult{}
	for _, res := range results {
		out[res.Cluster] = res
	}
	return out
}

// actions flattens a cluster result into "app: Kind/namespace/name action" lines, the
// exact record of what an apply did.
func actions(r reconciler.ClusterResult) []string {
	var out []string
	for _, a := range r.Apps {
		for _, e := range a.Changes {
			out = append(out, fmt.Sprintf("%s: %s %s", a.App, e.Subject, e.Action))
		}
	}
	for _, e := range r.Pruned {
		out = append(out, fmt.Sprintf("(removed app): %s %s", e.Subject, e.Action))
	}
	return out
}

func requireNoErrors(t *testing.T, results map[string]reconciler.ClusterResult) {
	t.Helper()
	for name, r := range results {
		for _, err := range r.Errors() {
			t.Errorf("cluster %s: unexpected error: %v", name, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func requireActions(t *testing.T, cluster string, got reconciler.ClusterResult, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, actions(got)); diff != "" {
		t.Errorf("cluster %s: actions (-want +got):\n%s", cluster, diff)
	}
}

// clientFor returns a plain client of a harness cluster, for checking what is there.
func clientFor(t *testing.T, cluster string) client.Client {
	t.Helper()
	c, err := client.New(env.Cluster(cluster).RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countingConnector counts the requests that change a cluster, so tests can prove that an
// apply of an unchanged revision writes nothing.
type countingConnector struct {
	inner reconciler.Connector
	mu    sync.Mutex
	// writes lists "METHOD path" of POST, PUT, DELETE and non-dry-run PATCH requests.
	writes  []string
	dryRuns int
	// lists is "cluster path Accept" of the requests that list ConfigMaps.
	lists []string
}

func (c *countingConnector) RESTConfig(cl *schema.Cluster) (*rest.Config, error) {
	cfg, err := c.inner.RESTConfig(cl)
	if err != nil {
		return nil, err
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			c.record(cl.Metadata.Name, req)
			return rt.RoundTrip(req)
		})
	})
	return cfg, nil
}

func (c *countingConnector) record(cluster string, req *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/configmaps") && req.URL.Query().Get("watch") == "":
		c.lists = append(c.lists, fmt.Sprintf("%s %s %s", cluster, req.URL.Path, req.Header.Get("Accept")))
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
	case req.Method == http.MethodPatch && req.URL.Query().Get("dryRun") == "All":
		c.dryRuns++
	default:
		c.writes = append(c.writes, fmt.Sprintf("%s %s %s", cluster, req.Method, req.URL.Path))
	}
}

func (c *countingConnector) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes, c.dryRuns, c.lists = nil, 0, nil
}

// dryRunRequests is how many dry-run PATCH requests were sent since the last reset.
func (c *countingConnector) dryRunRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dryRuns
}

// configMapLists lists "cluster path Accept" of the ConfigMap lists since the last reset.
func (c *countingConnector) configMapLists() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lists...)
}

func (c *countingConnector) writeRequests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newConfigMap() *corev1.ConfigMap { return &corev1.ConfigMap{} }

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
