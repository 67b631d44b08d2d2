package reference

import (
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/test/fleetgen"
	"gitfleet.dev/gitfleet/test/peakmem"
)

// BenchmarkRenderCLI runs `gitfleet render` on a repository of one big App, next to the
// reference binary rendering the same App from the same files, as a person would compare
// them: a process each, its time and its peak RSS (VmHWM, sampled every 5 ms). The shapes
// are issue 15's: one App whose kustomization builds 2,000 objects (against `kustomize
// build`), and a Helm chart rendering 1,000 objects (against `helm template`). Each op of
// gitfleet runs with a new, empty HOME and XDG_CACHE_HOME, so a render cache on disk cannot
// answer it: this is the cold render. Goal (test/benchreport): no slower and no larger
// than the binary.
func BenchmarkRenderCLI(b *testing.B) {
	tl := findTools(b)
	gitfleet := filepath.Join(b.TempDir(), "gitfleet")
	if out, err := exec.CommandContext(b.Context(), "go", "build", "-o", gitfleet, "gitfleet.dev/gitfleet/cmd/gitfleet").CombinedOutput(); err != nil {
		b.Fatalf("building the gitfleet CLI: %v\n%s", err, out)
	}
	for _, shape := range []struct {
		name     string
		gen      fleetgen.Options
		baseline string
	}{
		{"1x2000-kustomization", fleetgen.Options{Clusters: 1, Apps: 1, ObjectsPerApp: 2000}, "baseline-kustomize-binary"},
		{"1x1000-helm", fleetgen.Options{Clusters: 1, HelmApps: 1, ObjectsPerApp: 1000}, "baseline-helm-binary"},
	} {
		b.Run(shape.name, func(b *testing.B) {
			p := newFleetPlan(b, tl, shape.gen)
			if len(p.runs) != 1 {
				b.Fatalf("%d reference commands, want the one App's", len(p.runs))
			}
			run := p.runs[0]
			// objects is what the command must print; 0 for a command that prints no objects.
			measure := func(b *testing.B, freshHome bool, objects int, bin string, args ...string) {
				t := *tl
				var c peakmem.Children
				sampler := peakmem.Start(5*time.Millisecond, c.Sample)
				var out []byte
				for b.Loop() {
					b.StopTimer()
					t.env = slices.Clone(tl.env)
					if freshHome {
						home := b.TempDir()
						t.env = append(t.env, "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
					}
					b.StartTimer()
					var err error
					if out, err = t.runMeasured(b.Context(), &c, bin, args...); err != nil {
						b.Fatal(err)
					}
				}
				sampler.Stop()
				// Both must have delivered the App's objects, or the comparison is void.
				if objects > 0 {
					if objs, err := parseStream(out); err != nil || len(objs) != objects {
						b.Fatalf("%s: %d objects (%v), want %d", filepath.Base(bin), len(objs), err, objects)
					}
					b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
				}
				if peak := c.Peak(); peak > 0 {
					b.ReportMetric(float64(peak)/mb, "peak-rss-MB")
				}
			}
			b.Run("gitfleet-render", func(b *testing.B) { measure(b, true, run.objects, gitfleet, "render", p.dir) })
			b.Run(shape.baseline, func(b *testing.B) { measure(b, false, run.objects, run.bin, run.args...) })
			// What the program itself takes, rendering nothing: the part of gitfleet
			// render's memory that is its size (the Kubernetes clients, Helm, kustomize,
			// sops with its KMS clients, go-git), not the render's.
			b.Run("gitfleet-help", func(b *testing.B) { measure(b, true, 0, gitfleet, "--help") })
		})
	}
}
