package main

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/test/gitrepo"
	"gitfleet.dev/gitfleet/test/harness"
)

// env holds two member clusters named like fleet-example's, so the example itself is
// applied by the CLI test.
var env *harness.Env

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == render.HelmChildArg {
		os.Exit(render.RunHelmChild(os.Stdin, os.Stdout)) // a render process a test's gitfleet started
	}
	// The render cache's default directory is under the user's cache directory: the
	// tests' renders go to a directory of their own instead (and so do the CLI processes
	// the tests start, which inherit it).
	if dir, err := os.MkdirTemp("", "gitfleet-cache-"); err == nil {
		os.Setenv("XDG_CACHE_HOME", dir)
	}
	if os.Getenv(runMainEnv) == "1" {
		runAsGitfleet() // this process is the CLI that a test started
	}
	// Controllers, a scheduler and kwok nodes, so that what fleet-example deploys becomes
	// healthy as it would on a real cluster.
	os.Exit(harness.RunMain(m, harness.Options{Clusters: []string{"global", "gz-dev", "bj-prod", "sh-gpu"}, ControllerManager: true, Scheduler: true, Nodes: 2}, &env))
}

// gitfleet runs the CLI in-process and returns its exit code, stdout and stderr.
func gitfleet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := newRootCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	var exit exitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.code, stdout.String(), stderr.String()
	default:
		return 2, stdout.String(), stderr.String() + err.Error()
	}
}

