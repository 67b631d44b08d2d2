package render

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// testChart is a small chart that uses what real charts use: helpers, values, the
// cluster's capabilities, a CRD, a vendored subchart, a hook and a test, and .helmignore.
var testChart = map[string]string{
	"charts/web/Chart.yaml":             "apiVersion: v2\nname: web\nversion: 1.2.3\nappVersion: \"2.0\"\ndependencies:\n- name: cache\n  version: 0.1.0\n  condition: cache.enabled\n",
	"charts/web/values.yaml":            "replicas: 1\nimage: {repository: nginx, tag: \"1.27\"}\ncache: {enabled: true}\n",
	"charts/web/.helmignore":            "*.md\n",
	"charts/web/README.md":              "{{ this would not parse as a template }}",
	"charts/web/templates/_helpers.tpl": `{{- define "web.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}`,
	"charts/web/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  annotations:
    kube-version: {{ .Capabilities.KubeVersion.Version | quote }}
    has-monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`,
	"charts/web/templates/hook.yaml":             "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations: {\"helm.sh/hook\": pre-install}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: migrate}]}}}\n",
	"charts/web/templates/tests/test.yaml":       "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations: {\"helm.sh/hook\": test}\nspec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}\n",
	"charts/web/crds/widgets.yaml":               "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n",
	"charts/web/charts/cache/Chart.yaml":         "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
	"charts/web/charts/cache/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}-cache}\nspec: {ports: [{port: 6379}]}\n",
	"charts/peek/Chart.yaml":                     "apiVersion: v2\nname: peek\nversion: 0.1.0\n",
	"charts/peek/templates/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: peek}\ndata:\n  old: {{ (lookup \"v1\" \"Secret\" \"default\" \"x\").data | toJson | quote }}\n",
	"charts/pipe/Chart.yaml":                     "apiVersion: v2\nname: pipe\nversion: 0.1.0\n",
	"charts/pipe/templates/cm.yaml":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pipe}\ndata:\n  x: {{ .Values.foo | }}\n",
	"values/prod.yaml":                           "image: {tag: \"1.27-prod\"}\n",
	"clusters/dev.yaml":                          "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n  labels: {env: dev}\nspec:\n  version: \"1.18.3\"\n",
	"clusters/prod.yaml":                         "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: prod\n  labels: {env: prod}\nspec:\n  version: \"1.17.13\"\n  apiVersions: [monitoring.coreos.com/v1]\n",
	"apps/web.yaml": `apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  namespace: web
  source:
    helm:
      chart: charts/web
      valuesFiles: [values/prod.yaml]
      values: {replicas: 2}
      valuesByLabel:
      - selector: {matchLabels: {env: prod}}
        values: {replicas: 5}
      valuesByCluster:
        dev: {cache: {enabled: false}}
        prod: {image: {repository: registry.prod/nginx}}
  targets: {clusters: [dev, prod]}
`,
	"apps/pipe.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: pipe}\nspec:\n  source: {helm: {chart: charts/pipe}}\n  targets: {clusters: [dev]}\n",
	"apps/peek.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: peek}\nspec:\n  source: {helm: {chart: charts/peek}}\n  targets: {clusters: [dev]}\n",
}

func TestHelmRender(t *testing.T) {
	fsys, repo := load(t, testChart)
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	summary := func(cluster string) []string {
		var out []string
		for _, app := range r.Cluster(t.Context(), repo.Cluster(cluster)).Apps {
			if app.App.Metadata.Name != "web" {
				continue
			}
			if app.Err != nil {
				t.Fatalf("web on %s: %v", cluster, app.Err)
			}
			for _, o := range app.Objects {
				s := o.GetKind() + " " + o.GetName()
				if o.GetKind() == "Deployment" {
					replicas, _, _ := unstructuredInt(o.Object, "spec", "replicas")
					a := o.GetAnnotations()
					s += " kube=" + a["kube-version"] + " monitoring=" + a["has-monitoring"] + " replicas=" + replicas + " image=" + imageOf(o.Object)
				}
				if o.GetLabels()[LabelApp] != "web" {
					t.Errorf("%s on %s is not labelled with its app", s, cluster)
				}
				out = append(out, s)
			}
		}
		return out
	}
	want := func(kube, monitoring, replicas, image string, cache bool) []string {
		out := []string{
			"CustomResourceDefinition widgets.example.com",
			"Deployment web-web kube=" + kube + " monitoring=" + monitoring + " replicas=" + replicas + " image=" + image,
			"Job web-migrate",
			"Pod web-test",
		}
		if cache {
			out = append(out, "Service web-cache")
		}
		return out
	}
	// dev disables the cache subchart and is rendered first: Helm drops disabled
	// dependencies from the chart it renders, which must not leak into prod's render.
	if diff := cmp.Diff(want("v1.18.3", "false", "2", "nginx:1.27-prod", false), summary("dev")); diff != "" {
		t.Errorf("dev (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want("v1.17.13", "true", "5", "registry.prod/nginx:1.27-prod", true), summary("prod")); diff != "" {
		t.Errorf("prod (-want +got):\n%s", diff)
	}
	// web twice (its values differ per cluster); peek's chart is refused before any build.
	if s := r.Stats(); s.Renders != 2 {
		t.Errorf("stats %+v, want 2 renders (one per distinct input)", s)
	}
	summary("dev")
	if s := r.Stats(); s.Renders != 2 || s.Reused != 1 {
		t.Errorf("stats %+v after rendering dev again, want the earlier build reused", s)
	}

	// Refused templates are reported at the template's own file and line.
	refused := map[string]string{
		"peek": "charts/peek/templates/cm.yaml:5: chart peek: template templates/cm.yaml calls lookup",
		"pipe": "charts/pipe/templates/cm.yaml:5: chart pipe: template templates/cm.yaml: a pipe '|' with no command after it",
	}
	for _, app := range r.Cluster(t.Context(), repo.Cluster("dev")).Apps {
		want, ok := refused[app.App.Metadata.Name]
		if !ok {
			continue
		}
		delete(refused, app.App.Metadata.Name)
		var rerr *Error
		if !errors.As(app.Err, &rerr) || !strings.Contains(app.Err.Error(), want) {
			t.Errorf("%s: error %v, want %q", app.App.Metadata.Name, app.Err, want)
		}
	}
	if len(refused) > 0 {
		t.Errorf("apps not rendered: %v", refused)
	}
}

func unstructuredInt(obj map[string]any, fields ...string) (string, bool, error) {
	v, ok, err := unstructured.NestedInt64(obj, fields...)
	return fmt.Sprint(v), ok, err
}

func imageOf(obj map[string]any) string {
	spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	return spec["containers"].([]any)[0].(map[string]any)["image"].(string)
}
