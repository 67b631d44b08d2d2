// Package yamlbound refuses YAML that would cost far more to read than its size says: the
// checks every parser of repository content runs first, so that a careless or hostile
// fleet repository (an alias bomb, a file of millions of nodes, nesting thousands deep)
// is an error naming the file and the bound instead of gigabytes of memory.
//
// A first pass over the bytes counts the YAML indicators that can open a node (",", "[",
// "{", ":", "-", "?", "*"): a file with more of them than MaxNodes is refused before any
// parser builds a tree, since building one costs a few hundred bytes a node. Real files
// have about one indicator per node or fewer (scalars without one are common, the
// indicators inside quoted strings rare), so the gate refuses little the exact count would
// accept.
//
// The check then parses into yaml.Node trees, in which an alias is a pointer to its anchor and
// costs nothing. Expansion happens only when something decodes the tree into Go values
// (kustomize's kyaml copies every alias; sigs.k8s.io/yaml and Helm decode into maps), so
// the check computes, per anchored node and once, how many nodes it expands to and how
// deep it goes: the check is linear in the file while the bomb it refuses is exponential.
package yamlbound

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	// yaml.v3, not the v4 that schema decodes with: it is the parser kustomize's kyaml
	// runs, and builds a node tree for a seventh of v4's allocations.
	"go.yaml.in/yaml/v3"
)

// Limits bound one YAML file (all its documents together).
type Limits struct {
	// MaxFileSize is the most bytes in one file. Kubernetes keeps an object under about
	// 1.5 MiB, so a file holding several large CRDs fits well under the default; a file
	// of tens of megabytes is an accident (a generated dump, a binary) or an attack.
	MaxFileSize int64
	// MaxDepth is the deepest nesting of mappings and lists, aliases expanded. The
	// deepest CRD schemas nest a few dozen levels; recursive readers get no deeper.
	MaxDepth int
	// MaxNodes is the most YAML nodes (scalars, mappings, lists) in the file once every
	// alias is replaced by what it refers to, which is what a decoder builds. It bounds
	// both alias bombs and plain files that are all structure (each node is a few hundred
	// bytes once decoded).
	MaxNodes int64
}

// DefaultLimits are generous for real manifests, charts and values files and refuse a
// bomb in well under a second and a hundred megabytes.
func DefaultLimits() Limits {
	return Limits{MaxFileSize: 8 << 20, MaxDepth: 200, MaxNodes: 500_000}
}

// WithDefaults fills the zero fields with DefaultLimits', so that a zero Limits, as an
// options struct left empty gives, is bounded too.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	return l
}

// The gitfleet flags that raise each bound; errors name them so that a person whose real
// file is over a bound knows what to change.
const (
	FlagMaxFileSize = "--max-yaml-file-size"
	FlagMaxDepth    = "--max-yaml-depth"
	FlagMaxNodes    = "--max-yaml-nodes"
)

// Error is a file over one of the bounds.
type Error struct {
	File string
	// Line is where the bound was crossed (the node that went over it), 0 when the whole
	// file is (its size).
	Line int
	// Bound says what was over its limit, in words ("nodes with aliases expanded").
	Bound string
	Limit int64
	// Flag is the gitfleet flag that raises the limit.
	Flag string
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return where + ": " + e.Reason()
}

// Reason is the error without the file and line, for callers that print those their way.
func (e *Error) Reason() string {
	return fmt.Sprintf("more than %d %s; refused so that reading it cannot exhaust gitfleet's memory (raise the limit with %s)", e.Limit, e.Bound, e.Flag)
}

// ErrBound is matched by every *Error (errors.Is), for callers that only need to know a
// bound was hit.
var ErrBound = errors.New("YAML over a bound")

func (e *Error) Is(target error) bool { return target == ErrBound }

