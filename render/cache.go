package render

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gitfleet.dev/gitfleet/render/yamlbound"
)

// Cache keeps builds from one Renderer to the next, so that a new revision of the fleet
// repository renders only what its change touched: the server renders every commit it
// fetches, and a plan renders two revisions that mostly agree. A build is reused when its
// inputs have the same content: for Helm the chart's files, the values and the cluster's
// capabilities (all in the key); for kustomize every file, directory listing and lookup the
// build made, recorded while it ran and compared against the new revision's tree.
//
// A Cache holds the builds used by the last three Renderers made with it (enough for a
// revert: the reverted revision's builds are two Renderers old) and drops older ones; one
// made by OpenCache also keeps them on disk, for the next process (see CacheOptions). It
// is safe for use by several goroutines.
type Cache struct {
	mu sync.Mutex
	// generations[0] holds the builds used by the newest Renderer, generations[1] by the
	// one before, and so on; a build found in an older generation joins the newest.
	generations []map[string][]*cacheEntry
	// disk, when set, is asked after memory and given every build.
	disk  *diskCache
	stats cacheCounters
	// passed are the files that passed the YAML bounds, by content: the files of the
	// next revision that did not change are not parsed again to be checked.
	passed *yamlbound.Passed
}

// Passed remembers, for the repository's loads and renders, which file contents passed
// the YAML checks (nil for a nil Cache).
func (c *Cache) Passed() *yamlbound.Passed {
	if c == nil {
		return nil
	}
	return c.passed
}

// passedFiles is how many file contents a Cache remembers as checked: a few revisions of
// a large repository.
const passedFiles = 100_000

// cacheCounters are CacheStats as they are counted.
type cacheCounters struct {
	memoryHits, diskHits, misses, written, notWritten, corrupt, evicted atomic.Int64
}

// Stats says how the cache has answered so far.
func (c *Cache) Stats() CacheStats {
	s := &c.stats
	return CacheStats{
		MemoryHits: s.memoryHits.Load(), DiskHits: s.diskHits.Load(), Misses: s.misses.Load(),
		Written: s.written.Load(), NotWritten: s.notWritten.Load(), Corrupt: s.corrupt.Load(), Evicted: s.evicted.Load(),
	}
}

// cacheGenerations is how many Renderers' builds a Cache keeps.
const cacheGenerations = 3

// cacheEntry is one finished, successful build.
type cacheEntry struct {
	objs []*unstructured.Unstructured
	// probes are what a kustomize build read, with what it saw; nil for Helm, whose key
	// names all its inputs.
	probes []probe
	// memoryOnly keeps the build out of the disk cache: it read a file decrypted with
	// sops, whose values may be in any of its objects (a ConfigMap, an env var) and in
	// the key (a Helm App's values), and nothing decrypted is written to disk.
	memoryOnly bool
}

// NewCache returns an empty cache for Options.Cache.
func NewCache() *Cache {
	return &Cache{generations: []map[string][]*cacheEntry{{}}, passed: yamlbound.NewPassed(passedFiles)}
}

// newGeneration starts a Renderer's use of the cache, dropping the builds that none of
// the last cacheGenerations Renderers used.
func (c *Cache) newGeneration() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generations = append([]map[string][]*cacheEntry{{}}, c.generations...)
	if len(c.generations) > cacheGenerations {
		c.generations = c.generations[:cacheGenerations]
	}
}

// lookup returns a build stored under key whose recorded reads still hold on fsys.
func (c *Cache) lookup(key string, fsys filesys.FileSystem) ([]*unstructured.Unstructured, bool) {
	c.mu.Lock()
	var candidates []*cacheEntry
	for _, g := range c.generations {
		candidates = append(candidates, g[key]...)
	}
	c.mu.Unlock()
	for _, e := range candidates {
		if !e.holdsOn(fsys) {
			continue
		}
		c.remember(key, e)
		c.stats.memoryHits.Add(1)
		return e.objs, true
	}
	if c.disk != nil {
		if e, ok := c.disk.load(key, fsys); ok {
			c.remember(key, e)
			c.stats.diskHits.Add(1)
			return e.objs, true
		}
	}
	c.stats.misses.Add(1)
	return nil, false
}

// remember puts a build into the newest generation.
func (c *Cache) remember(key string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if newest := c.generations[0]; !slices.Contains(newest[key], e) {
		newest[key] = append(newest[key], e)
	}
}

