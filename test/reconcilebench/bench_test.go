package reconcilebench

import (
	"context"

	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/harness"
)

const (
	clusters          = 10
	objectsPerCluster = 1000
)

// counter counts the requests that reach the member clusters, by kind.
type counter struct {
	inner          reconciler.Connector
	writes, dryRun atomic.Int64
}

func (c *counter) RESTConfig(cl *schema.Cluster) (*rest.Config, error) {
	cfg, err := c.inner.RESTConfig(cl)
	if err != nil {
		return nil, err
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			switch {
			case r.Method == http.MethodGet:
			case r.Method == http.MethodPatch && r.URL.Query().Get("dryRun") == "All":
				c.dryRun.Add(1)
			default:
				c.writes.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	return cfg, nil
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fleet is a generated fleet: one App of objectsPerCluster ConfigMaps in namespace ns,
// targeting every cluster.
func fleet(b *testing.B, env *harness.Env, ns string) (*schema.Repo, *render.Renderer) {
	repo, r, _ := fleetFiles(b, env, ns)
	return repo, r
}

// fleetFiles is fleet with the repository files.
func fleetFiles(b *testing.B, env *harness.Env, ns string) (*schema.Repo, *render.Renderer, fstest.MapFS) {
	b.Helper()
	files := fstest.MapFS{"fleet.yaml": {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: bench-" + ns + "\n")}}
	for _, c := range env.Clusters {
		files["clusters/"+c.Name+".yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: %s\n", c.Name))}
	}
	files["apps/bench/app.yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: bench\nspec:\n  namespace: %s\n  source:\n    kustomize:\n      path: apps/bench/manifests\n  targets:\n    selector: {}\n", ns))}
	var res []string
	res = append(res, "ns.yaml")
	files["apps/bench/manifests/ns.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n")}
	for i := range objectsPerCluster - 1 {
		name := fmt.Sprintf("cm-%04d.yaml", i)
		res = append(res, name)
		files["apps/bench/manifests/"+name] = &fstest.MapFile{Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\ndata:\n  index: \"%d\"\n  payload: %s\n", i, i, strings.Repeat("x", 200)))}
	}
	files["apps/bench/manifests/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources:\n- " + strings.Join(res, "\n- ") + "\n")}
	repo, err := schema.Load(b.Context(), files)
	if err != nil {
		b.Fatal(err)
	}
	r, err := render.New(b.Context(), files, repo)
	if err != nil {
		b.Fatal(err)
	}
	return repo, r, files
}

func startClusters(b *testing.B) *harness.Env {
	names := make([]string, clusters)
	for i := range names {
		names[i] = fmt.Sprintf("c%02d", i)
	}
	return harness.StartT(b, harness.Options{Clusters: names})
}

func apply(b *testing.B, repo *schema.Repo, r *render.Renderer, conn reconciler.Connector) []reconciler.ClusterResult {
	b.Helper()
	opts := reconciler.DefaultApplyOptions()
	opts.Concurrency = clusters
	results, err := reconciler.Apply(b.Context(), repo, r, conn, opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, res := range results {
		if errs := res.Errors(); len(errs) > 0 {
			b.Fatalf("cluster %s: %v", res.Cluster, errs[0])
		}
	}
	return results
}

// BenchmarkNoopReconcile applies an unchanged fleet again. Goal: zero write requests and,
// measured against kubectl apply --server-side of the same objects, at least 20x faster.
func BenchmarkNoopReconcile(b *testing.B) {
	env := startClusters(b)
	inner, err := reconciler.NewKubeconfigConnector(env.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	repo, r := fleet(b, env, "noop")
	apply(b, repo, r, inner)

	b.Run("gitfleet", func(b *testing.B) {
		conn := &counter{inner: inner}
		var mem runtime.MemStats
		runtime.ReadMemStats(&mem)
		before := mem.TotalAlloc
		for b.Loop() {
			apply(b, repo, r, conn)
		}
		runtime.ReadMemStats(&mem)
		b.ReportMetric(float64(conn.writes.Load())/float64(b.N), "writes/op")
		b.ReportMetric(float64(conn.dryRun.Load())/float64(b.N), "dry-runs/op")
		b.ReportMetric(float64(mem.TotalAlloc-before)/float64(b.N)/(1<<20), "alloc-MB/op")
		if conn.writes.Load() != 0 {
			b.Errorf("a no-op reconcile sent %d write requests", conn.writes.Load())
		}
	})

	b.Run("baseline-kubectl-apply-server-side", func(b *testing.B) {
		kubectl := filepath.Join(toolsBin(b), "kubectl")
		dir := b.TempDir()
		var all strings.Builder
		for _, app := range r.Cluster(b.Context(), repo.Clusters[0]).Apps {
			for _, o := range app.Objects {
				data, err := yaml.Marshal(o.Object)
				if err != nil {
					b.Fatal(err)
				}
				all.WriteString("---\n")
				all.Write(data)
			}
		}
		manifest := filepath.Join(dir, "all.yaml")
		if err := os.WriteFile(manifest, []byte(all.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			g, ctx := errgroup.WithContext(b.Context())
			for _, c := range env.Clusters {
				g.Go(func() error {
					cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", c.Kubeconfig, "apply", "--server-side", "--field-manager", reconciler.FieldManager, "-f", manifest)
					out, err := cmd.CombinedOutput()
					if err != nil {
						return fmt.Errorf("kubectl on %s: %v\n%s", c.Name, err, out)
					}
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFirstApply applies the fleet to empty clusters, in objects per second, next to
// a minimal loop of raw server-side apply PATCH requests (the practical ceiling). Goal: at
// least 0.7 of the ceiling.
func BenchmarkFirstApply(b *testing.B) {
	env := startClusters(b)
	inner, err := reconciler.NewKubeconfigConnector(env.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	run := 0
	b.Run("gitfleet", func(b *testing.B) {
		for b.Loop() {
			run++
			b.StopTimer()
			repo, r := fleet(b, env, fmt.Sprintf("first-%d", run))
			b.StartTimer()
			apply(b, repo, r, inner)
		}
		b.ReportMetric(float64(clusters*objectsPerCluster*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("baseline-raw-ssa-patch", func(b *testing.B) {
		for b.Loop() {
			run++
			b.StopTimer()
			repo, r := fleet(b, env, fmt.Sprintf("first-%d", run))
			objs := r.Cluster(b.Context(), repo.Clusters[0]).Apps[0].Objects
			b.StartTimer()
			g := new(errgroup.Group)
			for _, c := range env.Clusters {
				g.Go(func() error { return rawApply(b.Context(), c.RESTConfig(), objs) })
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(clusters*objectsPerCluster*b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}

// rawApply sends one server-side apply PATCH per object, namespaces first, with the same
// per-cluster concurrency the apply engine uses, and no client-side limit (the harness's
// config has none).
func rawApply(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	patch := func(o *unstructured.Unstructured) error {
		o = o.DeepCopy()
		return c.Patch(ctx, o, client.Apply, client.FieldOwner("raw"), client.ForceOwnership)
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			if err := patch(o); err != nil {
				return err
			}
		}
	}
	g := new(errgroup.Group)
	g.SetLimit(10)
	var mu sync.Mutex
	var first error
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		g.Go(func() error {
			if err := patch(o); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return first
}

// toolsBin finds the harness binaries.
func toolsBin(b *testing.B) string {
	dir, err := harness.ToolsDir()
	if err != nil {
		b.Fatalf("%v: run make tools", err)
	}
	return dir
}
