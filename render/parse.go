package render

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// parseDocument reads one YAML document into an object; an empty document is nil.
//
// The result is what Kubernetes' own reading gives (sigs.k8s.io/yaml's YAMLToJSON, then
// Unstructured's JSON decoding): YAML 1.1 scalars as yaml.v2 resolves them, map keys made
// strings, and numbers as the JSON round trip leaves them (int64 where the number is a
// whole one that fits, else float64). decodeDirect gets there without writing and
// reading JSON, which was a fifth of a Helm render; every document it is not sure of
// (errors, a top level that is not a mapping, a missing kind, keys or values JSON would
// change) goes the long way, so that errors and edge cases are Kubernetes' own.
// FuzzParseDocument compares the two.
func parseDocument(doc string) (*unstructured.Unstructured, error) {
	if u, ok := decodeDirect(doc); ok {
		return u, nil
	}
	return parseDocumentViaJSON(doc)
}

// parseDocumentViaJSON is Kubernetes' reading of a YAML document, step by step.
func parseDocumentViaJSON(doc string) (*unstructured.Unstructured, error) {
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 || string(data) == "null" {
		return nil, nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return u, nil
}

// decodeDirect is parseDocument's short way; ok is false when the long way must decide.
func decodeDirect(doc string) (*unstructured.Unstructured, bool) {
	var v any
	if err := yamlv2.Unmarshal([]byte(doc), &v); err != nil {
		return nil, false
	}
	top, ok := v.(map[any]any)
	if !ok {
		return nil, false
	}
	obj, ok := jsonMap(top, 0)
	if !ok {
		return nil, false
	}
	if kind, _ := obj["kind"].(string); kind == "" {
		return nil, false
	}
	return &unstructured.Unstructured{Object: obj}, true
}

// maxJSONDepth is the nesting Kubernetes' JSON decoding accepts.
const maxJSONDepth = 10000

func jsonMap(m map[any]any, depth int) (map[string]any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		key, ok := jsonKey(k)
		if !ok {
			return nil, false
		}
		if _, dup := out[key]; dup {
			return nil, false // two YAML keys that are one JSON key: leave it to Kubernetes
		}
		val, ok := jsonValue(v, depth+1)
		if !ok {
			return nil, false
		}
		out[key] = val
	}
	return out, true
}

// jsonKey is a map key as sigs.k8s.io/yaml turns it into a string.
func jsonKey(k any) (string, bool) {
	switch k := k.(type) {
	case string:
		return k, utf8.ValidString(k)
	case int:
		return strconv.Itoa(k), true
	case int64:
		return strconv.FormatInt(k, 10), true
	case bool:
		return strconv.FormatBool(k), true
	}
	return "", false // float keys and the rest: rare, and the long way knows them
}

// jsonValue is a value as it comes out of a JSON round trip into Unstructured.
func jsonValue(v any, depth int) (any, bool) {
	switch v := v.(type) {
	case nil, bool:
		return v, true
	case string:
		return v, utf8.ValidString(v)
	case int:
		return int64(v), true
	case int64:
		return v, true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
		return float64(v), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false // JSON has no such numbers: the long way reports it
		}
		// JSON writes a whole float below 1e21 as its shortest digits without a fraction
		// (7.000000000800120e17 as 700000000080012000, not the float's exact value), and
		// reading that back gives an int64 when it fits.
		if v == math.Trunc(v) && math.Abs(v) < 1e21 {
			if i, err := strconv.ParseInt(strconv.FormatFloat(v, 'f', -1, 64), 10, 64); err == nil {
				return i, true
			}
		}
		return v, true
	case map[any]any:
		return jsonMap(v, depth)
	case []any:
		if depth > maxJSONDepth {
			return nil, false
		}
		out := make([]any, len(v))
		for i, e := range v {
			val, ok := jsonValue(e, depth+1)
			if !ok {
				return nil, false
			}
			out[i] = val
		}
		return out, true
	}
	return nil, false
}
