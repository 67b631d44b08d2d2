package render

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var parseCases = []string{
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: b}\n",
	"kind: X\nn: 1\nf: 1.0\ng: 1.5\nh: 1e21\ni: 1e20\nj: -0.0\nk: 9223372036854775807\nl: 9223372036854775808\nm: 18446744073709551616\n",
	"kind: X\nb: yes\nc: on\nd: ~\ne: 0x1F\nf: 0o17\ng: 017\nh: .inf\n",
	"kind: X\n1: a\ntrue: b\n1.5: c\n",
	"kind: X\na: &x {b: 1}\nc: *x\n",
	"kind: X\nt: 2024-01-01T00:00:00Z\nd: 2024-01-01\n",
	"kind: X\nbin: !!binary aGVsbG8=\n",
	"kind: X\n\"1\": a\n1: b\n",
	"kind: \"\"\n",
	"kind: 5\n",
	"apiVersion: v1\n",
	"- a\n- b\n",
	"just a string\n",
	"",
	"# only a comment\n",
	"kind: X\nlist: [1, 2.5, {a: [true, null]}]\n",
	"kind: X\nbad: [\n",
	"kind: X\nx: \"\\xff\"\n",
	"kind: X\n? [a]\n: b\n",
}

// TestParseDocumentIsKubernetes checks the short way against Kubernetes' reading on the
// cases above and on every YAML file in the repository's test data and fleet-example, and
// that it answers for the ordinary ones.
func TestParseDocumentIsKubernetes(t *testing.T) {
	docs := append([]string(nil), parseCases...)
	for _, root := range []string{"testdata", "../fleet-example", "../test/testdata"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(p)
			if err == nil {
				docs = append(docs, splitManifests(string(data))...)
			}
			return nil
		})
	}
	direct := 0
	for _, d := range docs {
		compareParse(t, d)
		if _, ok := decodeDirect(d); ok {
			direct++
		}
	}
	if direct < 200 {
		t.Fatalf("the short way answered for %d of %d documents, want most of them", direct, len(docs))
	}
}

func FuzzParseDocument(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, doc string) { compareParse(t, doc) })
}

// compareParse checks that whenever the short way answers, its answer is Kubernetes'
// (when it does not, parseDocument is the long way itself).
func compareParse(t *testing.T, doc string) {
	t.Helper()
	got, ok := decodeDirect(doc)
	if !ok {
		return
	}
	want, err := parseDocumentViaJSON(doc)
	if err != nil {
		t.Fatalf("decodeDirect(%q) answered, Kubernetes' reading fails: %v", doc, err)
	}
	if want == nil || !reflect.DeepEqual(want.Object, got.Object) {
		t.Fatalf("decodeDirect(%q) = %#v, Kubernetes' reading gives %#v", doc, got, want)
	}
}
