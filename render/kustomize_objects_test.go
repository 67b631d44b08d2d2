package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// viaJSON is the conversion kustomizeObject stands in for.
func viaJSON(res *resource.Resource) (map[string]any, error) {
	data, err := res.MarshalJSON()
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return u.Object, nil
}

// TestKustomizeObjectMatchesTheJSONPath reads manifests with every kind of scalar YAML has
// both ways: reading the node tree must give what the JSON round trip gives, or leave the
// object to it.
func TestKustomizeObjectMatchesTheJSONPath(t *testing.T) {
	docs := map[string]string{
		"plain":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {x: \"1\"}}\ndata:\n  k: v\n  empty: \"\"\n  quoted: \"123\"\n  multi: |\n    line1\n    line2\n",
		"untagged":   "apiVersion: v1\nkind: X\nmetadata: {name: un}\n",
		"inf":        "apiVersion: v1\nkind: X\nmetadata: {name: i}\nspec: {inf: .inf}\n",
		"empty-null": "apiVersion: v1\nkind: X\nmetadata: {name: e}\nspec: {f: , g: x}\n",
		"numbers": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 3\n  big: 9223372036854775807\n  bigger: 9223372036854775808\n  neg: -12\n" +
			"  f: 0.5\n  whole: 1.0\n  exp: 1e3\n  tiny: 1e-9\n  huge: 1e21\n  hex: 0x1F\n  oct: 0o17\n  leading: 012\n  under: 1_000\n",
		"bools-and-nulls": "apiVersion: v1\nkind: X\nmetadata: {name: b}\nspec: {a: true, b: False, c: yes, d: null, e: ~, g: NULL, h: [true, 1, x, null], i: [], j: {}}\n",
		"tags":            "apiVersion: v1\nkind: X\nmetadata: {name: t}\nspec: {a: !!str 12, b: !!int \"7\", c: 2001-12-14, d: !!binary aGk=, e: !custom x, f: !!float 3}\n",
		"aliases":         "apiVersion: v1\nkind: X\nmetadata: {name: al}\nbase: &b {x: 1}\nuse: *b\nmerged: {<<: *b, y: 2}\n",
		"keys":            "apiVersion: v1\nkind: X\nmetadata: {name: k}\nspec: {1: one, true: yes, \"2\": two}\n",
		"unicode":         "apiVersion: v1\nkind: X\nmetadata: {name: u}\ndata: {s: \"\\u2028 é \\t\\r\\n <>&\"}\n",
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	untagged := map[string][][2]string{
		"untagged":     {{"namespace", "ns"}, {"n4", "a.b/c-d_e"}},
		"untagged-odd": {{"true", "x"}, {"n1", "12"}, {"n2", "null"}, {"n3", "a b"}},
	}
	addUntagged := func(res *resource.Resource, fields [][2]string) {
		// Kustomize's own additions have no tag; set some the way it does.
		for _, kv := range fields {
			res.YNode().Content = append(res.YNode().Content, &kyaml.Node{Kind: kyaml.ScalarNode, Value: kv[0]}, &kyaml.Node{Kind: kyaml.ScalarNode, Value: kv[1]})
		}
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			resources, err := rf.SliceFromBytes([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range resources {
				addUntagged(res, untagged[name])
				want, wantErr := viaJSON(res)
				got, err := kustomizeObject(res)
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("error %v, the JSON path's %v", err, wantErr)
				}
				if err != nil {
					return
				}
				if diff := cmp.Diff(want, got.Object); diff != "" {
					t.Errorf("(-json +direct):\n%s", diff)
				}
				// The common manifests must not need the JSON path, or nothing is saved.
				if _, direct := nodeValue(res.YNode()).(map[string]any); !direct && (name == "plain" || name == "bools-and-nulls" || name == "untagged") {
					t.Errorf("%s went through JSON", name)
				}
			}
		})
	}
}
