package render

import (
	"strings"
	"testing"
)

// A workload problem is reported at the manifest that wrote the object, at the line of
// the field, even when kustomize renamed it; not at the App.
func TestCheckReportsWorkloadProblemsAtTheManifest(t *testing.T) {
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: train
spec:
  template:
    spec:
      containers:
      - name: a
        image: a
      - name: b
        image: b
        resources:
          limits: {tencent.com/vcuda-core: "150"}
`
	fsys, repo := load(t, map[string]string{
		"clusters/dev.yaml":                   cluster,
		"apps/web/app.yaml":                   webApp,
		"apps/web/base/kustomization.yaml":    "resources: [deploy.yaml]\n",
		"apps/web/base/deploy.yaml":           deploy,
		"apps/web/overlay/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\n",
		// The same kind and name elsewhere in the repository is not taken for it.
		"apps/other/deploy.yaml": deploy,
	})
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	list := r.Check(t.Context())
	want := "apps/web/base/deploy.yaml:14:11: spec.template.spec.containers[1].resources: app web on cluster dev, Deployment/web/prod-train: tencent.com/vcuda-core is served by GPU-Manager"
	if len(list) != 1 || !strings.HasPrefix(list[0].Error(), want) {
		t.Fatalf("problems %v, want one starting %q", list, want)
	}
}
