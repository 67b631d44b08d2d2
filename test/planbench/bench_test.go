// Package planbench measures `gitfleet plan` on a generated 100-cluster fleet in which
// one business's quota changed (goal: under 2 s, rendering only what the change touched),
// next to a baseline measured in the same run (`make bench`).
package planbench

import (
	"fmt"
	"regexp"
	"testing"
	"testing/fstest"

	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/reconciler/plan"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/fleetgen"
)

// fleet is 100 clusters, 10 businesses with a quota on each cluster, 1,000 namespaces,
// 5 kustomize and 3 Helm apps on every cluster.
var fleet = fleetgen.Options{Clusters: 100, Businesses: 10, Namespaces: 1000, Apps: 5, ObjectsPerApp: 10, HelmApps: 3}

// revisions returns the generated fleet and the same fleet with business biz-003's cpu
// quota raised on every cluster.
func revisions(b *testing.B) (base, head fstest.MapFS) {
	base = fleetgen.FS(fleet)
	head = fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	const file = "businesses/biz-003.yaml"
	changed := regexp.MustCompile(`cpu: "(\d+)"`).ReplaceAllString(string(base[file].Data), `cpu: "${1}0"`)
	if changed == string(base[file].Data) {
		b.Fatalf("%s has no cpu quota to change", file)
	}
	head[file] = &fstest.MapFile{Data: []byte(changed)}
	return base, head
}

// BenchmarkPlan plans the quota change. The baseline is what `gitfleet validate` plus a
// render of every cluster costs for one revision: a plan renders two, so without reuse it
// would cost about twice the baseline.
func BenchmarkPlan(b *testing.B) {
	base, head := revisions(b)
	b.Run("plan", func(b *testing.B) {
		b.ReportAllocs()
		var r *plan.Report
		for b.Loop() {
			var err error
			r, err = plan.Plan(b.Context(), plan.Side{Ref: "base", FS: base}, plan.Side{Ref: "head", FS: head}, plan.DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
		}
		// The change touches no rendered object: a business's quota is checked, not
		// applied; every head render is a reuse.
		if r.Summary.Clusters != fleet.Clusters || r.Summary.Create+r.Summary.Change+r.Summary.Prune != 0 || len(r.Violations) != 0 {
			b.Fatalf("unexpected plan: %+v, violations %v", r.Summary, r.Violations)
		}
		b.ReportMetric(float64(r.Summary.Renders), "renders/op")
		b.ReportMetric(float64(r.Summary.Reused), "reused/op")
	})
	b.Run("baseline-validate-render-one-revision", func(b *testing.B) {
		b.ReportAllocs()
		var stats render.Stats
		for b.Loop() {
			stats = oneRevision(b, head)
		}
		b.ReportMetric(float64(stats.Renders), "renders/op")
		b.ReportMetric(float64(stats.Reused), "reused/op")
	})
}

// oneRevision loads, validates and renders every cluster of one revision, with the
// concurrency a plan uses.
func oneRevision(tb testing.TB, fsys fstest.MapFS) render.Stats {
	ctx := tb.Context()
	repo, err := schema.Load(ctx, fsys)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := render.New(ctx, fsys, repo)
	if err != nil {
		tb.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(plan.DefaultOptions().Concurrency)
	for _, c := range repo.Clusters {
		g.Go(func() error {
			for _, app := range r.Cluster(gctx, c).Apps {
				if app.Err != nil {
					return fmt.Errorf("cluster %s: %w", c.Metadata.Name, app.Err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	return r.Stats()
}

// TestQuotaChangeRendersOnlyBase checks what the benchmark reports, on a smaller fleet: a
// plan of a quota change runs exactly the builds of one revision; head reuses them all.
func TestQuotaChangeRendersOnlyBase(t *testing.T) {
	small := fleetgen.Options{Clusters: 6, Businesses: 4, Namespaces: 24, Apps: 2, ObjectsPerApp: 3, HelmApps: 2}
	base := fleetgen.FS(small)
	head := fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	head["businesses/biz-003.yaml"] = &fstest.MapFile{Data: regexp.MustCompile(`cpu: "(\d+)"`).ReplaceAll(base["businesses/biz-003.yaml"].Data, []byte(`cpu: "${1}0"`))}
	r, err := plan.Plan(t.Context(), plan.Side{Ref: "base", FS: base}, plan.Side{Ref: "head", FS: head}, plan.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	one := oneRevision(t, head)
	if r.Summary.Renders != one.Renders || r.Summary.Renders == 0 {
		t.Errorf("plan ran %d builds; one revision needs %d: head should have reused every build of base", r.Summary.Renders, one.Renders)
	}
	if r.Summary.Create+r.Summary.Change+r.Summary.Prune != 0 {
		t.Errorf("a business quota change plans object changes: %+v", r.Summary)
	}
}
