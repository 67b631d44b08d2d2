package render

import (
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"

	"gitfleet.dev/gitfleet/schema"
)

// manifestIndex finds where in the repository a rendered object was written, so that a
// problem in it is reported at the manifest's file and line rather than at the App. It is
// built on first use: only a repository with problems needs it.
type manifestIndex struct {
	once sync.Once
	src  fs.FS
	// docs holds each Kubernetes document of the tree's YAML files, by kind.
	docs map[string][]manifestDoc
}

type manifestDoc struct {
	file string
	name string
	node *yaml.Node
}

func (x *manifestIndex) build() {
	x.docs = map[string][]manifestDoc{}
	_ = fs.WalkDir(x.src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || p == "status") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(x.src, p)
		if err != nil {
			return nil
		}
		// The documents before a syntax error are indexed; the error is reported elsewhere.
		_ = schema.Documents(data, func(doc *yaml.Node) bool {
			if len(doc.Content) == 0 {
				return true
			}
			n := doc.Content[0]
			kind, name := mapValue(n, "kind"), mapValue(mapNode(n, "metadata"), "name")
			if kind != "" && name != "" {
				x.docs[kind] = append(x.docs[kind], manifestDoc{file: p, name: name, node: n})
			}
			return true
		})
		return nil
	})
}

// locate returns the position of field (a path such as spec.template.spec.containers[0]
// .resources) in the manifest of the object kind/name that an App with its sources under
// dirs renders. A name may have gained a prefix or suffix (kustomize's namePrefix); of
// several manifests, the one nearest to dirs is taken. ok is false when no manifest matches.
func (x *manifestIndex) locate(kind, name, field string, dirs []string) (schema.Position, bool) {
	x.once.Do(x.build)
	var best *manifestDoc
	score := -1
	for i, d := range x.docs[kind] {
		// An exact name first, then the manifest nearest the App's directories.
		s := 0
		switch {
		case d.name == name:
			s = 1000
		case strings.Contains(name, d.name):
		default:
			continue
		}
		near := 0
		for _, dir := range dirs {
			near = max(near, commonDirs(path.Dir(d.file), dir))
		}
		s += near
		if s > score {
			best, score = &x.docs[kind][i], s
		}
	}
	if best == nil {
		return schema.Position{}, false
	}
	n := best.node
	for _, seg := range fieldPath(field) {
		next := n
		if idx, err := strconv.Atoi(seg); err == nil {
			if n.Kind == yaml.SequenceNode && idx < len(n.Content) {
				next = n.Content[idx]
			}
		} else {
			next = mapNode(n, seg)
		}
		if next == nil || next == n {
			break
		}
		n = next
	}
	return schema.Position{File: best.file, Line: n.Line, Column: n.Column}, true
}

// commonDirs counts the leading directories a and b share.
func commonDirs(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	return n
}

// fieldPath splits spec.containers[0].resources into spec, containers, 0, resources.
func fieldPath(field string) []string {
	var out []string
	for _, part := range strings.Split(field, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				out = append(out, part)
				break
			}
			if i > 0 {
				out = append(out, part[:i])
			}
			j := strings.IndexByte(part, ']')
			if j < i {
				break
			}
			out = append(out, part[i+1:j])
			part = part[j+1:]
		}
	}
	return out
}

// mapNode returns the value of key in a mapping node, or nil.
func mapNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mapValue(n *yaml.Node, key string) string {
	if v := mapNode(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
