package main

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/test/gitrepo"
)

// TestDiffCommand applies a small fleet to a cluster, edits an object there by hand and
// checks that `gitfleet diff` shows the edit (exit 1), that `gitfleet plan --live` marks it
// as drift, and that after another apply the cluster matches (exit 0). A cluster the
// kubeconfig cannot reach makes both commands exit 2.
func TestDiffCommand(t *testing.T) {
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Write(map[string]string{
		"fleet.yaml":                  "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: diff-test\nspec:\n  healthTimeout: 20s\n",
		"clusters/gz-dev.yaml":        "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gz-dev\nspec:\n  version: \"1.37.2\"\n",
		"clusters/nowhere.yaml":       "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: nowhere\nspec:\n  version: \"1.37.2\"\n",
		"apps/web/app.yaml":           "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/web\n  targets:\n    clusters: [gz-dev]\n",
		"apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ns.yaml\n- cm.yaml\n",
		"apps/web/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: diff-test\n",
		"apps/web/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: diff-test\ndata:\n  color: blue\n",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("web on gz-dev"); err != nil {
		t.Fatal(err)
	}
	apply := []string{"apply", "--repo", repo.Dir, "--kubeconfig", env.Kubeconfig, "--cluster", "gz-dev"}
	if code, out, stderr := gitfleet(t, apply...); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, stderr)
	}
	diff := []string{"diff", "--repo", repo.Dir, "--kubeconfig", env.Kubeconfig, "--cluster", "gz-dev"}
	if code, out, stderr := gitfleet(t, diff...); code != 0 {
		t.Fatalf("diff right after apply: exit %d, want 0 (no differences)\n%s%s", code, out, stderr)
	}

	c, err := client.New(env.Cluster("gz-dev").RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "diff-test", Name: "web"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["color"] = "red"
	if err := c.Update(t.Context(), &cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := gitfleet(t, diff...)
	want := "cluster gz-dev (changed): 0 to create, 1 to change, 0 to prune\n" +
		"  ~ ConfigMap/diff-test/web (app web)\n" +
		"      data.color: \"red\" -> \"blue\"   [drift: the cluster differs from the base revision here already]\n"
	if code != 1 || out != want {
		t.Errorf("diff after a hand edit: exit %d, output:\n%s%s\nwant exit 1 and:\n%s", code, out, stderr, want)
	}
	code, out, _ = gitfleet(t, "plan", "--repo", repo.Dir, "--base", "HEAD", "--live", "--kubeconfig", env.Kubeconfig, "--cluster", "gz-dev", "-o", "markdown")
	if code != 0 || !strings.Contains(out, "| gz-dev | changed | 0 | 1 | 0 | 0 | 0 |") || !strings.Contains(out, "head compared with the live clusters") {
		t.Errorf("plan --live: exit %d\n%s", code, out)
	}

	if code, out, stderr := gitfleet(t, apply...); code != 0 {
		t.Fatalf("second apply: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := gitfleet(t, diff...); code != 0 {
		t.Errorf("diff after the apply corrected the edit: exit %d, want 0\n%s%s", code, out, stderr)
	}

	code, out, _ = gitfleet(t, "diff", "--repo", repo.Dir, "--kubeconfig", env.Kubeconfig, "--cluster", "nowhere")
	if code != 2 || !strings.Contains(out, `kubeconfig `+env.Kubeconfig+` has no context "nowhere"`) {
		t.Errorf("diff of a cluster the kubeconfig lacks: exit %d, want 2\n%s", code, out)
	}
}
