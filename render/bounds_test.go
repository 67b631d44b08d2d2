package render

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"gitfleet.dev/gitfleet/render/yamlbound"

	"gitfleet.dev/gitfleet/test/hostile"
)

// exponentialOverlay is a kustomization tree without a single alias that asks for 2^levels
// ConfigMaps: each level includes the one below twice, under two name prefixes.
func exponentialOverlay(files map[string]string, root string, levels int) {
	files[root+"/l0/kustomization.yaml"] = "resources: [cm.yaml]\n"
	files[root+"/l0/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
	for i := 1; i <= levels; i++ {
		dir := fmt.Sprintf("%s/l%d", root, i)
		files[dir+"/kustomization.yaml"] = "resources: [left, right]\n"
		for _, side := range []string{"left", "right"} {
			files[dir+"/"+side+"/kustomization.yaml"] = fmt.Sprintf("namePrefix: %s%d-\nresources: [../../l%d]\n", side, i, i-1)
		}
	}
}

const (
	manifestHead = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n"
	kustomizeApp = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n  namespace: web\n  source: {kustomize: {path: apps/web}}\n  targets: {clusters: [dev]}\n"
	helmApp      = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n  namespace: web\n  source: {helm: {chart: charts/web, valuesFiles: [values/web.yaml]}}\n  targets: {clusters: [dev]}\n"
	goodApp      = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: good}\nspec:\n  namespace: good\n  source: {kustomize: {path: apps/good}}\n  targets: {clusters: [dev]}\n"
	tinyChart    = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
	tinyTemplate = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
)

// TestAppInputsOverABoundAreRefused: whatever an App's kustomize or Helm inputs hold, or
// its templates write, the render of that App fails quickly with an error naming the
// file and the flag that raises the bound; the App beside it renders.
func TestAppInputsOverABoundAreRefused(t *testing.T) {
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	for _, tc := range []struct {
		name   string
		files  map[string]string
		limits Limits
		// want are the strings the error must contain: the file and the flag.
		want []string
	}{{
		name: "alias bomb in a kustomize manifest",
		files: map[string]string{
			"apps/web/app.yaml": kustomizeApp, "apps/web/kustomization.yaml": "resources: [cm.yaml]\n",
			"apps/web/cm.yaml": manifestHead + hostile.AliasBomb(),
		},
		want: []string{"apps/web/cm.yaml", yamlbound.FlagMaxNodes},
	}, {
		name: "alias bomb in a kustomization",
		files: map[string]string{
			"apps/web/app.yaml": kustomizeApp, "apps/web/kustomization.yaml": "resources: [cm.yaml]\n" + hostile.AliasBomb(),
			"apps/web/cm.yaml": tinyTemplate,
		},
		want: []string{"apps/web/kustomization.yaml", yamlbound.FlagMaxNodes},
	}, {
		name: "deep nesting in a kustomize manifest",
		files: map[string]string{
			"apps/web/app.yaml": kustomizeApp, "apps/web/kustomization.yaml": "resources: [cm.yaml]\n",
			"apps/web/cm.yaml": manifestHead + "data: " + deep + "\n",
		},
		want: []string{"apps/web/cm.yaml:4", yamlbound.FlagMaxDepth},
	}, {
		name: "huge kustomize manifest",
		files: map[string]string{
			"apps/web/app.yaml": kustomizeApp, "apps/web/kustomization.yaml": "resources: [cm.yaml]\n",
			"apps/web/cm.yaml": manifestHead + "data: {x: \"" + strings.Repeat("x", 4096) + "\"}\n",
		},
		limits: Limits{YAML: yamlbound.Limits{MaxFileSize: 1024}},
		want:   []string{"apps/web/cm.yaml", yamlbound.FlagMaxFileSize},
	}, {
		name: "kustomize overlays that double at each level",
		files: func() map[string]string {
			f := map[string]string{"apps/web/app.yaml": kustomizeApp, "apps/web/kustomization.yaml": "resources: [../tree/l40]\n"}
			exponentialOverlay(f, "apps/tree", 40)
			return f
		}(),
		want: []string{"apps/tree/l", FlagMaxObjects},
	}, {
		name: "alias bomb in a Helm values file",
		files: map[string]string{
			"apps/web/app.yaml": helmApp, "charts/web/Chart.yaml": tinyChart, "charts/web/templates/cm.yaml": tinyTemplate,
			"values/web.yaml": hostile.AliasBomb(),
		},
		want: []string{"values/web.yaml", yamlbound.FlagMaxNodes},
	}, {
		name: "alias bomb in a chart's values.yaml",
		files: map[string]string{
			"apps/web/app.yaml": helmApp, "charts/web/Chart.yaml": tinyChart, "charts/web/templates/cm.yaml": tinyTemplate,
			"charts/web/values.yaml": hostile.AliasBomb(), "values/web.yaml": "{}\n",
		},
		want: []string{"charts/web/values.yaml", yamlbound.FlagMaxNodes},
	}, {
		name: "alias bomb written by a template",
		files: map[string]string{
			"apps/web/app.yaml": helmApp, "charts/web/Chart.yaml": tinyChart, "values/web.yaml": "{}\n",
			"charts/web/templates/cm.yaml": manifestHead + hostile.AliasBomb(),
		},
		want: []string{"web/templates/cm.yaml", yamlbound.FlagMaxNodes},
	}, {
		name: "template that renders too many objects",
		files: map[string]string{
			"apps/web/app.yaml": helmApp, "charts/web/Chart.yaml": tinyChart, "values/web.yaml": "{}\n",
			"charts/web/templates/cm.yaml": "{{ range until 50 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-{{ . }}}\n{{ end }}\n",
		},
		limits: Limits{MaxObjects: 10},
		want:   []string{"rendered objects", FlagMaxObjects},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				"clusters/dev.yaml": cluster, "apps/good/app.yaml": goodApp,
				"apps/good/kustomization.yaml": "resources: [cm.yaml]\n", "apps/good/cm.yaml": tinyTemplate,
			}
			for k, v := range tc.files {
				files[k] = v
			}
			fsys, repo := load(t, files)
			r, err := NewWithOptions(t.Context(), fsys, repo, Options{Limits: tc.limits})
			if err != nil {
				t.Fatal(err)
			}
			res := r.Cluster(t.Context(), repo.Cluster("dev"))
			got := map[string]AppResult{}
			for _, a := range res.Apps {
				got[a.App.Metadata.Name] = a
			}
			if good := got["good"]; good.Err != nil || len(good.Objects) != 1 {
				t.Errorf("the good App: %v, %d objects; want it rendered", good.Err, len(good.Objects))
			}
			web := got["web"]
			var rerr *Error
			if !errors.As(web.Err, &rerr) || len(web.Objects) != 0 {
				t.Fatalf("web: error %v, %d objects; want a render error and no objects", web.Err, len(web.Objects))
			}
			if strings.Contains(tc.want[1], "yaml") && !errors.Is(web.Err, yamlbound.ErrBound) {
				t.Errorf("error %v does not match yamlbound.ErrBound", web.Err)
			}
			for _, w := range tc.want {
				if !strings.Contains(web.Err.Error(), w) {
					t.Errorf("error %q does not name %q", web.Err, w)
				}
			}
		})
	}
}

