package remotechart

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Cache keeps chart archives on disk by digest. Several processes may use one directory
// at once: an archive is written to a temporary file and renamed into place (atomic on
// one filesystem), so no reader sees half of one; a reader checks the digest of what it
// read, so a damaged file is a miss, not a wrong chart; and removing a file another
// process is about to read costs that process a fetch, nothing more.
//
// A Cache without a directory keeps archives in memory, for the life of the process (a
// gitfleet serve without a writable disk still fetches each chart once).
type Cache struct {
	dir      string
	maxBytes int64

	mu     sync.Mutex
	memory map[string][]byte
	// order is the digests in memory, least recently stored first.
	order []string
	bytes int64
}

// digestPrefix is the only digest algorithm of the lock file.
const digestPrefix = "sha256:"

// Digest is the lock file's digest of an archive.
func Digest(archive []byte) string {
	sum := sha256.Sum256(archive)
	return digestPrefix + hex.EncodeToString(sum[:])
}

// OpenCache makes (mode 0700) and opens a cache directory holding at most maxBytes of
// archives; an empty dir keeps them in memory (at most maxBytes; 0 keeps nothing).
func OpenCache(dir string, maxBytes int64) (*Cache, error) {
	if dir == "" {
		return &Cache{maxBytes: maxBytes}, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("chart cache: %w", err)
	}
	return &Cache{dir: dir, maxBytes: maxBytes}, nil
}

// path is where an archive of a digest is kept; "" for a digest of another form, which
// must never become a path.
func (c *Cache) path(digest string) string {
	hexDigest, ok := strings.CutPrefix(digest, digestPrefix)
	if c.dir == "" || !ok || len(hexDigest) != 64 || strings.Trim(hexDigest, "0123456789abcdef") != "" {
		return ""
	}
	return filepath.Join(c.dir, hexDigest+".tgz")
}

// Get returns the archive with the digest, if the cache holds it whole.
func (c *Cache) Get(digest string) ([]byte, bool) {
	if c.dir == "" {
		c.mu.Lock()
		defer c.mu.Unlock()
		data, ok := c.memory[digest]
		return data, ok
	}
	p := c.path(digest)
	if p == "" {
		return nil, false
	}
	data, err := os.ReadFile(p)
	if err != nil || Digest(data) != digest {
		return nil, false
	}
	// The modification time is the last use, for eviction; failing to set it only makes
	// the archive look older.
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return data, true
}

// Put stores an archive under its digest and removes the least recently used archives
// beyond the size bound (never the one just stored).
func (c *Cache) Put(archive []byte) error {
	digest := Digest(archive)
	if c.dir == "" {
		c.putMemory(digest, archive)
		return nil
	}
	p := c.path(digest)
	if p == "" {
		return nil
	}
	tmp, err := os.CreateTemp(c.dir, ".fetch-*")
	if err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	_, err = tmp.Write(archive)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("chart cache: %w", err)
	}
	return c.evict(p)
}

// evict removes the least recently used archives until the cache fits its bound. Two
// processes evicting at once may remove a little more than needed; that is a refetch.
func (c *Cache) evict(keep string) error {
	if c.maxBytes <= 0 {
		return nil
	}
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("chart cache: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		p := filepath.Join(c.dir, e.Name())
		if strings.HasPrefix(e.Name(), ".fetch-") {
			// A temporary file an hour old was left by a process that died.
			if time.Since(info.ModTime()) > time.Hour {
				_ = os.Remove(p)
			}
			continue
		}
		files = append(files, file{p, info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(files, func(a, b file) int { return a.used.Compare(b.used) })
	for _, f := range files {
		if total <= c.maxBytes {
			break
		}
		if f.path == keep {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("chart cache: %w", err)
		}
		total -= f.size
	}
	return nil
}

// putMemory keeps an archive in memory, dropping the oldest beyond the bound.
func (c *Cache) putMemory(digest string, archive []byte) {
	if int64(len(archive)) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.memory[digest]; ok {
		return
	}
	if c.memory == nil {
		c.memory = map[string][]byte{}
	}
	c.memory[digest] = archive
	c.order = append(c.order, digest)
	c.bytes += int64(len(archive))
	for c.bytes > c.maxBytes && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.bytes -= int64(len(c.memory[old]))
		delete(c.memory, old)
	}
}
