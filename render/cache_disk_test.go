package render

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/test/sopstest"
)

// openDisk opens a cache on dir as a new process would: nothing in memory.
func openDisk(t *testing.T, dir string, maxBytes int64) *Cache {
	t.Helper()
	c, err := OpenCache(CacheOptions{Dir: dir, MaxBytes: maxBytes, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// renderYAML renders cluster dev with the cache and returns what `gitfleet render` would
// print and the renderer's stats.
func renderYAML(t *testing.T, cache *Cache, files map[string]string) (string, Stats) {
	t.Helper()
	return renderYAMLWith(t, Options{Cache: cache}, files)
}

func renderYAMLWith(t *testing.T, opts Options, files map[string]string) (string, Stats) {
	t.Helper()
	fsys, repo := load(t, files)
	r, err := NewWithOptions(t.Context(), fsys, repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Cluster(t.Context(), repo.Cluster("dev"))
	for _, a := range res.Apps {
		if a.Err != nil {
			t.Fatalf("app %s: %v", a.App.Metadata.Name, a.Err)
		}
	}
	var out bytes.Buffer
	if err := WriteYAML(&out, res); err != nil {
		t.Fatal(err)
	}
	return out.String(), r.Stats()
}

// builds lists the build files in a cache directory.
func builds(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "b-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiskCacheServesTheNextProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "render")
	first := openDisk(t, dir, 0)
	want, s := renderYAML(t, first, twoApps)
	if s.Renders != 2 {
		t.Fatalf("first process: %+v, want 2 renders", s)
	}
	if got := first.Stats(); got.Written != 2 || got.Misses != 2 {
		t.Fatalf("first process cache: %+v, want 2 misses and 2 written", got)
	}

	second := openDisk(t, dir, 0)
	got, s := renderYAML(t, second, twoApps)
	if s.Renders != 0 {
		t.Errorf("second process rendered %d times, want 0", s.Renders)
	}
	if st := second.Stats(); st.DiskHits != 2 || st.Misses != 0 {
		t.Errorf("second process cache: %+v, want 2 disk hits", st)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output from the cache differs (-rendered +cached):\n%s", diff)
	}

	// In the same process, the next revision is answered from memory.
	if _, s := renderYAML(t, second, twoApps); s.Renders != 0 || second.Stats().MemoryHits != 2 {
		t.Errorf("same process again: %+v, cache %+v; want 0 renders, 2 memory hits", s, second.Stats())
	}

	changed := maps.Clone(twoApps)
	changed["apps/web/base/cm.yaml"] = strings.Replace(changed["apps/web/base/cm.yaml"], `"2"`, `"5"`, 1)
	out, s := renderYAML(t, openDisk(t, dir, 0), changed)
	if s.Renders != 1 {
		t.Errorf("one input file changed: %d renders, want 1 (the kustomize App)", s.Renders)
	}
	if !strings.Contains(out, `replicas: "5"`) {
		t.Errorf("the changed file is not in the output:\n%s", out)
	}

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode %v, want 0700", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", e.Name(), info.Mode().Perm(), err)
		}
	}
}

func TestDiskCacheRendersACorruptBuildAgain(t *testing.T) {
	dir := t.TempDir()
	want, _ := renderYAML(t, openDisk(t, dir, 0), twoApps)
	for _, f := range builds(t, dir) {
		data, _ := os.ReadFile(f)
		data[len(data)-2] ^= 0xff // one flipped byte, as a torn write or a bad disk leaves
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := openDisk(t, dir, 0)
	got, s := renderYAML(t, c, twoApps)
	if s.Renders != 2 || c.Stats().Corrupt != 2 {
		t.Errorf("corrupt builds: %+v, cache %+v; want both rendered again, 2 corrupt", s, c.Stats())
	}
	if got != want {
		t.Errorf("output after corrupt builds differs:\n%s", cmp.Diff(want, got))
	}
	// Rewritten: the next process reads them.
	if _, s := renderYAML(t, openDisk(t, dir, 0), twoApps); s.Renders != 0 {
		t.Errorf("after rewriting: %d renders, want 0", s.Renders)
	}
}

func TestDiskCacheStaysInItsBound(t *testing.T) {
	dir := t.TempDir()
	renderYAML(t, openDisk(t, dir, 0), twoApps)
	var size int64
	for _, f := range builds(t, dir) {
		info, _ := os.Stat(f)
		size = max(size, info.Size())
	}
	// Room for the question files and about one build: each new build evicts the
	// least recently used other one.
	bound := 2*size + 1024
	c := openDisk(t, t.TempDir(), bound)
	dir = c.disk.opts.Dir
	files := maps.Clone(twoApps)
	for i := range 4 {
		files["apps/web/base/cm.yaml"] = strings.Replace(twoApps["apps/web/base/cm.yaml"], `"2"`, `"`+strings.Repeat("9", i+1)+`"`, 1)
		renderYAML(t, c, files)
	}
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	if total > bound {
		t.Errorf("cache holds %d bytes, bound %d", total, bound)
	}
	if c.Stats().Evicted == 0 {
		t.Errorf("nothing was evicted: %+v", c.Stats())
	}
	// The newest build is the one kept (read with room to spare, so that writing the
	// Helm App's again does not evict it first).
	if _, s := renderYAML(t, openDisk(t, dir, 0), files); s.Renders != 1 {
		t.Errorf("newest revision in a fresh process: %d renders, want 1 (only the Helm App, evicted)", s.Renders)
	}
}

// Nothing decrypted reaches the disk: not a rendered Secret, not a ConfigMap built from a
// sops-encrypted file, not a Helm App whose values file is encrypted (its key holds the
// values). Each is reused within the process and rendered again by the next one.
func TestDiskCacheKeepsSecretsOutOfTheDirectory(t *testing.T) {
	id, d := newIdentity(t)
	rec := id.Recipient().String()
	dir := t.TempDir()
	files := maps.Clone(twoApps)
	files["apps/web/base/kustomization.yaml"] = "resources: [cm.yaml, secret.enc.yaml, settings.enc.yaml]\n"
	files["apps/web/base/secret.enc.yaml"] = string(sopstest.EncryptYAML(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  token: plaintext-value\n", rec, sopstest.SecretFields))
	files["apps/web/base/settings.enc.yaml"] = string(sopstest.EncryptYAML(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dsn\ndata:\n  dsn: decrypted-dsn-value\n", rec, "^data$"))
	c := openDisk(t, dir, 0)
	renderYAMLWith(t, Options{Cache: c, Decrypt: d}, files)
	if st := c.Stats(); st.NotWritten != 1 || st.Written != 1 {
		t.Errorf("cache %+v, want the Helm App written and the App with decrypted files not", st)
	}
	// The same App without the Secret, its ConfigMap still from the encrypted file.
	noSecret := maps.Clone(files)
	noSecret["apps/web/base/kustomization.yaml"] = "resources: [cm.yaml, settings.enc.yaml]\n"
	renderYAMLWith(t, Options{Cache: c, Decrypt: d}, noSecret)
	if st := c.Stats(); st.NotWritten != 2 {
		t.Errorf("cache %+v, want the App whose ConfigMap was decrypted not written", st)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		for _, secret := range []string{"plaintext-value", "decrypted-dsn-value", "token"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds %q", e.Name(), secret)
			}
		}
	}
	// Still reused within the process; rendered again by the next one.
	if _, s := renderYAMLWith(t, Options{Cache: c, Decrypt: d}, files); s.Renders != 0 {
		t.Errorf("same process: %d renders, want 0", s.Renders)
	}
	if _, s := renderYAMLWith(t, Options{Cache: openDisk(t, dir, 0), Decrypt: d}, files); s.Renders != 1 {
		t.Errorf("next process: %d renders, want 1 (the App with decrypted files)", s.Renders)
	}
}

func TestDiskCacheIsPerVersion(t *testing.T) {
	dir := t.TempDir()
	renderYAML(t, openDisk(t, dir, 0), twoApps)
	other, err := OpenCache(CacheOptions{Dir: dir, Version: "another build"})
	if err != nil {
		t.Fatal(err)
	}
	if _, s := renderYAML(t, other, twoApps); s.Renders != 2 {
		t.Errorf("another version of gitfleet: %d renders, want 2", s.Renders)
	}
}
