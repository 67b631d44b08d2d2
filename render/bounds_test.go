package render

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// billionLaughs is nine levels of ten aliases each: a billion nodes in under 1 KiB.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a0: &a0 \"lol\"\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestCheckBounds(t *testing.T) {
	l := Limits{MaxFileBytes: 1 << 20, MaxNodes: 10_000, MaxDepth: 50}
	deep := strings.Repeat("[", 60) + strings.Repeat("]", 60)
	for _, tc := range []struct{ name, data, want string }{
		{"billion laughs", billionLaughs(), "x.yaml:9:"},
		{"deep through aliases", "a: &a " + strings.Repeat("[", 30) + strings.Repeat("]", 30) + "\nb: &b [*a]\nc: " + strings.Repeat("[", 25) + "*b" + strings.Repeat("]", 25) + "\n", "nesting deeper than 50"},
		{"too large", strings.Repeat("#", 1<<20+1), "the file is 1048577 bytes"},
		{"anchors used once", "a: &a {x: 1}\nb: *a\nc: *a\n", ""},
		{"deep without aliases is the parser's", deep, ""},
	} {
		err := l.checkBounds("x.yaml", []byte(tc.data))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// An alias bomb in an App's kustomize manifest, a chart's values.yaml or a values file is
// refused before kustomize or Helm expand it, at the file, by validate's Check. Without
// the bound this test does not finish: kustomize expands the bomb until memory runs out.
func TestAliasBombRefusedInEveryAppInput(t *testing.T) {
	helmApp := func(name, chart, values string) string {
		return fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: %s}\nspec:\n  namespace: x\n  source: {helm: {chart: %s, valuesFiles: [%s]}}\n  targets: {clusters: [dev]}\n", name, chart, values)
	}
	files := map[string]string{
		"clusters/dev.yaml":             cluster,
		"apps/bad/app.yaml":             badApp,
		"apps/bad/kustomization.yaml":   "resources: [cm.yaml]\n",
		"apps/c1/app.yaml":              helmApp("c1", "charts/bomb", "values/ok.yaml"),
		"apps/c2/app.yaml":              helmApp("c2", "charts/ok", "values/bomb.yaml"),
		"charts/bomb/Chart.yaml":        "apiVersion: v2\nname: bomb\nversion: 0.1.0\n",
		"charts/bomb/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"charts/ok/Chart.yaml":          "apiVersion: v2\nname: ok\nversion: 0.1.0\n",
		"charts/ok/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"values/ok.yaml":                "a: 1\n",
		"values/bomb.yaml":              "a: 1\n",
	}
	fsys, repo := load(t, files)
	// The loader would refuse these files as gitfleet files are; the renderer must
	// refuse them on its own, for every path a bomb can take into kustomize or Helm.
	for _, p := range []string{"apps/bad/cm.yaml", "charts/bomb/values.yaml", "values/bomb.yaml"} {
		fsys[p] = &fstest.MapFile{Data: []byte(billionLaughs())}
	}
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range r.Check(t.Context()) {
		got = append(got, e.File)
		if !strings.Contains(e.Message, "alias bomb") {
			t.Errorf("%v: want the bound named", e)
		}
	}
	want := "apps/bad/cm.yaml charts/bomb/values.yaml values/bomb.yaml"
	if strings.Join(got, " ") != want {
		t.Errorf("refused files %v, want %s", got, want)
	}
}
