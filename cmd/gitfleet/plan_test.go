package main

import (
	"encoding/json"
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/reconciler/plan"
)

// TestPlanCommand plans a change to fleet-example that raises a namespace's quota past
// its business's, in the three formats.
func TestPlanCommand(t *testing.T) {
	repo := exampleRepo(t)
	if err := repo.Write(map[string]string{"businesses/payments/namespaces/pay-prod.yaml": `apiVersion: gitfleet.dev/v1alpha1
kind: Namespace
metadata:
  name: pay-prod
spec:
  business: payments
  cluster: bj-prod
  quota: {cpu: "30", memory: 32Gi, services.loadbalancers: "1"}
  limitRange:
    defaultRequest: {cpu: 250m, memory: 256Mi}
    default: {cpu: "1", memory: 1Gi}
    max: {cpu: "4", memory: 8Gi}
`}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("more cpu for pay-prod"); err != nil {
		t.Fatal(err)
	}
	args := []string{"plan", "--repo", repo.Dir, "--base", "HEAD~1"}

	code, out, stderr := gitfleet(t, append(args, "-o", "markdown")...)
	if code != 1 {
		t.Fatalf("plan -o markdown: exit %d, want 1 (a violation)\n%s%s", code, out, stderr)
	}
	for _, want := range []string{
		"| bj-prod | changed | 0 | 1 | 0 | 0 | 1 |",
		"3 cluster(s) unchanged: global, gz-dev, sh-gpu.",
		"| quota | `businesses/payments.yaml:15:20` spec.quota.bj-prod.cpu | bj-prod | **asked 38 cpu, available 32**",
		`spec.hard["requests.cpu"]: "16" -> "30"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = gitfleet(t, append(args, "-o", "json")...)
	var report plan.Report
	if err := json.Unmarshal([]byte(out), &report); err != nil || code != 1 {
		t.Fatalf("plan -o json: exit %d, %v\n%s", code, err, out)
	}
	if s := report.Summary; s.Clusters != 4 || s.Change != 1 || s.Create != 0 || s.Prune != 0 || s.Violations != 1 || report.Violations[0].Quota == nil {
		t.Errorf("json summary %+v, violations %+v", s, report.Violations)
	}

	code, out, _ = gitfleet(t, args...)
	if code != 1 || strings.Contains(out, "\x1b[") || !strings.Contains(out, "1 violation(s) in HEAD:") {
		t.Errorf("plan (text, not a terminal): exit %d, want 1 and no colour:\n%q", code, out)
	}

	// A revision without violations exits 0.
	code, out, _ = gitfleet(t, "plan", "--repo", repo.Dir, "--base", "HEAD~1", "--head", "HEAD~1")
	if code != 0 || !strings.Contains(out, "0 to create, 0 to change, 0 to prune; 0 violation(s)") {
		t.Errorf("plan of a revision against itself: exit %d\n%s", code, out)
	}
}

func TestPlanCommandCannotRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--repo", "../../fleet-example"}, "--base is required"},
		{[]string{"plan", "--repo", "../../fleet-example", "--base", "main", "-o", "yaml"}, `unknown --output "yaml"`},
		{[]string{"plan", "--repo", t.TempDir(), "--base", "main"}, "is not a git repository"},
		{[]string{"plan", "--repo", "../../fleet-example", "--base", "HEAD", "--live", "--kubeconfig", ""}, "no kubeconfig"},
		{[]string{"diff", "--repo", "../../fleet-example", "--kubeconfig", "x"}, "--cluster is required"},
	} {
		t.Setenv("KUBECONFIG", "")
		code, _, stderr := gitfleet(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
