package render

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

func load(t *testing.T, files map[string]string) (fstest.MapFS, *schema.Repo) {
	t.Helper()
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	repo, err := schema.Load(t.Context(), fsys)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return fsys, repo
}

const (
	cluster = "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n"
	webApp  = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  namespace: web\n  source:\n    kustomize:\n      path: apps/web/overlay\n  targets:\n    clusters: [dev]\n"
	badApp  = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: bad\nspec:\n  source:\n    kustomize:\n      path: apps/bad\n  targets:\n    clusters: [dev]\n"
)

func TestClusterRendersAppsIndependently(t *testing.T) {
	fsys, repo := load(t, map[string]string{
		"clusters/dev.yaml":                   cluster,
		"apps/web/app.yaml":                   webApp,
		"apps/web/base/kustomization.yaml":    "resources: [cm.yaml, role.yaml]\n",
		"apps/web/base/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: \"2\"\n",
		"apps/web/base/role.yaml":             "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: web-reader\nrules: []\n",
		"apps/web/overlay/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\n",
		"apps/bad/app.yaml":                   badApp,
		"apps/bad/kustomization.yaml":         "resources: [missing.yaml]\n",
	})
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Cluster(t.Context(), repo.Cluster("dev"))
	if len(res.Apps) != 2 || res.Apps[0].App.Metadata.Name != "bad" || res.Apps[1].App.Metadata.Name != "web" {
		t.Fatalf("apps %v, want [bad web]", res.Apps)
	}

	bad := res.Apps[0]
	var rerr *Error
	if !errors.As(bad.Err, &rerr) || rerr.App != "bad" || rerr.Cluster != "dev" || rerr.File != "apps/bad/app.yaml" {
		t.Fatalf("bad app error %#v, want a render.Error for app bad, cluster dev, apps/bad/app.yaml", bad.Err)
	}
	if !strings.Contains(bad.Err.Error(), "missing.yaml") || len(bad.Objects) != 0 {
		t.Errorf("bad app: error %q should name missing.yaml and no objects should be rendered, got %d", bad.Err, len(bad.Objects))
	}

	var got []string
	for _, o := range res.Apps[1].Objects {
		l := o.GetLabels()
		got = append(got, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()+" app="+l[LabelApp]+" fleet="+l[LabelFleet]+" managed-by="+l[LabelManagedBy])
	}
	want := []string{
		// The namespace transformer leaves cluster-scoped kinds alone; kinds sort first.
		"ClusterRole /prod-web-reader app=web fleet=fleet managed-by=gitfleet",
		"ConfigMap web/prod-settings app=web fleet=fleet managed-by=gitfleet",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	// Numbers survive as the JSON types Kubernetes machinery expects (DeepCopy panics on int).
	_ = res.Apps[1].Objects[1].DeepCopy()

	// Objects are shared between renders with the same inputs, the slice is not: a
	// caller that reorders its result (the apply engine sorts) leaves the next one alone.
	first := res.Apps[1].Objects
	first[0], first[1] = first[1], first[0]
	again := r.Cluster(t.Context(), repo.Cluster("dev"))
	if k := again.Apps[1].Objects[0].GetKind(); k != "ClusterRole" {
		t.Errorf("second render starts with %s, want ClusterRole: renders share the slice", k)
	}
	if again.Apps[1].Objects[1] != res.Apps[1].Objects[0] {
		t.Error("the second render rebuilt the objects instead of reusing the first build")
	}
}

func TestKustomizeOverlaysAndRemoteBases(t *testing.T) {
	fsys, repo := load(t, map[string]string{
		"clusters/dev.yaml":                 "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n  labels: {env: dev}\n",
		"clusters/prod.yaml":                "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: prod\n  labels: {env: prod}\n",
		"apps/web/app.yaml":                 "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/web/base\n      overlays:\n      - selector: {matchLabels: {env: prod}}\n        path: apps/web/prod\n  targets:\n    selector: {}\n",
		"apps/web/base/kustomization.yaml":  "resources: [cm.yaml]\n",
		"apps/web/base/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {tier: base}\n",
		"apps/web/prod/kustomization.yaml":  "resources: [../base]\nnameSuffix: -prod\n",
		"apps/far/app.yaml":                 "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: far\nspec:\n  source:\n    kustomize:\n      path: apps/far\n  targets:\n    clusters: [dev]\n",
		"apps/far/kustomization.yaml":       "resources: [local]\n",
		"apps/far/local/kustomization.yaml": "resources:\n- cm.yaml\n- https://github.com/example/infra//base?ref=v1.2.0\n",
		"apps/far/local/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: far}\n",
	})
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	names := func(cluster string) map[string]string {
		out := map[string]string{}
		for _, a := range r.Cluster(t.Context(), repo.Cluster(cluster)).Apps {
			if a.Err != nil {
				out[a.App.Metadata.Name] = a.Err.Error()
				continue
			}
			for _, o := range a.Objects {
				out[a.App.Metadata.Name] += o.GetName()
			}
		}
		return out
	}
	want := map[string]string{
		"web": "web",
		"far": `render app "far" for cluster "dev" (apps/far/app.yaml): apps/far/local/kustomization.yaml: resources[1] "https://github.com/example/infra//base?ref=v1.2.0" is a remote base: gitfleet renders without network access so that what is applied is exactly what is in the repository; vendor it into the repository and refer to it by path`,
	}
	if diff := cmp.Diff(want, names("dev")); diff != "" {
		t.Errorf("dev (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"web": "web-prod"}, names("prod")); diff != "" {
		t.Errorf("prod (-want +got):\n%s", diff)
	}
}
