package plan

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/reconciler/plan"
	"gitfleet.dev/gitfleet/test/gitrepo"
	"gitfleet.dev/gitfleet/test/sopstest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// step is one commit of the series and what its plan must say.
type step struct {
	name    string
	changes map[string]string
	// want is the plan in brief: per object "cluster op Kind/namespace/name (app)",
	// per changed field "cluster   path: old -> new", per violation
	// "violation kind file:line field".
	want []string
}

// TestPlanOverCommits makes a commit per change a platform team makes to its fleet (add
// a business, raise a quota past the parent, move a namespace to another cluster, bump a
// chart version, delete an app, revert the deletion) and checks the plan of each commit
// against the one before: the objects exactly, the violations exactly, and the three
// formats against golden files (go test ./test/plan -run TestPlanOverCommits -update
// rewrites them).
func TestPlanOverCommits(t *testing.T) {
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.CopyDir(filepath.Join("testdata", "fleet")); err != nil {
		t.Fatal(err)
	}
	webApp := map[string]string{}
	for _, f := range []string{"apps/web/app.yaml", "apps/web/base/kustomization.yaml", "apps/web/base/namespace.yaml", "apps/web/base/configmap.yaml", "apps/web/base/secret.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "fleet", f))
		if err != nil {
			t.Fatal(err)
		}
		webApp[f] = string(data)
	}
	// The Secret is committed sops-encrypted, the one form a fleet repository may hold.
	sopstest.SealSecrets(t, sealKey, webApp)
	if err := repo.Write(webApp); err != nil {
		t.Fatal(err)
	}
	first, err := repo.Commit("a fleet with two clusters, a business and two apps")
	if err != nil {
		t.Fatal(err)
	}
	deleteWeb := map[string]string{}
	for f := range webApp {
		deleteWeb[f] = ""
	}

	steps := []step{
		{
			name: "add-business",
			changes: map[string]string{
				"businesses/games.yaml":                      "apiVersion: gitfleet.dev/v1alpha1\nkind: Business\nmetadata:\n  name: games\nspec:\n  displayName: Games\n  quota:\n    beta: {cpu: \"8\", memory: 16Gi}\n",
				"businesses/games/namespaces/games-dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: games-dev\nspec:\n  business: games\n  cluster: beta\n  quota: {cpu: \"2\", memory: 4Gi}\n",
			},
			want: []string{
				"beta + Namespace/games-dev (gitfleet.namespaces)",
				"beta + ResourceQuota/games-dev/business-quota (gitfleet.namespaces)",
			},
		},
		{
			name:    "quota-past-parent",
			changes: map[string]string{"businesses/shop/namespaces/shop-web.yaml": namespaceYAML("shop-web", "alpha", "12")},
			want: []string{
				"alpha ~ ResourceQuota/shop-web/business-quota (gitfleet.namespaces)",
				`alpha   spec.hard["requests.cpu"]: "4" -> "12"`,
				"violation quota businesses/shop.yaml:8:18 spec.quota.alpha.cpu: asked 12 cpu, available 8 on alpha",
			},
		},
		{
			name:    "move-namespace",
			changes: map[string]string{"businesses/shop/namespaces/shop-web.yaml": namespaceYAML("shop-web", "beta", "4")},
			want: []string{
				"alpha - Namespace/shop-web (gitfleet.namespaces)",
				"alpha - ResourceQuota/shop-web/business-quota (gitfleet.namespaces)",
				"beta + Namespace/shop-web (gitfleet.namespaces)",
				"beta + ResourceQuota/shop-web/business-quota (gitfleet.namespaces)",
			},
		},
		{
			name:    "bump-chart",
			changes: map[string]string{"charts/status/Chart.yaml": "apiVersion: v2\nname: status\nversion: 0.2.0\nappVersion: \"1.0\"\n"},
			want: []string{
				"alpha ~ ConfigMap/web/status-page (status)",
				`alpha   metadata.labels["helm.sh/chart"]: "status-0.1.0" -> "status-0.2.0"`,
				"beta ~ ConfigMap/web/status-page (status)",
				`beta   metadata.labels["helm.sh/chart"]: "status-0.1.0" -> "status-0.2.0"`,
			},
		},
		{
			name:    "delete-app",
			changes: deleteWeb,
			want: []string{
				"alpha - ConfigMap/web/web (web)",
				"alpha - Namespace/web (web)",
				"alpha - Secret/web/web-token (web)",
				"beta - ConfigMap/web/web (web)",
				"beta - Namespace/web (web)",
				"beta - Secret/web/web-token (web)",
			},
		},
		{
			name:    "revert",
			changes: webApp,
			want: []string{
				"alpha + ConfigMap/web/web (web)",
				"alpha + Namespace/web (web)",
				"alpha + Secret/web/web-token (web)",
				"beta + ConfigMap/web/web (web)",
				"beta + Namespace/web (web)",
				"beta + Secret/web/web-token (web)",
			},
		},
	}

	prev := first
	for i, s := range steps {
		if err := repo.Write(s.changes); err != nil {
			t.Fatal(err)
		}
		head, err := repo.Commit(s.name)
		if err != nil {
			t.Fatal(err)
		}
		report := planCommits(t, repo.Dir, "HEAD~1", "HEAD")
		if diff := cmp.Diff(s.want, brief(report)); diff != "" {
			t.Errorf("step %s: plan (-want +got):\n%s", s.name, diff)
		}
		wantExit := 0
		if len(report.Violations) > 0 {
			wantExit = 1
		}
		if report.ExitCode() != wantExit {
			t.Errorf("step %s: exit code %d, want %d", s.name, report.ExitCode(), wantExit)
		}
		checkGolden(t, fmt.Sprintf("%d-%s", i+1, s.name), report, map[string]string{prev: "base", head: "head"})
		prev = head
	}
}

