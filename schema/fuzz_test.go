package schema

import (
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary bytes to the loader as a fleet file: whatever a person commits,
// gitfleet must answer with errors, never a crash.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{clusterFile, appFile, fleetFile + "spec:\n  interval: 1m\n", "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nspec: [", "apiVersion: gitfleet.dev/v1alpha1\n---\n- a\n- &x b\n- *x\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"f.yaml":                      &fstest.MapFile{Data: data},
			"apps/web/kustomization.yaml": &fstest.MapFile{Data: []byte(kustomize)},
		}
		repo, err := Load(t.Context(), fsys)
		if err == nil && repo == nil {
			t.Fatal("Load returned neither a repository nor an error")
		}
	})
}
