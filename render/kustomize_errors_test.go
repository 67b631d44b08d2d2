package render

import (
	"strings"
	"testing"
	"testing/fstest"
)

// The messages are kustomize v0.21's own, for the usual mistakes.
func TestKustomizeCause(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"missing file",
			"accumulating resources: accumulation err='accumulating resources from 'missing.yaml': '/app/missing.yaml' doesn't exist': must build at directory: not a valid directory: '/app/missing.yaml' doesn't exist",
			"accumulating resources from 'missing.yaml': '/app/missing.yaml' doesn't exist"},
		{"duplicate id",
			"accumulating resources: accumulation err='merging resources from 'b.yaml': may not add resource with an already registered id: ConfigMap.v1.[noGrp]/a.[noNs]': must build at directory: '/app/b.yaml': file is not directory",
			"merging resources from 'b.yaml': may not add resource with an already registered id: ConfigMap.v1.[noGrp]/a.[noNs]"},
		{"missing file in a base",
			"accumulating resources: accumulation err='accumulating resources from '../base': '/base' must resolve to a file': recursed accumulation of path '/base': accumulating resources: accumulation err='accumulating resources from 'x.yaml': '/base/x.yaml' doesn't exist': must build at directory: not a valid directory: '/base/x.yaml' doesn't exist",
			"in base: accumulating resources from 'x.yaml': '/base/x.yaml' doesn't exist"},
		{"two levels of bases, through gitfleet's namespace kustomization",
			"accumulating resources: accumulation err='accumulating resources from '../../../x': '" + syntheticRoot + "/x/0/ns' must resolve to a file': recursed accumulation of path '" + syntheticRoot + "/x/0/ns': accumulating resources: accumulation err='accumulating resources from '../ns': '/ns' must resolve to a file': recursed accumulation of path '/ns': accumulating resources: accumulation err='accumulating resources from '../base': '/base' must resolve to a file': recursed accumulation of path '/base': accumulating resources: accumulating resources from 'a.yaml': missing kind in object",
			"in base: accumulating resources from 'a.yaml': missing kind in object"},
		{"not a chain", `invalid Kustomization: json: unknown field "resourcez"`, `invalid Kustomization: json: unknown field "resourcez"`},
	} {
		if got := kustomizeCause(tc.in); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// A manifest that does not parse is reported at its own file and line, not at the App
// with kustomize's chain around it; a tab is named.
func TestKustomizeBrokenManifestAtItsLine(t *testing.T) {
	for _, tc := range []struct{ name, manifest, want string }{
		{"tab", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n", "apps/bad/base/cm.yaml:4:1: invalid YAML: a tab character; YAML indents with spaces only"},
		{"unclosed bracket", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n", "apps/bad/base/cm.yaml:3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys, repo := load(t, map[string]string{
				"clusters/dev.yaml":                cluster,
				"apps/bad/app.yaml":                badApp,
				"apps/bad/kustomization.yaml":      "resources: [base]\n",
				"apps/bad/base/kustomization.yaml": "resources: [cm.yaml]\n",
			})
			// The loader reports such a file already; the renderer must too, for a file
			// the loader was told to ignore.
			fsys["apps/bad/base/cm.yaml"] = &fstest.MapFile{Data: []byte(tc.manifest)}
			r, err := New(t.Context(), fsys, repo)
			if err != nil {
				t.Fatal(err)
			}
			list := r.Check(t.Context())
			if len(list) != 1 || !strings.HasPrefix(list[0].Error(), tc.want) {
				t.Fatalf("problems %v, want one starting %q", list, tc.want)
			}
		})
	}
}
