package install

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestBootstrap runs gitfleet bootstrap against an empty repository: it gets a fleet
// skeleton and gitfleet's install as an App targeting the management cluster, the install
// is applied to that cluster, and the result validates and renders the pinned image. A
// second bootstrap with a new image is one more commit on top (never forced) that changes
// only the install, and the Deployment runs the new image; a third, identical one commits
// nothing.
func TestBootstrap(t *testing.T) {
	ctx := t.Context()
	const ns = "gitfleet-boot"
	bare := filepath.Join(t.TempDir(), "fleet.git")
	if out, err := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", bare).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	image := func(digit string) string {
		return "registry.example.com/platform/gitfleet@sha256:" + strings.Repeat(digit, 64)
	}
	bootstrap := func(img string) string {
		return runGitfleet(t, "bootstrap", "--image", img, "--repo-url", "file://"+bare, "--branch", "main",
			"--namespace", ns, "--cluster", "global", "--no-webhooks",
			// The harness's API servers are built from source and report no release.
			"--cluster-version", "1.37.2",
			"--management-kubeconfig", env.Kubeconfig, "--management-context", "global")
	}
	out := bootstrap(image("a"))
	if !strings.Contains(out, "applied Deployment "+ns+"/gitfleet") || !strings.Contains(out, "committed ") {
		t.Fatalf("bootstrap printed\n%s\nwant the install applied and committed", out)
	}
	first := gitOut(t, bare, "rev-parse", "main")
	files := strings.Fields(gitOut(t, bare, "ls-tree", "-r", "--name-only", "main"))
	want := []string{"apps/gitfleet/app.yaml", "apps/gitfleet/install.yaml", "apps/gitfleet/kustomization.yaml", "clusters/global.yaml", "fleet.yaml"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("repository files %v, want %v", files, want)
	}
	if c := gitOut(t, bare, "show", "main:clusters/global.yaml"); !strings.Contains(c, `version: "1.37.2"`) {
		t.Errorf("clusters/global.yaml does not declare the version given, 1.37.2:\n%s", c)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "--quiet", bare, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	runGitfleet(t, "validate", clone)
	rendered := runGitfleet(t, "render", clone, "--cluster", "global", "--app", "gitfleet")
	if !strings.Contains(rendered, "image: "+image("a")) || !strings.Contains(rendered, "namespace: "+ns) {
		t.Errorf("the committed App does not render the install with the pinned image:\n%s", rendered)
	}
	deployedImage := func() string {
		dep, err := clientset(t, env.Cluster("global").RESTConfig()).AppsV1().Deployments(ns).Get(ctx, "gitfleet", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return dep.Spec.Template.Spec.Containers[0].Image
	}
	if got := deployedImage(); got != image("a") {
		t.Errorf("Deployment image %s, want %s", got, image("a"))
	}

	out = bootstrap(image("b"))
	second := gitOut(t, bare, "rev-parse", "main")
	if parent := gitOut(t, bare, "rev-parse", "main~1"); parent != first {
		t.Errorf("the upgrade commit's parent is %s, want the first bootstrap %s (history rewritten?)", parent, first)
	}
	if changed := gitOut(t, bare, "diff", "--name-only", first, second); changed != "apps/gitfleet/install.yaml" {
		t.Errorf("the upgrade changed %q, want only apps/gitfleet/install.yaml", changed)
	}
	if got := deployedImage(); got != image("b") {
		t.Errorf("Deployment image after the upgrade %s, want %s", got, image("b"))
	}
	out = bootstrap(image("b"))
	if !strings.Contains(out, "nothing committed") || gitOut(t, bare, "rev-parse", "main") != second {
		t.Errorf("an identical bootstrap committed something:\n%s", out)
	}
}

func gitOut(t *testing.T, gitDir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", gitDir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
