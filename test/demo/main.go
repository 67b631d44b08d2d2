// Command demo shows gitfleet's main job on a laptop: it starts four local clusters (real
// kube-apiserver, etcd, controller-manager, scheduler and kwok fake nodes), makes a git
// repository from fleet-example/, runs `gitfleet apply` against every cluster, then one
// reconcile as the server runs it with its status commit, then plans a change the way a
// pull request sees it, and stops everything again.
// `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"gitfleet.dev/gitfleet/test/chartserver"
	"gitfleet.dev/gitfleet/test/gitrepo"
	"gitfleet.dev/gitfleet/test/harness"
)

func main() {
	gitfleet := flag.String("gitfleet", "bin/gitfleet", "the gitfleet binary to run")
	example := flag.String("example", "fleet-example", "the example fleet repository to copy")
	charts := flag.String("charts", "test/demo/charts", "the chart archives the demo's Helm repository serves")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *gitfleet, *example, *charts)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, gitfleet, example, charts string) error {
	work, err := os.MkdirTemp("", "gitfleet-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("Starting four local clusters: global, gz-dev, bj-prod and sh-gpu (one etcd; per cluster a kube-apiserver, controller-manager, scheduler and 2 kwok nodes)")
	begin := time.Now()
	env, err := harness.Start(ctx, harness.Options{
		Clusters:          []string{"global", "gz-dev", "bj-prod", "sh-gpu"},
		ControllerManager: true,
		Scheduler:         true,
		Nodes:             2,
		WorkDir:           filepath.Join(work, "clusters"),
		Log:               slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("starting the member clusters: %w", err)
	}
	defer func() {
		step("Stopping the member clusters")
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: stopping clusters:", err)
		}
	}()
	fmt.Printf("   ready in %.1fs; kubeconfig with one context per cluster: %s\n", time.Since(begin).Seconds(), env.Kubeconfig)

	step("Making a git repository from " + example)
	repoDir := filepath.Join(work, "fleet")
	repo, err := gitrepo.Init(repoDir)
	if err != nil {
		return err
	}
	if err := repo.CopyDir(example); err != nil {
		return fmt.Errorf("copying %s: %w", example, err)
	}
	rev, err := repo.Commit("Import the example fleet")
	if err != nil {
		return err
	}
	fmt.Printf("   %s at commit %s\n", repoDir, rev[:12])

	step("gitfleet validate")
	if err := runCommand(ctx, gitfleet, "validate", repoDir); err != nil {
		return err
	}

	step("Secrets the fleet refers to, in the cluster gitfleet runs in (global, namespace gitfleet-system)")
	if err := createDemoSecrets(ctx, env.Cluster("global")); err != nil {
		return err
	}
	// Fleet files name Secrets, never values; gitfleet reads them in the management cluster
	// and copies the ones Alertmanager needs into the member clusters.
	management := []string{"--management-kubeconfig", env.Kubeconfig, "--management-context", "global"}

	step("gitfleet apply (one reconcile of every cluster)")
	apply := append([]string{"apply", "--repo", repoDir, "--kubeconfig", env.Kubeconfig}, management...)
	if err := runCommand(ctx, gitfleet, apply...); err != nil {
		return err
	}

	step("gitfleet's own install, applied to global as the App apps/gitfleet (what gitfleet install prints)")
	if err := showInstall(ctx, env.Cluster("global")); err != nil {
		return err
	}

	step("Applying the same commit again changes nothing")
	if err := runCommand(ctx, gitfleet, apply...); err != nil {
		return err
	}

	step("One reconcile as gitfleet serve runs it, against a git server, with its status commit")
	bare := filepath.Join(work, "fleet.git")
	if out, err := exec.CommandContext(ctx, "git", "clone", "--quiet", "--bare", repoDir, bare).CombinedOutput(); err != nil {
		return fmt.Errorf("git clone --bare: %v\n%s", err, out)
	}
	serve := append([]string{"serve", "--once", "--repo-url", "file://" + bare, "--branch", "master",
		"--kubeconfig", env.Kubeconfig, "--cache-dir", filepath.Join(work, "cache")}, management...)
	if err := runCommand(ctx, gitfleet, serve...); err != nil {
		return err
	}
	log, err := exec.CommandContext(ctx, "git", "--git-dir", bare, "log", "--format=   %h %an: %s", "-2").Output()
	if err != nil {
		return fmt.Errorf("git log: %w", err)
	}
	fmt.Printf("   the git server's history now:\n%s", log)
	if err := runCommand(ctx, gitfleet, "status", bare); err != nil {
		return err
	}
	// serve --once exits after its reconcile, so the demo has no web view to open; it says
	// where the long-running serve puts it, and the command that would start it here.
	view := append([]string{"serve", "--repo-url", "file://" + bare, "--branch", "master", "--kubeconfig", env.Kubeconfig,
		"--cache-dir", filepath.Join(work, "cache"), "--leader-elect=false", "--view"}, management...)
	fmt.Printf("   the long-running serve shows the same state live in a browser with --view, at http://127.0.0.1:9393/\n"+
		"   (matrix of clusters by apps, each cluster, business quotas, drift, revisions; JSON at /api/status); while these clusters run:\n"+
		"   $ %s %s\n", gitfleet, shellJoin(view))

	step("A pull request's view: gitfleet plan of a change (more CPU for namespace pay-dev)")
	const nsFile = "businesses/payments/namespaces/pay-dev.yaml"
	data, err := os.ReadFile(filepath.Join(repoDir, nsFile))
	if err != nil {
		return err
	}
	changed := strings.Replace(string(data), `quota: {cpu: "4",`, `quota: {cpu: "6",`, 1)
	if changed == string(data) {
		return fmt.Errorf("%s no longer has the quota the demo changes", nsFile)
	}
	if err := repo.Write(map[string]string{nsFile: changed}); err != nil {
		return err
	}
	if _, err := repo.Commit("More CPU for pay-dev"); err != nil {
		return err
	}
	if err := runCommand(ctx, gitfleet, "plan", "--repo", repoDir, "--base", "HEAD~1", "--head", "HEAD"); err != nil {
		return err
	}

	if err := remoteChartStep(ctx, gitfleet, charts, repo, apply); err != nil {
		return err
	}

	// Whoever merges into the fleet repository is not whoever runs gitfleet: a fleet file
	// may name only the secrets the operator made available (--secrets-dir,
	// --secret-env-prefix, --secret-namespaces), never a file or variable of the host.
	step("A fleet file naming a secret of the host (/etc/shadow) is refused, at its file, line and field")
	const hostile = "access/mallory.yaml"
	if err := repo.Write(map[string]string{hostile: "apiVersion: gitfleet.dev/v1alpha1\nkind: User\nmetadata: {name: mallory}\nspec: {displayName: Mallory, email: mallory@example.com, initialPassword: {file: /etc/shadow}}\n"}); err != nil {
		return err
	}
	if _, err := repo.Commit("Mallory's initial password"); err != nil {
		return err
	}
	if err := runCommand(ctx, gitfleet, "validate", repoDir); err == nil {
		return fmt.Errorf("gitfleet validate accepted %s, which names /etc/shadow", hostile)
	}
	fmt.Println("   (exit status 1, as expected: nothing of this revision would be applied)")
	return nil
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }

// exampleChartRepository is where fleet-example's hello-remote App takes its chart from.
const exampleChartRepository = "127.0.0.1:8879"

// remoteChartStep serves the Helm repository that fleet-example's hello-remote App names,
// and makes the pull request that turns it on for gz-dev (the cluster's label): gitfleet
// lock finds fleet-example's lock up to date, plan shows the App's objects, apply fetches
// the locked chart and deploys it.
func remoteChartStep(ctx context.Context, gitfleet, charts string, repo *gitrepo.Repo, apply []string) error {
	step("A pull request turns on hello-remote, an App whose chart comes from a Helm repository (served on " + exampleChartRepository + ")")
	srv, err := chartserver.NewHelmRepoAt(exampleChartRepository, chartserver.Auth{}, true)
	if err != nil {
		return fmt.Errorf("%w (fleet-example/apps/hello-remote names this address; free it and run the demo again)", err)
	}
	defer srv.Close()
	if err := serveDemoCharts(srv, charts); err != nil {
		return err
	}
	fmt.Printf("   a Helm repository at %s with chart hello 1.0.0, 1.1.0 and 2.0.0; hello-remote asks for ^1.0.0\n", srv.URL)
	const clusterFile = "clusters/gz-dev.yaml"
	// The lock is already in fleet-example: gitfleet lock finds it up to date.
	data, err := os.ReadFile(filepath.Join(repo.Dir, clusterFile))
	if err != nil {
		return err
	}
	labelled := strings.Replace(string(data), "    env: dev\n", "    env: dev\n    remote-charts: enabled\n", 1)
	if labelled == string(data) {
		return fmt.Errorf("%s no longer has the label the demo extends", clusterFile)
	}
	if err := repo.Write(map[string]string{clusterFile: labelled}); err != nil {
		return err
	}
	cache := "--chart-cache-dir=" + filepath.Join(repo.Dir, "..", "charts")
	if err := runCommand(ctx, gitfleet, "lock", repo.Dir, cache); err != nil {
		return err
	}
	if _, err := repo.Commit("Remote charts on gz-dev"); err != nil {
		return err
	}
	if err := runCommand(ctx, gitfleet, "plan", "--repo", repo.Dir, "--base", "HEAD~1", "--head", "HEAD", cache); err != nil {
		return err
	}
	return runCommand(ctx, gitfleet, append(apply, cache)...)
}

// createDemoSecrets puts the Secrets that fleet-example's files name into the cluster:
// the SMTP password and the on-call webhook's token of alerting/notify.yaml.
func createDemoSecrets(ctx context.Context, c *harness.Cluster) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gitfleet-system"}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace gitfleet-system: %w", err)
	}
	secrets := map[string]map[string][]byte{
		"smtp":           {"password": []byte("demo-smtp-password")},
		"oncall-webhook": {"bearer": []byte("Bearer demo-token")},
	}
	for name, data := range secrets {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
		if _, err := cs.CoreV1().Secrets("gitfleet-system").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating Secret gitfleet-system/%s: %w", name, err)
		}
		fmt.Printf("   gitfleet-system/%s\n", name)
	}
	return nil
}

