package render

import (
	"testing"
	"testing/fstest"
	"time"

	"gitfleet.dev/gitfleet/schema"

	"gitfleet.dev/gitfleet/test/hostile"
)

// FuzzRenderApp feeds arbitrary bytes to the App-manifest path: as a kustomize manifest and
// kustomization, and as a Helm chart's values and template. Whatever the bytes, validate's
// Check must return (no panic, no runaway), and a problem must name a file.
func FuzzRenderApp(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), []byte("resources: [cm.yaml]\n"), []byte("replicas: 1\n"), []byte("kind: ConfigMap\napiVersion: v1\nmetadata: {name: {{ .Values.n | default \"x\" }}}\n"))
	f.Add([]byte(hostile.AliasBomb()), []byte("resources: [cm.yaml]\nnamePrefix: p-\n"), []byte(hostile.AliasBomb()), []byte("{{ .Values.foo | }}"))
	f.Add([]byte("a: &a [*a]\n"), []byte("resources: [cm.yaml, ../x]\n"), []byte("\tx: 1"), []byte("{{ range until 3 }}x{{ end }}"))
	f.Fuzz(func(t *testing.T, manifest, kustomization, values, template []byte) {
		if len(manifest)+len(kustomization)+len(values)+len(template) > 64<<10 {
			return
		}
		files := map[string]string{
			"clusters/dev.yaml": cluster,
			"apps/bad/app.yaml": badApp,
			// Replaced below: the loader would refuse some of what is fuzzed here, and
			// the renderer must hold on its own.
			"apps/bad/kustomization.yaml": "resources: []\n",
			"apps/chart.yaml":             "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: chart}\nspec:\n  namespace: x\n  source: {helm: {chart: charts/c}}\n  targets: {clusters: [dev]}\n",
			"charts/c/Chart.yaml":         "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		}
		fsys, repo := load(t, files)
		fsys["apps/bad/kustomization.yaml"] = &fstest.MapFile{Data: kustomization}
		fsys["apps/bad/cm.yaml"] = &fstest.MapFile{Data: manifest}
		fsys["charts/c/values.yaml"] = &fstest.MapFile{Data: values}
		fsys["charts/c/templates/t.yaml"] = &fstest.MapFile{Data: template}
		r, err := New(t.Context(), fsys, repo)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan schema.ErrorList, 1)
		go func() { done <- r.Check(t.Context()) }()
		select {
		case list := <-done:
			for _, e := range list {
				if e.File == "" {
					t.Errorf("problem without a file: %v", e)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Check did not return within 20s")
		}
	})
}
