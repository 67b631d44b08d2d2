package reference

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/fleetgen"
	"gitfleet.dev/gitfleet/test/peakmem"
)

// benchFleet is the fleet BenchmarkRender renders: 100 clusters, each running 10 kustomize
// and 10 Helm apps of 50 objects, 100,000 objects in all. Every Helm app has one distinct
// values set per region (10 regions), so a render needs 10 kustomize builds and 100 Helm
// templates, and reuses them for the rest.
var benchFleet = fleetgen.Options{Clusters: 100, Apps: 10, HelmApps: 10, ObjectsPerApp: 50}

// fleetPlan is a generated fleet prepared for both renderers.
type fleetPlan struct {
	fsys fstest.MapFS
	// dir holds the same files on disk.
	dir  string
	repo *schema.Repo
	// objects is what rendering the fleet delivers: every App's objects on every cluster.
	objects int
	// runs are the distinct reference commands the fleet needs.
	runs []*planRun
}

// planRun is one reference command and what depends on it.
type planRun struct {
	bin  string
	args []string
	// app and clusters are the App and the clusters whose objects this run renders.
	app      string
	clusters []string
	// objects is how many objects gitfleet renders for each of those clusters.
	objects int
}

// newFleetPlan generates the fleet, writes it to disk for the binaries, renders it once with
// gitfleet to count its objects, and works out the reference commands: one per App and
// distinct input (for kustomize the directory and namespace, for Helm the values and
// capabilities of a cluster), exactly the renders gitfleet itself has to do. Running the
// binaries once per App and cluster instead would charge them for 10x more work than
// gitfleet does.
func newFleetPlan(tb testing.TB, tl *tools, o fleetgen.Options) *fleetPlan {
	tb.Helper()
	ctx := context.Background()
	dir, scratch := tb.TempDir(), tb.TempDir()
	p := &fleetPlan{fsys: fleetgen.FS(o), dir: dir}
	var err error
	if p.repo, err = schema.Load(ctx, p.fsys); err != nil {
		tb.Fatalf("generated fleet does not load: %v", err)
	}
	if err := writeDisk(p.fsys, dir); err != nil {
		tb.Fatal(err)
	}
	r, err := render.New(ctx, p.fsys, p.repo)
	if err != nil {
		tb.Fatal(err)
	}
	byCommand := map[string]*planRun{}
	for _, c := range p.repo.Clusters {
		for _, a := range r.Cluster(ctx, c).Apps {
			if p.repo.App(a.App.Metadata.Name) == nil {
				continue // a unit gitfleet generates (namespaces, addons): no reference command
			}
			if a.Err != nil {
				tb.Fatalf("gitfleet cannot render the generated fleet: %v", a.Err)
			}
			p.objects += len(a.Objects)
			bin, args, err := referenceCommand(tl, dir, scratch, a.App, c, refOptions{})
			if err != nil {
				tb.Fatal(err)
			}
			key := bin + "\x00" + strings.Join(args, "\x00")
			run := byCommand[key]
			if run == nil {
				run = &planRun{bin: bin, args: args, app: a.App.Metadata.Name, objects: len(a.Objects)}
				byCommand[key] = run
				p.runs = append(p.runs, run)
			}
			run.clusters = append(run.clusters, c.Metadata.Name)
		}
	}
	return p
}

// renderGitfleet renders every cluster of the fleet, clusters in parallel as the reconciler
// does, and returns how many objects it delivered and how many builds it ran.
func (p *fleetPlan) renderGitfleet(ctx context.Context, limit int) (objects int64, renders int64, err error) {
	return p.renderRevision(ctx, limit, p.fsys, nil)
}

