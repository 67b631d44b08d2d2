package render

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// CacheOptions say where a Cache keeps builds between processes, so that `gitfleet
// apply` run again on an unchanged repository, or a restarted server, does not render
// again: a big kustomization costs seconds to build and milliseconds to read back.
type CacheOptions struct {
	// Dir holds the builds; it is made with mode 0700 and its files 0600. Empty keeps
	// builds in memory only, for the life of the process.
	Dir string
	// MaxBytes bounds the files under Dir: past it the least recently used builds are
	// removed. 0 means DefaultCacheOptions'.
	MaxBytes int64
	// Version names the build of gitfleet that renders: a build written by another
	// version is never read, since a change of gitfleet (or of the kustomize and Helm
	// it links) may change what the same inputs render to.
	Version string
}

// DefaultCacheOptions keep builds in memory only; a caller names the directory (the
// command line's default is under the user's cache directory).
func DefaultCacheOptions() CacheOptions {
	return CacheOptions{MaxBytes: 256 << 20}
}

// CacheStats say how the cache answered, summed over every Renderer that used it.
type CacheStats struct {
	// MemoryHits and DiskHits are builds answered from memory and from Dir.
	MemoryHits, DiskHits int64
	// Misses are builds that had to run.
	Misses int64
	// Written are builds stored in Dir.
	Written int64
	// NotWritten are builds kept out of Dir because they hold a Secret (see
	// holdsSecret).
	NotWritten int64
	// Corrupt are files in Dir that could not be read back; they were removed and the
	// build ran again.
	Corrupt int64
	// Evicted are files removed to keep Dir under MaxBytes.
	Evicted int64
}

// OpenCache returns a cache that also keeps builds in opts.Dir.
func OpenCache(opts CacheOptions) (*Cache, error) {
	c := NewCache()
	if opts.Dir == "" {
		return c, nil
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultCacheOptions().MaxBytes
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, &CacheError{Dir: opts.Dir, Err: err}
	}
	// MkdirAll leaves an existing directory's mode alone: the builds can hold whatever the
	// repository renders, so no one else may read them.
	if err := os.Chmod(opts.Dir, 0o700); err != nil {
		return nil, &CacheError{Dir: opts.Dir, Err: err}
	}
	c.disk = &diskCache{opts: opts, stats: &c.stats}
	return c, nil
}

// CacheError is a cache directory that cannot be used.
type CacheError struct {
	Dir string
	Err error
}

func (e *CacheError) Error() string { return fmt.Sprintf("render cache %s: %v", e.Dir, e.Err) }
func (e *CacheError) Unwrap() error { return e.Err }

// diskCache keeps builds in files, two kinds per build key:
//
//   - q-HASH(version, key) lists the questions (probes without their answers) that the
//     builds stored under the key asked the repository, one list per distinct set;
//   - b-HASH(version, key, answers) is the build that got those answers: its objects as
//     JSON, after the SHA-256 of that JSON, so that a torn or altered file is noticed.
//
// A lookup asks each question set again of the new revision and reads the build its
// answers name. Neither file holds a key or an answer in the clear: a key holds Helm
// values, an answer file contents. Files are written to a temporary name and renamed, so
// a reader (another gitfleet process) sees a whole file or none.
type diskCache struct {
	opts  CacheOptions
	stats *cacheCounters
	// mu orders this process's writes of the same question file.
	mu sync.Mutex
}

// maxQuestionSets bounds the question sets kept per key: a build asks the same questions
// from one revision to the next unless its kustomizations change.
const maxQuestionSets = 8

func (d *diskCache) name(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{d.opts.Version}, parts...) {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return filepath.Join(d.opts.Dir, kind+"-"+hex.EncodeToString(h.Sum(nil)))
}

// question is a probe without its answer, as kept on disk.
type question struct {
	Op   string `json:"op"`
	Path string `json:"path"`
}

// load returns the build stored under key whose questions fsys answers the same way.
func (d *diskCache) load(key string, fsys filesys.FileSystem) (*cacheEntry, bool) {
	data, err := os.ReadFile(d.name("q", key))
	if err != nil {
		return nil, false
	}
	var sets [][]question
	if err := json.Unmarshal(data, &sets); err != nil {
		d.corrupt(d.name("q", key))
		return nil, false
	}
	for _, qs := range sets {
		probes := make([]probe, len(qs))
		for i, q := range qs {
			probes[i] = probe{op: q.Op, path: q.Path}
			probes[i].seen = probes[i].observe(fsys)
		}
		file := d.name("b", key, answers(probes))
		objs, err := readBuild(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			d.corrupt(file)
			continue
		}
		// Reading a build makes it the most recently used.
		now := time.Now()
		_ = os.Chtimes(file, now, now)
		return &cacheEntry{objs: objs, probes: probes}, true
	}
	return nil, false
}

