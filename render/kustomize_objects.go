package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// kustomizeObject turns one resource of kustomize's output into an object. Going through
// JSON (res.MarshalJSON, then UnmarshalJSON) is what the Kubernetes machinery needs, since
// kustomize's own maps hold Go ints where DeepCopy and apply want int64, but
// res.MarshalJSON encodes the node as YAML text, decodes that into a map and encodes the
// map as JSON, which we then decode again: on a 2,000-object kustomization that was a third
// of all the bytes a render allocated (BenchmarkRenderBigKustomization). The node tree is
// read directly instead, giving the same values the JSON path gives; any node whose value
// is not plainly a string, a decimal integer, a simple float, a boolean or null (aliases,
// merge keys, explicit tags, timestamps, hex or octal numbers, ...) sends the whole object
// down the JSON path, so the result is the same either way.
func kustomizeObject(res *resource.Resource) (*unstructured.Unstructured, error) {
	if obj, ok := nodeValue(res.YNode()).(map[string]any); ok {
		if u := (&unstructured.Unstructured{Object: obj}); u.GetKind() != "" {
			return u, nil
		}
		// Without a kind the JSON decoder's error is the one to report.
	}
	data, err := res.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("reading %s from kustomize output: %w", res.CurId(), err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("reading %s from kustomize output: %w", res.CurId(), err)
	}
	return u, nil
}

// notPlain is returned by nodeValue for a node it leaves to the JSON path.
type notPlain struct{}

var (
	// decimalInt and simpleFloat are the number spellings read here; YAML's others (0x1F,
	// 0o17, .inf, ...) take the JSON path.
	decimalInt  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	simpleFloat = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
	// plainWord is a spelling that YAML reads as a string unless it is one of
	// nonStringWords.
	plainWord      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/-]*$`)
	nonStringWords = map[string]bool{"true": true, "True": true, "TRUE": true, "false": true, "False": true, "FALSE": true, "null": true, "Null": true, "NULL": true}
)

// nodeValue is the value the JSON path gives for n (a map[string]any, []any, string,
// int64, float64, bool or nil), or notPlain{}.
func nodeValue(n *kyaml.Node) any {
	if n == nil || n.Style&kyaml.TaggedStyle != 0 {
		return notPlain{}
	}
	switch n.Kind {
	case kyaml.DocumentNode:
		if len(n.Content) != 1 {
			return notPlain{}
		}
		return nodeValue(n.Content[0])
	case kyaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			key, ok := scalarValue(k).(string)
			if k.Kind != kyaml.ScalarNode || !ok {
				return notPlain{}
			}
			if _, dup := m[key]; dup {
				return notPlain{}
			}
			v := nodeValue(n.Content[i+1])
			if _, ok := v.(notPlain); ok {
				return v
			}
			m[key] = v
		}
		return m
	case kyaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v := nodeValue(c)
			if _, ok := v.(notPlain); ok {
				return v
			}
			s = append(s, v)
		}
		return s
	case kyaml.ScalarNode:
		return scalarValue(n)
	}
	return notPlain{}
}

// scalarValue reads a scalar whose tag the YAML parser resolved from its spelling (or
// kustomize set), checking that the spelling still fits the tag: a transformer may have
// changed the value and not the tag, and that case is the JSON path's.
func scalarValue(n *kyaml.Node) any {
	switch n.Tag {
	case "":
		// Kustomize makes some nodes (the keys it adds, such as metadata.namespace)
		// without a tag; the JSON path prints them as they are and reads them back, so
		// such a value is a string when it is spelled as one.
		if plainWord.MatchString(n.Value) && !nonStringWords[n.Value] {
			return n.Value
		}
	case kyaml.NodeTagString:
		if !utf8.ValidString(n.Value) {
			return notPlain{}
		}
		return n.Value
	case kyaml.NodeTagNull:
		switch n.Value {
		// An empty one comes out of the JSON path as "", not null: left to it.
		case "~", "null", "Null", "NULL":
			return nil
		}
	case kyaml.NodeTagBool:
		switch n.Value {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
	case kyaml.NodeTagInt:
		if decimalInt.MatchString(n.Value) {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i
			}
		}
	case kyaml.NodeTagFloat:
		if !simpleFloat.MatchString(n.Value) {
			return notPlain{}
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return notPlain{}
		}
		// The JSON path prints the float and reads the number back, as int64 when the
		// printed form is an integer (1.0 becomes 1): do exactly that.
		text, err := json.Marshal(f)
		if err != nil {
			return notPlain{}
		}
		if i, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			return i
		}
		return f
	}
	return notPlain{}
}