// renderRevision is renderGitfleet for one revision of the fleet's files, with a Cache of
// earlier revisions' builds (or none).
func (p *fleetPlan) renderRevision(ctx context.Context, limit int, fsys fstest.MapFS, cache *render.Cache) (objects int64, renders int64, err error) {
	r, err := render.NewWithOptions(ctx, fsys, p.repo, render.Options{Cache: cache})
	if err != nil {
		return 0, 0, err
	}
	var total atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, c := range p.repo.Clusters {
		g.Go(func() error {
			for _, a := range r.Cluster(ctx, c).Apps {
				if a.Err != nil {
					return a.Err
				}
				if p.repo.App(a.App.Metadata.Name) == nil {
					continue // generated units are not part of the comparison
				}
				total.Add(int64(len(a.Objects)))
			}
			return nil
		})
	}
	err = g.Wait()
	return total.Load(), r.Stats().Renders, err
}

// runBinaries runs every reference command, limit at a time, and returns the outputs by run.
func (p *fleetPlan) runBinaries(ctx context.Context, tl *tools, c *peakmem.Children, limit int) ([][]byte, error) {
	outs := make([][]byte, len(p.runs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, run := range p.runs {
		g.Go(func() error {
			var err error
			outs[i], err = tl.runMeasured(ctx, c, run.bin, run.args...)
			return err
		})
	}
	return outs, g.Wait()
}

const mb = 1 << 20

// BenchmarkRender renders a 100-cluster fleet of 2,000 App instances (half kustomize, half
// Helm, 100,000 objects) with gitfleet, and, as the baseline in the same run, with the
// kustomize and helm binaries over the same files on disk, once per distinct input (see
// newFleetPlan). Both sides work GOMAXPROCS at a time: gitfleet renders clusters in
// parallel, the baseline runs that many binaries at once. The baseline's time is the
// binaries' runs and reading their output; parsing the YAML into objects, which gitfleet's
// time includes, is left out of it.
//
// Metrics: objects/s is the fleet's objects (every App on every cluster) delivered per
// second; renders/op is builds actually run. peak-rss-MB is gitfleet's whole test process
// (Linux VmHWM, reset before the run; it also holds the generated repository) and, for the
// baseline, the largest single binary (its VmHWM, sampled every 10 ms, so a binary's last
// few milliseconds can be missed); peak-rss-sum-MB is the binaries running at the same
// moment, added up (same sampling); peak-heap-MB is gitfleet's Go heap in use (sampled every
// 10 ms). The RSS metrics need Linux's /proc; sampling costs the baseline well under 1% of a
// CPU.
func BenchmarkRender(b *testing.B) {
	tl := findTools(b)
	p := newFleetPlan(b, tl, benchFleet)
	limit := runtime.GOMAXPROCS(0)
	b.Logf("fleet: %d clusters, %d App instances, %d objects; %d distinct renders; %d at a time", len(p.repo.Clusters), len(p.repo.Clusters)*len(p.repo.Apps), p.objects, len(p.runs), limit)

	b.Run("gitfleet", func(b *testing.B) {
		b.ReportAllocs()
		runtime.GC()
		debug.FreeOSMemory()
		rssReset := peakmem.ResetPeakRSS()
		heap := peakmem.Start(10*time.Millisecond, peakmem.HeapObjects)
		var objects, renders int64
		for b.Loop() {
			var err error
			if objects, renders, err = p.renderGitfleet(b.Context(), limit); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(heap.Stop())/mb, "peak-heap-MB")
		if hwm, ok := peakmem.PeakRSS(); ok && rssReset {
			b.ReportMetric(float64(hwm)/mb, "peak-rss-MB")
		}
		if objects != int64(p.objects) {
			b.Fatalf("rendered %d objects, want %d", objects, p.objects)
		}
		b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		b.ReportMetric(float64(renders), "renders/op")
	})

	// The server renders each commit it fetches: with the Cache, a commit that changes one
	// file of one kustomize App runs that App's build again and reuses the 109 others.
	// Each op renders a new commit that changes that file once more.
	b.Run("gitfleet-next-commit", func(b *testing.B) {
		const changed = "apps/app-000/manifests/cm-000.yaml"
		commit := func(i int) fstest.MapFS {
			next := maps.Clone(p.fsys)
			next[changed] = &fstest.MapFile{Data: fmt.Appendf(slices.Clone(p.fsys[changed].Data), "# commit %d\n", i)}
			return next
		}
		cache := render.NewCache()
		if _, _, err := p.renderRevision(b.Context(), limit, p.fsys, cache); err != nil {
			b.Fatal(err)
		}
		var objects, renders int64
		i := 0
		for b.Loop() {
			i++
			var err error
			if objects, renders, err = p.renderRevision(b.Context(), limit, commit(i), cache); err != nil {
				b.Fatal(err)
			}
		}
		if objects != int64(p.objects) || renders != 1 {
			b.Fatalf("rendered %d objects with %d builds, want %d objects and 1 build (the changed App)", objects, renders, p.objects)
		}
		b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		b.ReportMetric(float64(renders), "renders/op")
	})

	b.Run("baseline-kustomize-and-helm-binaries", func(b *testing.B) {
		var c peakmem.Children
		together := peakmem.Start(10*time.Millisecond, c.Sample)
		var outs [][]byte
		for b.Loop() {
			var err error
			if outs, err = p.runBinaries(b.Context(), tl, &c, limit); err != nil {
				b.Fatal(err)
			}
		}
		sum, peak := together.Stop(), c.Peak()
		// The binaries must have delivered what gitfleet did, or the comparison is void.
		for i, run := range p.runs {
			objs, err := parseStream(outs[i])
			if err != nil || len(objs) != run.objects {
				b.Fatalf("%s for app %s: %d objects (%v), gitfleet renders %d", filepath.Base(run.bin), run.app, len(objs), err, run.objects)
			}
		}
		b.ReportMetric(float64(p.objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		b.ReportMetric(float64(len(p.runs)), "renders/op")
		if peak > 0 {
			b.ReportMetric(float64(peak)/mb, "peak-rss-MB")
		}
		if sum > 0 {
			b.ReportMetric(float64(sum)/mb, "peak-rss-sum-MB")
		}
	})
}

// TestGeneratedFleetMatchesReference checks, on a small fleet from the same generator, that
// the benchmark's two sides render the same objects: every distinct reference command's
// output equals gitfleet's objects for each cluster it stands for.
func TestGeneratedFleetMatchesReference(t *testing.T) {
	tl := findTools(t)
	p := newFleetPlan(t, tl, fleetgen.Options{Clusters: 12, Apps: 2, HelmApps: 2, ObjectsPerApp: 7})
	// 2 kustomize builds, and 2 Helm apps with 10 regions each.
	if len(p.runs) != 2+2*10 {
		t.Fatalf("%d distinct renders, want 22", len(p.runs))
	}
	r, err := render.New(t.Context(), p.fsys, p.repo)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string][]render.AppResult{}
	for _, c := range p.repo.Clusters {
		results[c.Metadata.Name] = r.Cluster(t.Context(), c).Apps
	}
	var c peakmem.Children
	outs, err := p.runBinaries(t.Context(), tl, &c, runtime.GOMAXPROCS(0))
	if err != nil {
		t.Fatal(err)
	}
	for i, run := range p.runs {
		want, err := parseStream(outs[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, cluster := range run.clusters {
			for _, a := range results[cluster] {
				if a.App.Metadata.Name != run.app {
					continue
				}
				res := compareObjects(a.Objects, want, compareOptions{labels: gitfleetLabels(run.app, "generated")})
				if len(res.diffs) > 0 || res.objects != 7 {
					t.Errorf("app %s on %s (%d objects): gitfleet and the reference differ\nreference: %s %s\n%s", run.app, cluster, res.objects, filepath.Base(run.bin), strings.Join(run.args, " "), report(res.diffs, 5))
				}
			}
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("%s", fmt.Sprintf("%d clusters, %d distinct renders compared", len(p.repo.Clusters), len(p.runs)))
}
