package reference

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/render"
)

// parseStream reads a binary's multi-document YAML output into objects the way kubectl
// reads a manifest: documents split at "---", each converted to JSON by sigs.k8s.io/yaml.
// Empty documents (comments only) are skipped.
func parseStream(data []byte) ([]map[string]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []map[string]any
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(j, &obj); err != nil {
			return nil, fmt.Errorf("document %d is not an object: %w\n%s", i, err, doc)
		}
		out = append(out, obj)
	}
}

// gitfleetLabels are the labels render adds to every object, with the value each must have
// for an App of a fleet.
func gitfleetLabels(app, fleet string) map[string]string {
	return map[string]string{
		render.LabelManagedBy: render.ManagedByValue,
		render.LabelApp:       app,
		render.LabelFleet:     fleet,
	}
}

// comparison is the outcome of comparing one App's objects.
type comparison struct {
	// diffs are the differences, each naming its object; empty when the sets match.
	diffs []string
	// replaced lists the reference's own values of gitfleet's labels that gitfleet
	// replaced (charts commonly set app.kubernetes.io/managed-by: Helm).
	replaced []string
	objects  int
}

// compareOptions say what the comparison ignores.
type compareOptions struct {
	// labels are gitfleet's labels and the values they must have.
	labels map[string]string
	// randomNames are prefixes of object names that a chart completes at random
	// (randAlphaNum): such objects are paired by the prefix.
	randomNames []string
	// tolerate are applied to both sides before they are compared: each makes a known
	// difference disappear.
	tolerate []func(obj map[string]any)
}

// compareObjects compares gitfleet's objects for an App with the reference's. Objects are
// paired by apiVersion, kind, namespace and name; paired objects must be equal once
// gitfleet's labels are checked and removed from both sides and every number is a float64.
func compareObjects(got []*unstructured.Unstructured, want []map[string]any, o compareOptions) comparison {
	var c comparison
	labels := o.labels
	gotByKey := map[string]map[string]any{}
	for _, u := range got {
		obj := normalise(u.Object).(map[string]any)
		unrandomise(obj, o.randomNames)
		key := uniqueKey(gotByKey, objectKey(obj))
		for _, problem := range checkLabels(obj, labels) {
			c.diffs = append(c.diffs, key+": "+problem)
		}
		stripLabels(obj, labels)
		for _, f := range o.tolerate {
			f(obj)
		}
		gotByKey[key] = obj
	}
	wantByKey := map[string]map[string]any{}
	for _, w := range want {
		obj := normalise(w).(map[string]any)
		unrandomise(obj, o.randomNames)
		key := uniqueKey(wantByKey, objectKey(obj))
		for _, l := range slices.Sorted(maps.Keys(labels)) {
			if v, ok := nestedLabels(obj)[l]; ok && v != labels[l] {
				c.replaced = append(c.replaced, fmt.Sprintf("%s: %s=%v", key, l, v))
			}
		}
		stripLabels(obj, labels)
		for _, f := range o.tolerate {
			f(obj)
		}
		wantByKey[key] = obj
	}
	c.objects = len(wantByKey)
	keys := slices.Sorted(maps.Keys(wantByKey))
	for k := range gotByKey {
		if _, ok := wantByKey[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		g, inGot := gotByKey[k]
		w, inWant := wantByKey[k]
		switch {
		case !inGot:
			c.diffs = append(c.diffs, k+": rendered by the reference, missing from gitfleet")
		case !inWant:
			c.diffs = append(c.diffs, k+": rendered by gitfleet, not by the reference")
		default:
			if d := cmp.Diff(w, g); d != "" {
				c.diffs = append(c.diffs, k+" differs (-reference +gitfleet):\n"+d)
			}
		}
	}
	return c
}

// unrandomise replaces the random part of a generated name with "<random>".
func unrandomise(obj map[string]any, prefixes []string) {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			meta["name"] = p + "<random>"
			return
		}
	}
}

// objectKey names an object the way the comparison pairs objects.
func objectKey(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return fmt.Sprintf("%v %v %s/%s", obj["apiVersion"], obj["kind"], ns, name)
}

// uniqueKey numbers repeated keys (a chart may render the same object twice) so that none
// is lost; the second is "KEY #2".
func uniqueKey(seen map[string]map[string]any, key string) string {
	k := key
	for i := 2; ; i++ {
		if _, ok := seen[k]; !ok {
			return k
		}
		k = fmt.Sprintf("%s #%d", key, i)
	}
}

func nestedLabels(obj map[string]any) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	return labels
}

// checkLabels reports gitfleet's labels that are missing or wrong on one of its objects.
func checkLabels(obj map[string]any, want map[string]string) []string {
	var problems []string
	have := nestedLabels(obj)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := have[k]; !ok || v != want[k] {
			problems = append(problems, fmt.Sprintf("label %s is %v, want %q", k, v, want[k]))
		}
	}
	return problems
}

// stripLabels removes gitfleet's labels; labels left empty (or null in a template's output)
// are removed too, since gitfleet writes a labels map on every object.
func stripLabels(obj map[string]any, labels map[string]string) {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return
	}
	l, _ := meta["labels"].(map[string]any)
	for k := range labels {
		delete(l, k)
	}
	if v, present := meta["labels"]; present && (v == nil || len(l) == 0) {
		delete(meta, "labels")
	}
}

// normalise copies a decoded object with every number as a float64: gitfleet's objects hold
// int64 (Kubernetes' unstructured convention), decoded JSON holds float64.
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalise(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalise(e)
		}
		return out
	case int:
		return float64(v)
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	default:
		return v
	}
}

// walkStrings replaces every string value (not map keys) in v by f of it.
func walkStrings(v any, f func(string) string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok {
				v[k] = f(s)
			} else {
				walkStrings(e, f)
			}
		}
	case []any:
		for i, e := range v {
			if s, ok := e.(string); ok {
				v[i] = f(s)
			} else {
				walkStrings(e, f)
			}
		}
	}
}

// report formats a comparison's differences, at most max of them, for a test failure.
func report(diffs []string, max int) string {
	var b strings.Builder
	sort.Strings(diffs)
	for i, d := range diffs {
		if i == max {
			fmt.Fprintf(&b, "... and %d more\n", len(diffs)-max)
			break
		}
		b.WriteString(d)
		b.WriteString("\n")
	}
	return b.String()
}