// save stores a build, unless it holds a Secret, and keeps the directory in its bound.
func (d *diskCache) save(key string, e *cacheEntry) {
	if e.memoryOnly || holdsSecret(e.objs) {
		d.stats.notWritten.Add(1)
		return
	}
	data, err := encodeBuild(e.objs)
	if err != nil || int64(len(data)) > d.opts.MaxBytes {
		return // a build larger than the whole cache is not kept
	}
	probes := slices.SortedFunc(slices.Values(e.probes), func(a, b probe) int {
		return cmp.Or(strings.Compare(a.op, b.op), strings.Compare(a.path, b.path))
	})
	file := d.name("b", key, answers(probes))
	if writeFileAtomic(file, data) != nil || d.addQuestions(key, probes) != nil {
		return // the cache is an optimisation: a build it cannot keep is rendered again next time
	}
	d.stats.written.Add(1)
	d.evict(file)
}

// addQuestions records a build's question set under its key, newest first.
func (d *diskCache) addQuestions(key string, probes []probe) error {
	qs := make([]question, len(probes))
	for i, p := range probes {
		qs[i] = question{Op: p.op, Path: p.path}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	file := d.name("q", key)
	var sets [][]question
	if data, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(data, &sets) // an unreadable list is replaced
	}
	sets = slices.DeleteFunc(sets, func(s []question) bool { return slices.Equal(s, qs) })
	sets = append([][]question{qs}, sets...)
	if len(sets) > maxQuestionSets {
		sets = sets[:maxQuestionSets]
	}
	data, err := json.Marshal(sets)
	if err != nil {
		return err
	}
	return writeFileAtomic(file, data)
}

// evict removes the least recently used builds until the directory fits MaxBytes,
// never the one just written. Question files count towards the bound but stay: they are
// small, and one whose builds are gone only costs a lookup a few reads.
func (d *diskCache) evict(keep string) {
	entries, err := os.ReadDir(d.opts.Dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		size int64
		used time.Time
	}
	var total int64
	var builds []file
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		total += info.Size()
		if p := filepath.Join(d.opts.Dir, e.Name()); strings.HasPrefix(e.Name(), "b-") && p != keep {
			builds = append(builds, file{p, info.Size(), info.ModTime()})
		}
	}
	slices.SortFunc(builds, func(a, b file) int { return a.used.Compare(b.used) })
	for _, f := range builds {
		if total <= d.opts.MaxBytes {
			return
		}
		if os.Remove(f.path) == nil {
			total -= f.size
			d.stats.evicted.Add(1)
		}
	}
}

func (d *diskCache) corrupt(file string) {
	d.stats.corrupt.Add(1)
	_ = os.Remove(file)
}

// holdsSecret says whether a build has a Secret. Rendered Secrets hold their values in
// the clear (SOPS-encrypted files are decrypted to render them), and a cache file
// outlives the process: such a build is kept in memory only, and rendered again by the
// next process. Caching the rest of the App without its Secret would need the Secret
// from somewhere, so the whole build is left out.
func holdsSecret(objs []*unstructured.Unstructured) bool {
	return slices.ContainsFunc(objs, func(u *unstructured.Unstructured) bool {
		return u.GetKind() == "Secret" && u.GroupVersionKind().Group == ""
	})
}

// answers is the digest of what a build's questions were answered.
func answers(probes []probe) string {
	h := sha256.New()
	for _, p := range probes {
		fmt.Fprintf(h, "%d:%s%d:%s", len(p.op), p.op, len(p.path), p.path)
		h.Write(p.seen[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// encodeBuild is a build's file: the SHA-256 of the JSON, then the JSON list of objects.
func encodeBuild(objs []*unstructured.Unstructured) ([]byte, error) {
	list := make([]map[string]any, len(objs))
	for i, u := range objs {
		list[i] = u.Object
	}
	body, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return append(sum[:], body...), nil
}

// readBuild reads a build's file back, through the same JSON decoding a render's objects
// get (whole numbers int64), so a build read back equals the one stored.
func readBuild(file string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(data) < sha256.Size {
		return nil, errors.New("short file")
	}
	sum, body := data[:sha256.Size], data[sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, errors.New("checksum mismatch")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, len(raw))
	for i, r := range raw {
		objs[i] = &unstructured.Unstructured{}
		if err := objs[i].UnmarshalJSON(r); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// writeFileAtomic writes data under a temporary name in the same directory and renames
// it into place, mode 0600.
func writeFileAtomic(file string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}
