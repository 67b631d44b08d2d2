package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"gitfleet.dev/gitfleet/render/yamlbound"
)

// Limits bound what the render of one App may cost, so that a careless or hostile fleet
// repository can make its own App fail but cannot take gitfleet down with it. A zero
// field takes its default (see DefaultLimits).
type Limits struct {
	// YAML bounds every YAML or JSON file the render reads from the repository (kustomize
	// inputs, Helm values and chart files) and every template Helm renders, before any
	// parser turns it into Go values.
	YAML yamlbound.Limits
	// MaxObjects is the most objects one App may render into for one cluster and
	// namespace. kustomize can multiply resources without an alias (each overlay level
	// including the one below twice under two name prefixes), so the kustomizations an
	// App builds are counted, with multiplicity, before the build runs.
	MaxObjects int
	// MaxOutputSize is the most bytes one App's rendered objects may have (as Helm
	// writes them, or as JSON for kustomize).
	MaxOutputSize int64
	// Timeout ends the wait for one App's render. kustomize and Helm do not stop when
	// asked, so a render that times out is abandoned, not stopped: the App fails with
	// an error and the others go on, while the abandoned build runs to its end.
	Timeout time.Duration
}

// DefaultLimits are far above what real Apps need (the largest charts render a few
// thousand objects and a few megabytes) and low enough that the worst App within them
// costs gitfleet a few hundred megabytes at most.
func DefaultLimits() Limits {
	return Limits{YAML: yamlbound.DefaultLimits(), MaxObjects: 20_000, MaxOutputSize: 64 << 20, Timeout: time.Minute}
}

// The gitfleet flags that raise the render bounds, named in the errors.
const (
	FlagMaxObjects    = "--max-render-objects"
	FlagMaxOutputSize = "--max-render-output-size"
	FlagTimeout       = "--render-timeout"
)

// withDefaults fills the zero fields, so that render.New and Options{} are bounded too.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.YAML = l.YAML.WithDefaults()
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxOutputSize <= 0 {
		l.MaxOutputSize = d.MaxOutputSize
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// LimitError is an App's render over one of the Limits.
type LimitError struct {
	// Bound says what was over its limit, in words.
	Bound string
	Limit int64
	// Flag is the gitfleet flag that raises the limit.
	Flag string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("more than %d %s; refused so that one App cannot exhaust gitfleet (raise the limit with %s)", e.Limit, e.Bound, e.Flag)
}

// ErrTimeout is matched (errors.Is) by a render that did not finish within Limits.Timeout.
var ErrTimeout = errors.New("render timed out")

// refusedFiles holds, by in-memory path, the repository files over a YAML bound and why.
// They are still copied (so kustomize sees they exist) but reading one is its error: a
// bomb fails the Apps that use it, not the whole revision.
type refusedFiles map[string]error

// check notes a repository file that is over a bound. Every file is held to the size
// limit (kustomize generators read any file); the YAML and JSON ones, which a parser will
// read, to all of them.
// passed answers for a YAML file whose content passed before (nil: none did).
func (r refusedFiles) check(p string, data []byte, l yamlbound.Limits, passed *yamlbound.Passed) {
	check := checkFile
	if readsAsYAML(p) {
		check = passed.Check // checkFile's own check of a YAML file
	}
	if err := check(p, data, l); err != nil {
		r["/"+p] = err
	}
}

// checkFile is yamlbound.Check for a file that is YAML (by name), the size alone for the
// rest.
func checkFile(name string, data []byte, l yamlbound.Limits) error {
	if !readsAsYAML(name) {
		l = yamlbound.Limits{MaxFileSize: l.MaxFileSize}
		if l.MaxFileSize <= 0 {
			return nil
		}
	}
	return yamlbound.Check(name, data, l)
}

func readsAsYAML(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	// kustomize also reads a kustomization without an extension.
	return path.Base(name) == "Kustomization"
}

// refusingFS is the repository as kustomize reads it: a refused file answers with why.
type refusingFS struct {
	filesys.FileSystem
	refused refusedFiles
}

func (f refusingFS) ReadFile(p string) ([]byte, error) {
	if err := f.refused[path.Clean(p)]; err != nil {
		return nil, err
	}
	return f.FileSystem.ReadFile(p)
}

func (f refusingFS) Open(p string) (filesys.File, error) {
	if err := f.refused[path.Clean(p)]; err != nil {
		return nil, err
	}
	return f.FileSystem.Open(p)
}

// outputBound counts an App's rendered objects and bytes against the Limits.
type outputBound struct {
	limits  Limits
	objects int
	bytes   int64
}

// add counts objects more objects of size bytes.
func (o *outputBound) add(objects int, bytes int64) error {
	o.objects += objects
	o.bytes += bytes
	if o.objects > o.limits.MaxObjects {
		return &LimitError{Bound: "rendered objects", Limit: int64(o.limits.MaxObjects), Flag: FlagMaxObjects}
	}
	if o.bytes > o.limits.MaxOutputSize {
		return &LimitError{Bound: "bytes of rendered objects", Limit: o.limits.MaxOutputSize, Flag: FlagMaxOutputSize}
	}
	return nil
}

// bounded runs one App's build with the timeout, and turns a panic in kustomize or Helm
// (whose parsers meet whatever a repository holds) into the App's error instead of the
// end of gitfleet.
func (r *Renderer) bounded(ctx context.Context, build func() ([]*unstructured.Unstructured, error)) ([]*unstructured.Unstructured, error) {
	timeout := r.opts.Limits.Timeout
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		objs []*unstructured.Unstructured
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("the render panicked: %v\n%s", p, debug.Stack())}
			}
		}()
		objs, err := build()
		done <- result{objs, err}
	}()
	select {
	case res := <-done:
		return res.objs, res.err
	case <-ctx.Done():
		if err := parent.Err(); err != nil {
			return nil, err // gitfleet is stopping or gave up on the whole pass
		}
		return nil, fmt.Errorf("%w after %s (raise the limit with %s)", ErrTimeout, timeout, FlagTimeout)
	}
}

// boundWatch notes the first refused file a kustomize build read. kustomize buries the
// error of a file it could not read under one message per level of its walk, as text; the
// build's error is then the bound itself, whole and typed.
type boundWatch struct {
	filesys.FileSystem
	mu    sync.Mutex
	first error
}

func (w *boundWatch) note(err error) {
	if errors.Is(err, yamlbound.ErrBound) {
		w.mu.Lock()
		if w.first == nil {
			w.first = err
		}
		w.mu.Unlock()
	}
}

func (w *boundWatch) ReadFile(p string) ([]byte, error) {
	data, err := w.FileSystem.ReadFile(p)
	w.note(err)
	return data, err
}

func (w *boundWatch) Open(p string) (filesys.File, error) {
	f, err := w.FileSystem.Open(p)
	w.note(err)
	return f, err
}

// refused is the first bound the build hit, or nil.
func (w *boundWatch) refused() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

// nodeBytes is about the size of a kustomize output object as text: its keys and scalar
// values, a byte for each separator. Its input files are already bounded (aliases
// expanded), so following aliases here is bounded too.
func nodeBytes(n *kyaml.Node) int64 {
	if n == nil {
		return 0
	}
	switch n.Kind {
	case kyaml.ScalarNode:
		return int64(len(n.Value)) + 1
	case kyaml.AliasNode:
		return nodeBytes(n.Alias)
	}
	size := int64(2)
	for _, c := range n.Content {
		size += nodeBytes(c)
	}
	return size
}
