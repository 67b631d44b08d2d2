package render

import (
	"bytes"
	"fmt"
	"path"

	"go.yaml.in/yaml/v4"

	"gitfleet.dev/gitfleet/schema"
)

// Limits bound what one file of the repository may cost to read. YAML anchors and aliases
// let a few hundred bytes stand for billions of nodes ("billion laughs"); kustomize reads
// its inputs through YAML nodes that expand aliases without a bound, so every YAML file is
// measured here, with aliases counted as expanded, before kustomize or Helm sees it.
type Limits struct {
	// MaxFileBytes is the largest YAML file read; 0 means DefaultLimits'.
	MaxFileBytes int
	// MaxNodes is the most YAML nodes a file may hold with its aliases expanded.
	MaxNodes int
	// MaxDepth is the deepest nesting of mappings and sequences, aliases expanded.
	MaxDepth int
}

// DefaultLimits are far above any real manifest or values file (the largest public CRDs
// are a few MiB and a few hundred thousand nodes) and far below what hurts a server.
var DefaultLimits = Limits{MaxFileBytes: 16 << 20, MaxNodes: 2_000_000, MaxDepth: 1000}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultLimits.MaxNodes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// isYAMLName says whether a file is read as YAML by kustomize or Helm.
func isYAMLName(p string) bool {
	switch path.Ext(p) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return path.Base(p) == "Kustomization"
}

// checkBounds measures one YAML file against the limits. The error is a
// *schema.FieldError at the file (and the line of the node that crossed the bound). A
// file that does not parse is not its business: the YAML reader that uses it reports that.
func (l Limits) checkBounds(file string, data []byte) error {
	l = l.withDefaults()
	if len(data) > l.MaxFileBytes {
		return &schema.FieldError{Position: schema.Position{File: file}, Message: fmt.Sprintf("the file is %d bytes, more than the %d gitfleet reads from one YAML file", len(data), l.MaxFileBytes)}
	}
	// Without both an anchor and an alias nothing expands, and a file within the size
	// limit holds few enough nodes: the common case costs one scan, not a parse.
	if bytes.IndexByte(data, '&') < 0 || bytes.IndexByte(data, '*') < 0 {
		return nil
	}
	total := 0
	var refused error
	// A file that does not parse is not this check's business: the YAML reader that
	// uses it reports that, so the parser's error is dropped.
	_ = schema.Documents(data, func(doc *yaml.Node) bool {
		m := &measure{limits: l, anchored: map[*yaml.Node][2]int{}}
		n, depth, at := m.size(doc, 0)
		total += n
		if at == nil && total > l.MaxNodes {
			at = doc
		}
		if at != nil {
			what := fmt.Sprintf("more than %d YAML nodes once its aliases are expanded", l.MaxNodes)
			if depth > l.MaxDepth {
				what = fmt.Sprintf("nesting deeper than %d levels once its aliases are expanded", l.MaxDepth)
			}
			refused = &schema.FieldError{Position: schema.Position{File: file, Line: at.Line, Column: at.Column}, Message: "refused: the file holds " + what + " (a YAML alias bomb, or a file far larger than any manifest); gitfleet does not render it"}
		}
		return refused == nil
	})
	return refused
}

// measure counts nodes with aliases expanded, each anchor's size computed once, so the
// count itself is linear in the file.
type measure struct {
	limits Limits
	// anchored holds the expanded size and depth (below the node) of anchored nodes.
	anchored map[*yaml.Node][2]int
}

// size returns the expanded node count and deepest level of n, found at depth, and the
// node at which a limit was crossed, or nil.
func (m *measure) size(n *yaml.Node, depth int) (int, int, *yaml.Node) {
	if depth > m.limits.MaxDepth {
		return 0, depth, n
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		sd, ok := m.anchored[n.Alias]
		if !ok {
			// An alias to an anchor still being measured (a cycle) or not seen before.
			s, d, at := m.size(n.Alias, depth)
			if at != nil {
				at = n
			}
			return s, d, at
		}
		if depth+sd[1] > m.limits.MaxDepth {
			return sd[0], depth + sd[1], n
		}
		return sd[0], depth + sd[1], nil
	}
	total, deepest := 1, depth
	for _, c := range n.Content {
		s, d, at := m.size(c, depth+1)
		total += s
		deepest = max(deepest, d)
		if at != nil {
			return total, deepest, at
		}
		if total > m.limits.MaxNodes {
			return total, deepest, c
		}
	}
	if n.Anchor != "" {
		m.anchored[n] = [2]int{total, deepest - depth}
	}
	return total, deepest, nil
}
