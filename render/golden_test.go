package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

// update rewrites the golden files: go test ./render -run TestGoldenFleetExample -update,
// then review the change with git diff like any other change.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenFleetExample renders fleet-example/ for every cluster and compares the result
// with testdata/fleet-example/<cluster>.yaml, byte for byte.
func TestGoldenFleetExample(t *testing.T) {
	src := os.DirFS(filepath.Join("..", "fleet-example"))
	repo, err := schema.Load(t.Context(), src)
	if err != nil {
		t.Fatalf("fleet-example does not load: %v", err)
	}
	r, err := New(t.Context(), src, repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range repo.Clusters {
		t.Run(c.Metadata.Name, func(t *testing.T) {
			res := r.Cluster(t.Context(), c)
			for _, app := range res.Apps {
				if app.Err != nil {
					t.Fatalf("app %s: %v", app.App.Metadata.Name, app.Err)
				}
			}
			var got bytes.Buffer
			if err := WriteYAML(&got, res); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "fleet-example", c.Metadata.Name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestGoldenFleetExample -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("render of %s differs from %s (-want +got); if the change is intended, run with -update and review the diff:\n%s", c.Metadata.Name, golden, diff)
			}
		})
	}
}