// TestRenderTimeout: an App whose render does not finish in time fails with ErrTimeout,
// naming the flag. The limit is a nanosecond, so the render cannot beat it; nothing here
// measures time.
func TestRenderTimeout(t *testing.T) {
	fsys, repo := load(t, map[string]string{
		"clusters/dev.yaml": cluster, "apps/web/app.yaml": helmApp, "charts/web/Chart.yaml": tinyChart, "values/web.yaml": "{}\n",
		"charts/web/templates/cm.yaml": tinyTemplate,
	})
	r, err := NewWithOptions(t.Context(), fsys, repo, Options{Limits: Limits{Timeout: time.Nanosecond}})
	if err != nil {
		t.Fatal(err)
	}
	res := r.Cluster(t.Context(), repo.Cluster("dev"))
	if len(res.Apps) != 1 || !errors.Is(res.Apps[0].Err, ErrTimeout) || !strings.Contains(res.Apps[0].Err.Error(), FlagTimeout) {
		t.Fatalf("apps %+v, want one that timed out naming %s", res.Apps, FlagTimeout)
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
		fsys[p] = &fstest.MapFile{Data: []byte(hostile.AliasBomb())}
	}
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range r.Check(t.Context()) {
		got = append(got, e.File)
		if !strings.Contains(e.Message, yamlbound.FlagMaxNodes) {
			t.Errorf("%v: want the bound named", e)
		}
	}
	want := "apps/bad/cm.yaml charts/bomb/values.yaml values/bomb.yaml"
	if strings.Join(got, " ") != want {
		t.Errorf("refused files %v, want %s", got, want)
	}
}