// showInstall lists the objects that run gitfleet itself in the management cluster, as
// the example fleet's apps/gitfleet applied them.
func showInstall(ctx context.Context, c *harness.Cluster) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	const ns = "gitfleet-system"
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "gitfleet", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("gitfleet's ServiceAccount: %w", err)
	}
	role, err := cs.RbacV1().Roles(ns).Get(ctx, "gitfleet", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("gitfleet's Role: %w", err)
	}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "gitfleet", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("gitfleet's Service: %w", err)
	}
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "gitfleet", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("gitfleet's Deployment: %w", err)
	}
	fmt.Printf("   ServiceAccount %s/%s\n", ns, sa.Name)
	for _, r := range role.Rules {
		what := strings.Join(r.Resources, ",")
		if len(r.ResourceNames) > 0 {
			what += " " + strings.Join(r.ResourceNames, ",")
		}
		fmt.Printf("   Role %s/%s: %s %s\n", ns, role.Name, strings.Join(r.Verbs, ","), what)
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s %d", p.Name, p.Port))
	}
	fmt.Printf("   Service %s/%s: %s\n", ns, svc.Name, strings.Join(ports, ", "))
	fmt.Printf("   Deployment %s/%s: %d/%d replicas ready, image %s\n", ns, dep.Name, dep.Status.ReadyReplicas, *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image)
	return nil
}

func runCommand(ctx context.Context, name string, args ...string) error {
	fmt.Printf("   $ gitfleet %s\n", shellJoin(args))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gitfleet %s: %w", args[0], err)
	}
	return nil
}

func shellJoin(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += a
	}
	return out
}

// serveDemoCharts publishes the committed archives of chart hello (see gencharts): the
// lock in fleet-example pins one of them by digest, so they are served as they are.
func serveDemoCharts(srv *chartserver.HelmRepo, dir string) error {
	archives, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil || len(archives) == 0 {
		return fmt.Errorf("no chart archives in %s (%v)", dir, err)
	}
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			return err
		}
		if err := srv.Add(data); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}
