package render

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// twoApps is a fleet with a kustomize App built from a base and an overlay, and a Helm App.
var twoApps = map[string]string{
	"clusters/dev.yaml":                   cluster,
	"apps/web/app.yaml":                   webApp,
	"apps/web/base/kustomization.yaml":    "resources: [cm.yaml]\n",
	"apps/web/base/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: \"2\"\n",
	"apps/web/overlay/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\n",
	"apps/web/README.md":                  "not read by kustomize\n",
	"charts/api/Chart.yaml":               "apiVersion: v2\nname: api\nversion: 0.1.0\n",
	"charts/api/values.yaml":              "replicas: 1\n",
	"charts/api/templates/cm.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {replicas: {{ .Values.replicas | quote }}}\n",
	"apps/api.yaml":                       "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: api}\nspec:\n  namespace: api\n  source: {helm: {chart: charts/api}}\n  targets: {clusters: [dev]}\n",
}

// renderRevision renders cluster dev of one revision with the cache and returns its
// objects by app (kind/name=data) and the renderer's stats.
func renderRevision(t *testing.T, cache *Cache, files map[string]string, mustRender bool) (map[string][]string, Stats) {
	t.Helper()
	fsys, repo := load(t, files)
	r, err := NewWithOptions(t.Context(), fsys, repo, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range r.Cluster(t.Context(), repo.Cluster("dev")).Apps {
		if a.Err != nil && mustRender {
			t.Fatalf("app %s: %v", a.App.Metadata.Name, a.Err)
		}
		for _, o := range a.Objects {
			data, _, _ := unstructured.NestedString(o.Object, "data", "replicas")
			got[a.App.Metadata.Name] = append(got[a.App.Metadata.Name], o.GetKind()+"/"+o.GetName()+"="+data)
		}
	}
	return got, r.Stats()
}

func TestCacheReusesBuildsWhoseInputsAreUnchanged(t *testing.T) {
	cache := NewCache()
	first, s := renderRevision(t, cache, twoApps, true)
	if s.Renders != 2 || s.Reused != 0 {
		t.Fatalf("first revision: %+v, want 2 renders, none reused", s)
	}
	want := map[string][]string{"web": {"ConfigMap/prod-settings=2"}, "api": {"ConfigMap/api=1"}}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Fatalf("first revision (-want +got):\n%s", diff)
	}

	// Each step is a commit on top of the one before.
	files := maps.Clone(twoApps)
	steps := []struct {
		name    string
		change  map[string]string
		renders int64
		want    map[string][]string
	}{
		{"nothing changed", nil, 0, want},
		{"a file no build reads", map[string]string{"apps/web/README.md": "changed\n"}, 0, want},
		{"a file the kustomize base reads", map[string]string{"apps/web/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: \"3\"\n"}, 1,
			map[string][]string{"web": {"ConfigMap/prod-settings=3"}, "api": {"ConfigMap/api=1"}}},
		{"a chart's default values", map[string]string{"charts/api/values.yaml": "replicas: 4\n"}, 1,
			map[string][]string{"web": {"ConfigMap/prod-settings=3"}, "api": {"ConfigMap/api=4"}}},
		{"a revert of that", map[string]string{"charts/api/values.yaml": "replicas: 1\n"}, 0,
			map[string][]string{"web": {"ConfigMap/prod-settings=3"}, "api": {"ConfigMap/api=1"}}},
		{"a file where kustomize looked for one and found none", map[string]string{"apps/web/base/kustomization.yml": "resources: [cm.yaml]\n"}, 1, nil},
	}
	for _, step := range steps {
		maps.Copy(files, step.change)
		got, s := renderRevision(t, cache, files, step.want != nil)
		if s.Renders != step.renders {
			t.Errorf("%s: %d builds ran, want %d", step.name, s.Renders, step.renders)
		}
		if step.want == nil {
			continue // kustomize refuses a directory with two kustomization files
		}
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step.name, diff)
		}
	}
}