func namespaceYAML(name, cluster, cpu string) string {
	return fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: %s\nspec:\n  business: shop\n  cluster: %s\n  quota: {cpu: %q, memory: 8Gi}\n", name, cluster, cpu)
}

// planCommits plans head against base as `gitfleet plan --base BASE --head HEAD` does.
func planCommits(t *testing.T, dir, base, head string) *plan.Report {
	t.Helper()
	return planWith(t, dir, base, head, plan.DefaultOptions())
}

// brief is a report as the steps' want lists write it.
func brief(r *plan.Report) []string {
	var out []string
	for _, c := range r.Clusters {
		for _, o := range c.Create {
			out = append(out, fmt.Sprintf("%s + %s (%s)", c.Name, o.ID(), o.App))
		}
		for _, o := range c.Change {
			out = append(out, fmt.Sprintf("%s ~ %s (%s)", c.Name, o.ID(), o.App))
			for _, f := range o.Fields {
				out = append(out, fmt.Sprintf("%s   %s: %s -> %s", c.Name, f.Path, f.Old, f.New))
			}
		}
		for _, o := range c.Prune {
			out = append(out, fmt.Sprintf("%s - %s (%s)", c.Name, o.ID(), o.App))
		}
		for _, o := range c.Kept {
			out = append(out, fmt.Sprintf("%s = %s (%s): %s", c.Name, o.ID(), o.App, o.Reason))
		}
	}
	for _, v := range r.Violations {
		s := fmt.Sprintf("violation %s %s %s", v.Kind, v.Position(), v.Field)
		if q := v.Quota; q != nil {
			s += fmt.Sprintf(": asked %s %s, available %s on %s", q.Asked, q.Resource, q.Available, q.Cluster)
		}
		out = append(out, s)
	}
	return out
}

// checkGolden compares the three formats with testdata/golden/NAME.{txt,md,json}, commit
// hashes replaced by names so that the files do not change from run to run.
func checkGolden(t *testing.T, name string, r *plan.Report, hashes map[string]string) {
	t.Helper()
	formats := map[string]func(*bytes.Buffer) error{
		"txt":  func(b *bytes.Buffer) error { return plan.WriteText(b, r, plan.TextOptions{}) },
		"md":   func(b *bytes.Buffer) error { return plan.WriteMarkdown(b, r, plan.DefaultMarkdownOptions()) },
		"json": func(b *bytes.Buffer) error { return plan.WriteJSON(b, r) },
	}
	for ext, write := range formats {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		for hash, as := range hashes {
			got = strings.ReplaceAll(got, hash, as+"-commit")
			got = strings.ReplaceAll(got, hash[:8], as+"-commit")
		}
		path := filepath.Join("testdata", "golden", name+"."+ext)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run the test with -update to write it)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
}