// store keeps a successful build, on disk too when the cache has a directory.
func (c *Cache) store(key string, e *cacheEntry) {
	c.remember(key, e)
	if c.disk != nil {
		c.disk.save(key, e)
	}
}

func (e *cacheEntry) holdsOn(fsys filesys.FileSystem) bool {
	for _, p := range e.probes {
		if p.observe(fsys) != p.seen {
			return false
		}
	}
	return true
}

// probe is one question a build asked the filesystem, and a digest of the answer.
type probe struct {
	op, path string
	seen     [sha256.Size]byte
}

// observe asks the question again and returns the digest of the answer.
func (p probe) observe(fsys filesys.FileSystem) [sha256.Size]byte {
	h := sha256.New()
	answer := func(parts ...string) {
		for _, s := range parts {
			fmt.Fprintf(h, "%d:%s", len(s), s)
		}
	}
	switch p.op {
	case "read":
		data, err := fsys.ReadFile(p.path)
		answer(errString(err), string(data))
	case "isdir":
		answer(fmt.Sprint(fsys.IsDir(p.path)))
	case "exists":
		answer(fmt.Sprint(fsys.Exists(p.path)))
	case "readdir":
		names, err := fsys.ReadDir(p.path)
		answer(append([]string{errString(err)}, names...)...)
	case "glob":
		names, err := fsys.Glob(p.path)
		answer(append([]string{errString(err)}, names...)...)
	case "abs":
		dir, file, err := fsys.CleanedAbs(p.path)
		answer(errString(err), string(dir), file)
	case "walk":
		err := fsys.Walk(p.path, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				answer("error", path, err.Error())
				return nil
			}
			answer(path, fmt.Sprint(info.IsDir()))
			return nil
		})
		answer(errString(err))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// recordingFS is the filesystem a kustomize build runs on: the revision's tree, with
// every question the build asks noted so that the build can be reused for a later
// revision on which all the answers are the same. Writes are refused: a build only reads.
type recordingFS struct {
	filesys.FileSystem
	mu   sync.Mutex
	seen map[[2]string]bool
}

func newRecordingFS(fsys filesys.FileSystem) *recordingFS {
	return &recordingFS{FileSystem: fsys, seen: map[[2]string]bool{}}
}

func (r *recordingFS) note(op, path string) {
	r.mu.Lock()
	r.seen[[2]string{op, path}] = true
	r.mu.Unlock()
}

// probes returns what the build asked, answered by fsys (the tree it ran on).
func (r *recordingFS) probes() []probe {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]probe, 0, len(r.seen))
	for q := range r.seen {
		p := probe{op: q[0], path: q[1]}
		p.seen = p.observe(r.FileSystem)
		out = append(out, p)
	}
	return out
}

var errReadOnly = errors.New("the repository is read-only while rendering")

func (r *recordingFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (r *recordingFS) Mkdir(string) error                  { return errReadOnly }
func (r *recordingFS) MkdirAll(string) error               { return errReadOnly }
func (r *recordingFS) RemoveAll(string) error              { return errReadOnly }
func (r *recordingFS) WriteFile(string, []byte) error      { return errReadOnly }

func (r *recordingFS) Open(path string) (filesys.File, error) {
	r.note("read", path)
	return r.FileSystem.Open(path)
}

func (r *recordingFS) ReadFile(path string) ([]byte, error) {
	r.note("read", path)
	return r.FileSystem.ReadFile(path)
}

func (r *recordingFS) IsDir(path string) bool {
	r.note("isdir", path)
	return r.FileSystem.IsDir(path)
}

func (r *recordingFS) Exists(path string) bool {
	r.note("exists", path)
	return r.FileSystem.Exists(path)
}

func (r *recordingFS) ReadDir(path string) ([]string, error) {
	r.note("readdir", path)
	return r.FileSystem.ReadDir(path)
}

func (r *recordingFS) Glob(pattern string) ([]string, error) {
	r.note("glob", pattern)
	return r.FileSystem.Glob(pattern)
}

func (r *recordingFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	r.note("abs", path)
	return r.FileSystem.CleanedAbs(path)
}

func (r *recordingFS) Walk(path string, fn filepath.WalkFunc) error {
	r.note("walk", path)
	return r.FileSystem.Walk(path, fn)
}

// chartDigest identifies a chart by the content of its files.
func chartDigest(files []*loader.BufferedFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%d:%s%d:", len(f.Name), f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
