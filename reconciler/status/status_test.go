package status

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFilesAndMessage(t *testing.T) {
	clusters := []Cluster{
		{Cluster: "bj-prod", Revision: "3f2a1c9e0b", Phase: Synced, Health: "Healthy", Objects: 12, Apps: []App{{Name: "web", Objects: 12, Health: "Healthy"}},
			Drift: []Drift{{App: "web", Object: "Deployment/web/web", Change: "modified", Action: "corrected", By: "kubectl-edit"}, {App: "web", Object: "ConfigMap/web/a", Change: "deleted", Action: "reported", By: "unknown"}}},
		{Cluster: "gz-dev", Revision: "1111111aaa", Phase: Unreachable, Health: "Unknown", Errors: []string{"cluster \"gz-dev\" is unreachable:\n  connection refused"}},
	}
	businesses := []Business{{Business: "payments", Clusters: []BusinessCluster{{Cluster: "bj-prod", Namespaces: []NamespaceQuota{{Namespace: "pay-prod", Hard: map[string]string{"requests.cpu": "16"}, Used: map[string]string{"requests.cpu": "500m"}}}}}}}
	files, err := Files(clusters, businesses)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range files {
		names = append(names, k)
	}
	want := []string{"status/README.md", "status/businesses/payments.yaml", "status/clusters/bj-prod.yaml", "status/clusters/gz-dev.yaml"}
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(names))); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	wantCluster := `# Written by gitfleet after each reconcile; edits here are overwritten.
apps:
- health: Healthy
  name: web
  objects: 12
cluster: bj-prod
drift:
- action: corrected
  app: web
  by: kubectl-edit
  change: modified
  object: Deployment/web/web
- action: reported
  app: web
  by: unknown
  change: deleted
  object: ConfigMap/web/a
health: Healthy
objects: 12
phase: Synced
revision: 3f2a1c9e0b
`
	if diff := cmp.Diff(wantCluster, string(files["status/clusters/bj-prod.yaml"])); diff != "" {
		t.Errorf("bj-prod status (-want +got):\n%s", diff)
	}
	readme := string(files["status/README.md"])
	for _, line := range []string{
		"| bj-prod | 3f2a1c9 | Synced | Healthy | 12 | 2 | 0 |",
		"| gz-dev | 1111111 | Unreachable | Unknown | 0 | 0 | 1 |",
		`- error: cluster "gz-dev" is unreachable: connection refused`,
		"- drift: Deployment/web/web of app web was modified outside gitfleet by kubectl-edit (corrected)",
		"- drift: ConfigMap/web/a of app web was deleted outside gitfleet by an unknown client (reported)",
		"| payments | bj-prod | pay-prod | requests.cpu | 500m | 16 |",
	} {
		if !strings.Contains(readme, line) {
			t.Errorf("README.md lacks %q:\n%s", line, readme)
		}
	}
	if got, want := Message(clusters), "status: bj-prod synced 3f2a1c9, gz-dev unreachable, 2 drifted"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	again, _ := Files(clusters, businesses)
	if diff := cmp.Diff(files, again); diff != "" {
		t.Error("the same results gave different files: a commit would be made with nothing changed")
	}
}
