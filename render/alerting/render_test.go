package alerting

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata and the PromQL table in doc.go")

// TestRenderGolden renders every cluster of the fixture and compares the objects with
// testdata/<cluster>.yaml. Run `go test ./render/alerting/ -update` after an intended
// change and review the diff.
func TestRenderGolden(t *testing.T) {
	repo := load(t, fleet)
	for _, c := range repo.Clusters {
		t.Run(c.Metadata.Name, func(t *testing.T) {
			objs, err := Render(repo, c)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, o := range objs {
				_ = o.DeepCopy() // the Kubernetes machinery must accept the values.
				data, err := yaml.Marshal(o.Object)
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("---\n")
				b.Write(data)
			}
			golden := filepath.Join("testdata", c.Metadata.Name+".yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
