package render

import (
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"

	"gitfleet.dev/gitfleet/test/hostile"
)

// fuzzLimits are tighter than the defaults so that each input is quick; what the fuzzers
// check is that the bounds hold, not how high they are.
var fuzzLimits = Limits{
	YAML:       yamlbound.Limits{MaxFileSize: 256 << 10, MaxDepth: 100, MaxNodes: 20_000},
	MaxObjects: 500, MaxOutputSize: 4 << 20, Timeout: 20 * time.Second,
}

// renderFuzzed renders the App "web" of a repository whose other files are the fuzzer's,
// and checks what every render must give: a result for the App, either objects or a
// render.Error, never a crash.
func renderFuzzed(t *testing.T, files map[string][]byte) {
	fsys := fstest.MapFS{"clusters/dev.yaml": &fstest.MapFile{Data: []byte(cluster)}}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: v}
	}
	repo, err := schema.Load(t.Context(), fsys)
	if err != nil {
		return // the fuzzer wrote a fleet file; FuzzLoad covers those
	}
	r, err := NewWithOptions(t.Context(), fsys, repo, Options{Limits: fuzzLimits})
	if err != nil {
		t.Fatalf("NewWithOptions: %v", err)
	}
	res := r.Cluster(t.Context(), repo.Cluster("dev"))
	if len(res.Apps) != 1 {
		t.Fatalf("%d results, want one for the App", len(res.Apps))
	}
	app := res.Apps[0]
	var rerr *Error
	switch {
	case app.Err != nil && !errors.As(app.Err, &rerr):
		t.Fatalf("error %v is not a render.Error", app.Err)
	case app.Err != nil && len(app.Objects) > 0:
		t.Fatalf("error %v and %d objects", app.Err, len(app.Objects))
	case errors.Is(app.Err, ErrTimeout):
		t.Fatalf("the render of a bounded input timed out: %v", app.Err)
	case len(app.Objects) > fuzzLimits.MaxObjects:
		t.Fatalf("%d objects, over the limit of %d", len(app.Objects), fuzzLimits.MaxObjects)
	}
}

// FuzzRenderKustomize feeds arbitrary bytes to kustomize as an App's kustomization and
// one of its manifests: whatever a repository holds, the App renders or fails with its
// error, within the bounds.
func FuzzRenderKustomize(f *testing.F) {
	f.Add([]byte("resources: [cm.yaml]\nnamePrefix: p-\n"), []byte(tinyTemplate))
	f.Add([]byte("resources: [cm.yaml, cm.yaml]\n"), []byte(manifestHead+hostile.AliasBomb()))
	f.Add([]byte("resources: [cm.yaml]\nconfigMapGenerator: [{name: g, files: [cm.yaml]}]\n"), []byte(manifestHead+"data: &d {a: b}\nx: *d\n---\n"+tinyTemplate))
	f.Add([]byte("resources: [.]\n"), []byte("[[[[[[[[[[[[[["))
	f.Fuzz(func(t *testing.T, kustomization, manifest []byte) {
		renderFuzzed(t, map[string][]byte{
			"apps/web/app.yaml":           []byte(kustomizeApp),
			"apps/web/kustomization.yaml": kustomization,
			"apps/web/cm.yaml":            manifest,
		})
	})
}

// FuzzRenderHelmValues feeds arbitrary bytes to Helm as a chart's values.yaml and an
// App's values file, rendered through a template that writes all the values out (so
// that what the values hold reaches the parsers of the rendered output too).
func FuzzRenderHelmValues(f *testing.F) {
	f.Add([]byte("replicas: 1\nimage: {tag: x}\n"), []byte("{}\n"))
	f.Add([]byte(hostile.AliasBomb()), []byte("a: &a {b: c}\nd: *a\n"))
	f.Add([]byte("x: "+"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]\n"), []byte("- not a map\n"))
	f.Fuzz(func(t *testing.T, chartValues, appValues []byte) {
		renderFuzzed(t, map[string][]byte{
			"apps/web/app.yaml":            []byte(helmApp),
			"charts/web/Chart.yaml":        []byte(tinyChart),
			"charts/web/values.yaml":       chartValues,
			"values/web.yaml":              appValues,
			"charts/web/templates/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata:\n  values: {{ toYaml .Values | quote }}\n---\n{{ toYaml .Values }}\n"),
		})
	})
}