// Check refuses data, the content of file, when it is over a limit. Syntax errors are not
// its business: they are left to the parser that reads the file for real, whose message
// people know; Check only stops at the first document it cannot parse.
func Check(file string, data []byte, l Limits) error {
	if l.MaxFileSize > 0 && int64(len(data)) > l.MaxFileSize {
		return &Error{File: file, Bound: "bytes in one file", Limit: l.MaxFileSize, Flag: FlagMaxFileSize}
	}
	if l.MaxDepth <= 0 && l.MaxNodes <= 0 {
		return nil // a size limit alone needs no parse
	}
	if l.MaxNodes > 0 && indicators(data) > l.MaxNodes {
		return &Error{File: file, Bound: "YAML nodes (counted by their indicators before parsing)", Limit: l.MaxNodes, Flag: FlagMaxNodes}
	}
	c := &checker{file: file, limits: l, memo: map[*yaml.Node]extent{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// The parser's own depth limit (far above ours) ends here too.
			return nil
		}
		if err := c.document(&doc); err != nil {
			return err
		}
	}
}

// indicators counts the bytes that can open a YAML node, an upper bound of what a parser
// would build, near enough for a gate.
func indicators(data []byte) int64 {
	var n int64
	for _, b := range data {
		switch b {
		case ',', '[', '{', ':', '-', '?', '*':
			n++
		}
	}
	return n
}

// extent is what one node expands to.
type extent struct {
	nodes  int64
	height int
}

type checker struct {
	file   string
	limits Limits
	// memo holds the extent of every anchored node already measured, so that each alias
	// to it costs one lookup; an entry being measured has height -1 (an alias inside
	// its own anchor, which decoders refuse too).
	memo  map[*yaml.Node]extent
	nodes int64
}

func (c *checker) document(doc *yaml.Node) error {
	e, err := c.measure(doc, 0)
	if err != nil {
		return err
	}
	c.nodes += e.nodes
	if c.limits.MaxNodes > 0 && c.nodes > c.limits.MaxNodes {
		return c.overNodes(doc)
	}
	return nil
}

// measure returns the expanded extent of n found at depth, refusing as soon as a subtree
// alone is over a limit so that a bomb is never walked far.
func (c *checker) measure(n *yaml.Node, depth int) (extent, error) {
	if c.limits.MaxDepth > 0 && depth > c.limits.MaxDepth {
		return extent{}, &Error{File: c.file, Line: n.Line, Bound: "levels of nesting (aliases expanded)", Limit: int64(c.limits.MaxDepth), Flag: FlagMaxDepth}
	}
	target := n
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return extent{nodes: 1}, nil
		}
		target = n.Alias
	}
	if e, ok := c.memo[target]; ok {
		if e.height < 0 {
			return extent{}, fmt.Errorf("%s:%d: alias refers to the node that contains it", c.file, n.Line)
		}
		if c.limits.MaxDepth > 0 && depth+e.height > c.limits.MaxDepth {
			return extent{}, &Error{File: c.file, Line: n.Line, Bound: "levels of nesting (aliases expanded)", Limit: int64(c.limits.MaxDepth), Flag: FlagMaxDepth}
		}
		return e, nil
	}
	anchored := target.Anchor != ""
	if anchored {
		c.memo[target] = extent{height: -1}
	}
	e := extent{nodes: 1}
	for _, child := range target.Content {
		ce, err := c.measure(child, depth+1)
		if err != nil {
			return extent{}, err
		}
		e.nodes += ce.nodes
		e.height = max(e.height, ce.height+1)
		if c.limits.MaxNodes > 0 && c.nodes+e.nodes > c.limits.MaxNodes {
			return extent{}, c.overNodes(n)
		}
	}
	if anchored {
		c.memo[target] = e
	}
	return e, nil
}

func (c *checker) overNodes(n *yaml.Node) error {
	return &Error{File: c.file, Line: n.Line, Bound: "YAML nodes (aliases expanded)", Limit: c.limits.MaxNodes, Flag: FlagMaxNodes}
}
