package render

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"testing/fstest"
	"time"

	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/fleetgen"
	"gitfleet.dev/gitfleet/test/harness"
)

// bigKustomization is issue 15's worst shape for a no-op reconcile: one App whose
// kustomization builds 2,000 objects, so that rendering it is most of the pass.
var bigKustomization = fleetgen.Options{Clusters: 1, Apps: 1, ObjectsPerApp: 2000}

// BenchmarkRenderBigKustomization renders that App with gitfleet and, as the baseline in
// the same run, with the kustomize binary from .tools/bin on the same files on disk, built
// through the same kind of kustomization gitfleet writes around it (namespace: app-000), so
// both do the same work. The baseline's time is the binary's run and reading its output.
//
// peak-rss-MB is, for gitfleet, the test process's high-water mark (Linux VmHWM, reset
// before the run, so it includes the test binary, which is most of gitfleet's programs,
// and the generated repository: start-rss-MB is what it held before rendering) and, for
// the baseline, the binary's own (its VmHWM, sampled every 5 ms). Without /proc or the
// binary the metric or the sub-benchmark is skipped, never faked.
func BenchmarkRenderBigKustomization(b *testing.B) {
	fsys := fleetgen.FS(bigKustomization)
	repo, err := schema.Load(b.Context(), fsys)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("gitfleet", func(b *testing.B) {
		b.ReportAllocs()
		runtime.GC()
		debug.FreeOSMemory()
		reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
		start, _ := vmHWM("self")
		var objects int
		for b.Loop() {
			objects = renderAll(b, fsys, repo, nil)
		}
		if objects != bigKustomization.ObjectsPerApp {
			b.Fatalf("rendered %d objects, want %d", objects, bigKustomization.ObjectsPerApp)
		}
		if hwm, ok := vmHWM("self"); ok && reset {
			b.ReportMetric(float64(hwm)/(1<<20), "peak-rss-MB")
			b.ReportMetric(float64(start)/(1<<20), "start-rss-MB")
		}
	})
	// The next process on an unchanged repository (apply run again, a restarted server):
	// each op opens the cache directory afresh, so the build comes from disk.
	b.Run("gitfleet-disk-cache-hit", func(b *testing.B) {
		b.ReportAllocs()
		dir := b.TempDir()
		warm, err := OpenCache(CacheOptions{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		renderAll(b, fsys, repo, warm)
		var c *Cache
		for b.Loop() {
			if c, err = OpenCache(CacheOptions{Dir: dir}); err != nil {
				b.Fatal(err)
			}
			if n := renderAll(b, fsys, repo, c); n != bigKustomization.ObjectsPerApp {
				b.Fatalf("rendered %d objects, want %d", n, bigKustomization.ObjectsPerApp)
			}
		}
		if st := c.Stats(); st.DiskHits != 1 || st.Misses != 0 {
			b.Fatalf("cache %+v, want one disk hit", st)
		}
	})
	b.Run("baseline-kustomize-binary", func(b *testing.B) {
		dir, err := harness.ToolsDir()
		if err != nil {
			b.Skipf("no .tools/bin: %v", err)
		}
		bin := filepath.Join(dir, "kustomize")
		if _, err := os.Stat(bin); err != nil {
			b.Skipf("no kustomize binary: %v (run make tools)", err)
		}
		root := writeTree(b, fsys)
		wrapper := filepath.Join(root, "wrapper")
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: app-000\nresources:\n- ../apps/app-000/manifests\n"
		if err := os.WriteFile(filepath.Join(wrapper, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			b.Fatal(err)
		}
		var maxRSS int64
		var out []byte
		for b.Loop() {
			cmd := exec.CommandContext(b.Context(), bin, "build", wrapper)
			var stdout bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			// rusage's maxrss would be this process's: Go starts children with vfork, and
			// Linux keeps the high-water mark across exec. The child's own is sampled.
			done := make(chan struct{})
			sampled := make(chan int64)
			go func() {
				var hwm int64
				for {
					if v, ok := vmHWM(fmt.Sprint(cmd.Process.Pid)); ok {
						hwm = max(hwm, v)
					}
					select {
					case <-done:
						sampled <- hwm
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			err := cmd.Wait()
			close(done)
			maxRSS = max(maxRSS, <-sampled)
			if err != nil {
				b.Fatal(err)
			}
			out = stdout.Bytes()
		}
		if n := bytes.Count(out, []byte("\nkind: ")) + bytes.Count(out[:min(len(out), 6)], []byte("kind: ")); n != bigKustomization.ObjectsPerApp {
			b.Fatalf("kustomize printed %d objects, want %d", n, bigKustomization.ObjectsPerApp)
		}
		if maxRSS > 0 {
			b.ReportMetric(float64(maxRSS)/(1<<20), "peak-rss-MB")
		}
	})
}

// renderAll renders every cluster of the repository, with the cache when not nil, and
// returns the object count.
func renderAll(b *testing.B, fsys fstest.MapFS, repo *schema.Repo, cache *Cache) int {
	r, err := NewWithOptions(b.Context(), fsys, repo, Options{Cache: cache})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, c := range repo.Clusters {
		for _, a := range r.Cluster(b.Context(), c).Apps {
			if a.Err != nil {
				b.Fatal(a.Err)
			}
			n += len(a.Objects)
		}
	}
	return n
}

// writeTree writes an in-memory repository to a directory for the binaries.
func writeTree(b *testing.B, fsys fstest.MapFS) string {
	root := b.TempDir()
	for name, f := range fsys {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "wrapper"), 0o755); err != nil {
		b.Fatal(err)
	}
	return root
}

// vmHWM is a process's peak resident set size, in bytes, from /proc/PID/status.
func vmHWM(pid string) (int64, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(data) {
		var kb int64
		if _, err := fmt.Sscanf(string(line), "VmHWM: %d kB", &kb); err == nil {
			return kb * 1024, true
		}
	}
	return 0, false
}