func exampleRepo(t *testing.T) *gitrepo.Repo {
	t.Helper()
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.CopyDir(filepath.Join("..", "..", "fleet-example")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("import"); err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestValidate(t *testing.T) {
	code, out, errOut := gitfleet(t, "validate", "../../fleet-example")
	if code != 0 || !strings.Contains(out, "is valid: 4 cluster(s), 7 app(s)") {
		t.Fatalf("validate fleet-example: exit %d, output %q", code, out)
	}
	// The example's NVIDIA device plugin waits for a cluster labelled gpu: pgpu.
	if !strings.Contains(errOut, "addons/gpu.yaml:15:13: spec.selector: warning: the selector gpu=pgpu matches no cluster") {
		t.Errorf("validate fleet-example: standard error %q, want the warning for the pGPU addon's selector", errOut)
	}

	repo := exampleRepo(t)
	if err := repo.Write(map[string]string{"clusters/gz-dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gz-dev\nspec:\n  tpye: Imported\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("typo"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = gitfleet(t, "validate", repo.Dir)
	want := "clusters/gz-dev.yaml:6:3: spec.tpye: unknown field \"tpye\"; did you mean \"type\"?\n1 problem(s)\n"
	if code != 1 || out != want {
		t.Errorf("validate with a typo: exit %d, output %q; want exit 1, %q", code, out, want)
	}

	code, out, _ = gitfleet(t, "validate", repo.Dir, "-o", "json")
	if code != 1 || !strings.Contains(out, `"line": 6`) || !strings.Contains(out, `"field": "spec.tpye"`) {
		t.Errorf("validate -o json: exit %d, output %s", code, out)
	}
}

func TestRenderIsStable(t *testing.T) {
	code, first, stderr := gitfleet(t, "render", "../../fleet-example")
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	_, second, _ := gitfleet(t, "render", "../../fleet-example")
	if first != second {
		t.Error("two renders of the same repository differ")
	}
	if n := strings.Count(first, "\n---\n") + 1; n != 300 {
		t.Errorf("render printed %d objects, want 300", n)
	}
	_, one, _ := gitfleet(t, "render", "../../fleet-example", "--cluster", "gz-dev", "--app", "guestbook")
	if strings.Contains(one, "bj-prod") || strings.Contains(one, "app: platform-base") || !strings.Contains(one, "kind: Deployment") {
		t.Errorf("render --cluster gz-dev --app guestbook printed other clusters or apps:\n%s", one)
	}
}

// TestRenderCacheIsSharedBetweenRuns renders fleet-example twice with one cache
// directory, as two runs would: the second reads every build the first wrote (reading
// makes a build the most recently used, so its file's time moves) and prints the same.
func TestRenderCacheIsSharedBetweenRuns(t *testing.T) {
	dir := t.TempDir()
	code, first, stderr := gitfleet(t, "render", "../../fleet-example", "--render-cache-dir", dir)
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	written, err := filepath.Glob(filepath.Join(dir, "b-*"))
	if err != nil || len(written) == 0 {
		t.Fatalf("the first run wrote no builds to %s (%v)", dir, err)
	}
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range written {
		if err := os.Chtimes(f, long, long); err != nil {
			t.Fatal(err)
		}
	}
	code, second, stderr := gitfleet(t, "render", "../../fleet-example", "--render-cache-dir", dir)
	if code != 0 || second != first {
		t.Fatalf("second render: exit %d, output equal: %v: %s", code, second == first, stderr)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "b-*"))
	if !slices.Equal(after, written) {
		t.Errorf("the second run changed the builds: %d before, %d after", len(written), len(after))
	}
	for _, f := range written {
		if info, err := os.Stat(f); err != nil || !info.ModTime().After(long) {
			t.Errorf("%s was not read by the second run", filepath.Base(f))
		}
	}
}

// TestApplyExample applies the whole fleet-example to its four clusters through the CLI,
// twice, and checks the summary table: everything created and healthy (every addon's
// CRDs and workloads, alert rules, business namespaces, Helm and kustomize apps, accepted
// by real API servers), then everything unchanged. The Secrets that Alertmanager needs
// are copied from the management cluster (global) into each member cluster; one that
// cannot be read fails that cluster's alerting alone and takes nothing away.
func TestApplyExample(t *testing.T) {
	repo := exampleRepo(t)
	global := clientFor(t, "global")
	ctx := t.Context()
	if _, err := global.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gitfleet-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string][]byte{"smtp": {"password": []byte("s3cret")}, "oncall-webhook": {"bearer": []byte("Bearer t0ken")}} {
		if _, err := global.CoreV1().Secrets("gitfleet-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"apply", "--repo", repo.Dir, "--kubeconfig", env.Kubeconfig, "--health-timeout", "60s", "--management-kubeconfig", env.Kubeconfig, "--management-context", "global"}
	code, out, stderr := gitfleet(t, args...)
	if code != 0 {
		t.Fatalf("apply: exit %d, want 0\n%s\n%s", code, out, stderr)
	}
	row := regexp.MustCompile(`(?m)^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)$`)
	rows := row.FindAllStringSubmatch(out, -1)
	if len(rows) != 4 {
		t.Fatalf("summary has %d cluster rows, want 4:\n%s", len(rows), out)
	}
	// global and bj-prod have alert policies mailing through ops-mail: each gets a copy of
	// the SMTP password (the on-call webhook is relayed by gitfleet's notifier instead).
	objects := map[string]string{"global": "61", "bj-prod": "97", "gz-dev": "75", "sh-gpu": "69"}
	for _, r := range rows {
		if r[2] != objects[r[1]] || r[3] != "0" || r[4] != "0" || r[5] != "0" || r[6] != "Healthy" {
			t.Errorf("first apply of %s: created=%s configured=%s unchanged=%s pruned=%s health=%s; want %s created, Healthy", r[1], r[2], r[3], r[4], r[5], r[6], objects[r[1]])
		}
	}
	copied := func() map[string]string {
		s, err := clientFor(t, "bj-prod").CoreV1().Secrets("kube-system").Get(ctx, "smtp", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the SMTP password was not copied into bj-prod for Alertmanager: %v", err)
		}
		return map[string]string{"password": string(s.Data["password"]), "app": s.Labels["gitfleet.dev/app"]}
	}
	if got, want := copied(), map[string]string{"password": "s3cret", "app": "gitfleet.alerting"}; !maps.Equal(got, want) {
		t.Errorf("copied Secret kube-system/smtp in bj-prod: %v, want %v", got, want)
	}

	_, out, _ = gitfleet(t, args...)
	for _, r := range row.FindAllStringSubmatch(out, -1) {
		if r[2] != "0" || r[4] != objects[r[1]] {
			t.Errorf("second apply of %s: created=%s unchanged=%s; want everything unchanged\n%s", r[1], r[2], r[4], out)
		}
	}

	// The management cluster's Secrets are looked for in a namespace that lacks them.
	code, out, stderr = gitfleet(t, append(args, "--cluster", "bj-prod", "--secrets-namespace", "elsewhere")...)
	if code != 1 || !strings.Contains(out+stderr, `Secret "smtp" key "password", which NotifyChannel`) || !strings.Contains(out+stderr, "elsewhere/smtp") {
		t.Errorf("apply with the Secrets missing: exit %d, want 1 and the missing Secret and its channel named\n%s\n%s", code, out, stderr)
	}
	if got := copied(); got["password"] != "s3cret" {
		t.Errorf("a failed copy changed the Secret already in bj-prod: %v", got)
	}
}

func clientFor(t *testing.T, cluster string) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Cluster(cluster).RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestApplyNeedsKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	code, _, stderr := gitfleet(t, "apply", "--repo", "../../fleet-example", "--kubeconfig", "")
	if code != 2 || !strings.Contains(stderr, "no kubeconfig") {
		t.Errorf("apply without kubeconfig: exit %d, stderr %q", code, stderr)
	}
}

// TestValidateRefusesHostSecrets: a repository naming a file of the host (/etc/shadow) or
// a variable of the process (HOME) as a password does not validate, each problem with its
// file, line and field and how the operator would allow it; the operator's flags allow
// what they name.
func TestValidateRefusesHostSecrets(t *testing.T) {
	repo := exampleRepo(t)
	user := func(ref string) map[string]string {
		return map[string]string{"access/hostile.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: User\nmetadata:\n  name: mallory\nspec:\n  displayName: Mallory\n  email: mallory@example.com\n  initialPassword: " + ref + "\n"}
	}
	for _, tc := range []struct {
		name, ref string
		flags     []string
		code      int
		want      string
	}{
		{name: "a file of the host", ref: "{file: /etc/shadow}", code: 1,
			want: `access/hostile.yaml:8:27: spec.initialPassword.file: "/etc/shadow" is not an allowed file: a file reference is a path relative to the operator's --secrets-dir, with no leading / and no ..` + "\n1 problem(s)\n"},
		{name: "a variable of the process", ref: "{env: HOME}", code: 1,
			want: `access/hostile.yaml:8:26: spec.initialPassword.env: "HOME" is not an allowed variable: gitfleet reads only variables starting with GITFLEET_SECRET_; the operator can allow more with --secret-env-prefix` + "\n1 problem(s)\n"},
		{name: "a Secret of another namespace", ref: "{secret: {namespace: kube-system, name: token, key: token}}", code: 1,
			want: `access/hostile.yaml:8:41: spec.initialPassword.secret.namespace: "kube-system" is not an allowed namespace: gitfleet reads only Secrets in gitfleet-system; the operator can allow more with --secret-namespaces` + "\n1 problem(s)\n"},
		{name: "a namespace the operator allows", ref: "{secret: {namespace: mail, name: smtp, key: password}}", flags: []string{"--secret-namespaces", "mail"}, code: 0, want: "is valid"},
		{name: "a prefix the operator allows", ref: "{env: MALLORY_PASSWORD}", flags: []string{"--secret-env-prefix", "MALLORY_"}, code: 0, want: "is valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := repo.Write(user(tc.ref)); err != nil {
				t.Fatal(err)
			}
			if _, err := repo.Commit(tc.name); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := gitfleet(t, append([]string{"validate", repo.Dir}, tc.flags...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("validate: exit %d, output %q %s; want exit %d, %q", code, out, stderr, tc.code, tc.want)
			}
		})
	}
}
