package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/gitsource"
	"gitfleet.dev/gitfleet/reconciler/status"
)

// remoteFleet is a fleet repository as a team runs it: a bare repository (the git server)
// and a person's clone that pushes to it.
type remoteFleet struct {
	*fleet
	bare string
}

func newRemoteFleet(t *testing.T, name string) *remoteFleet {
	t.Helper()
	f := newFleet(t, name)
	bare := filepath.Join(t.TempDir(), "fleet.git")
	git(t, "", "init", "--bare", "--initial-branch=main", bare)
	git(t, f.repo.Dir, "branch", "-M", "main")
	git(t, f.repo.Dir, "remote", "add", "origin", bare)
	return &remoteFleet{fleet: f, bare: bare}
}

// push commits files in the person's clone and pushes them (rebasing on gitfleet's status
// commits first, as a person would).
func (r *remoteFleet) push(files map[string]string) {
	r.t.Helper()
	r.commit(files)
	git(r.t, r.repo.Dir, "pull", "--rebase", "origin", "main")
	git(r.t, r.repo.Dir, "push", "origin", "main")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Fleet Admin", "GIT_AUTHOR_EMAIL=admin@example.com", "GIT_COMMITTER_NAME=Fleet Admin", "GIT_COMMITTER_EMAIL=admin@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil && !(len(args) > 0 && args[0] == "pull" && strings.Contains(string(out), "couldn't find remote ref")) {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// loop makes a reconcile loop over the remote, as gitfleet serve runs it.
func (r *remoteFleet) loop(interval time.Duration) (*reconciler.Loop, *gitsource.Source) {
	r.t.Helper()
	opts := gitsource.DefaultOptions()
	opts.URL, opts.Branch, opts.Log = "file://"+r.bare, "main", logr.Discard()
	src, err := gitsource.New(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	apply := reconciler.DefaultApplyOptions()
	apply.HealthTimeout = 10 * time.Second
	return reconciler.NewLoop(reconciler.LoopOptions{
		Source:    src,
		Status:    gitsource.StatusWriter{Source: src, Options: gitsource.DefaultStatusOptions()},
		Connector: r.conn,
		Apply:     apply,
		Interval:  interval,
	}), src
}

// remoteStatus reads a cluster's status file from the bare repository's main branch.
func (r *remoteFleet) remoteStatus(cluster string) (status.Cluster, string) {
	r.t.Helper()
	cmd := exec.Command("git", "--git-dir", r.bare, "show", "main:status/clusters/"+cluster+".yaml")
	out, err := cmd.Output()
	if err != nil {
		return status.Cluster{}, ""
	}
	var s status.Cluster
	if err := yaml.Unmarshal(out, &s); err != nil {
		r.t.Fatal(err)
	}
	msg, _ := exec.Command("git", "--git-dir", r.bare, "log", "-1", "--format=%s", "main").Output()
	return s, strings.TrimSpace(string(msg))
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if ok() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not happen within %s", what, within)
	return 0
}

// configMapValue reads data.value of a ConfigMap, "" when it is not there (yet).
func configMapValue(t *testing.T, cluster, ns, name string) string {
	t.Helper()
	cm := newConfigMap()
	if err := clientFor(t, cluster).Get(t.Context(), keyOf(ns, name), cm); err != nil {
		return ""
	}
	return cm.Data["value"]
}

// editConfigMap sets a ConfigMap's value as a person with kubectl edit would (another
// field manager): drift.
func editConfigMap(t *testing.T, cluster, ns, name, value string) {
	t.Helper()
	c := clientFor(t, cluster)
	cm := newConfigMap()
	if err := c.Get(t.Context(), keyOf(ns, name), cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["value"] = value
	if err := c.Update(t.Context(), cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
}

// TestServeLoop is gitfleet serve's loop against a real git remote: a push applied on a
// webhook trigger within seconds, a status commit with the revision, status commits not
// re-applied, a person's push after a status commit, and a git server outage that leaves
// the clusters as they were.
func TestServeLoop(t *testing.T) {
	r := newRemoteFleet(t, "serve")
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("serve"),
		"apps/web/cm.yaml":            configMap("serve", "web", "v1"),
	})
	loop, _ := r.loop(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	for _, cl := range []string{alpha, beta} {
		eventually(t, 20*time.Second, "first apply to "+cl, func() bool { return configMapValue(t, cl, "serve", "web") == "v1" })
	}
	var st status.Cluster
	var msg string
	eventually(t, 10*time.Second, "status commit", func() bool {
		st, msg = r.remoteStatus(alpha)
		return st.Phase == status.Synced
	})
	head := git(t, "", "--git-dir", r.bare, "rev-parse", "main~1")
	if st.Revision != head || !strings.HasPrefix(msg, "status: alpha synced "+head[:7]) {
		t.Errorf("status revision %s, message %q; want the pushed commit %s", st.Revision, msg, head)
	}

	// A push, then the webhook's trigger: applied within 5 s.
	r.push(map[string]string{"apps/web/cm.yaml": configMap("serve", "web", "v2")})
	loop.Trigger()
	took := eventually(t, 5*time.Second, "apply of the pushed change after the webhook", func() bool {
		return configMapValue(t, alpha, "serve", "web") == "v2" && configMapValue(t, beta, "serve", "web") == "v2"
	})
	t.Logf("push to both clusters converged in %s", took)

	// The status commit that followed is not applied again.
	eventually(t, 10*time.Second, "status commit of v2", func() bool {
		st, _ = r.remoteStatus(beta)
		return st.Revision == git(t, "", "--git-dir", r.bare, "rev-parse", "main~1")
	})
	if outcome, err := loop.ReconcileOnce(t.Context()); err != nil || outcome != reconciler.OutcomeStatusOnly {
		t.Errorf("reconcile after a status commit: %q, %v; want %q", outcome, err, reconciler.OutcomeStatusOnly)
	}

	// The git server goes away: nothing is pruned, the clusters keep their state.
	cancel()
	<-done
	moved := r.bare + ".offline"
	if err := os.Rename(r.bare, moved); err != nil {
		t.Fatal(err)
	}
	outcome, err := loop.ReconcileOnce(t.Context())
	if err == nil || outcome != reconciler.OutcomeFetchFailed {
		t.Errorf("reconcile with the git server down: %q, %v; want %q and an error", outcome, err, reconciler.OutcomeFetchFailed)
	}
	if v := configMapValue(t, alpha, "serve", "web"); v != "v2" {
		t.Errorf("with the git server down, alpha's ConfigMap is %q, want v2 kept", v)
	}
	if err := os.Rename(moved, r.bare); err != nil {
		t.Fatal(err)
	}
	r.push(map[string]string{"apps/web/cm.yaml": configMap("serve", "web", "v3")})
	if outcome, err := loop.ReconcileOnce(t.Context()); err != nil || outcome != reconciler.OutcomeApplied {
		t.Fatalf("reconcile when the git server is back: %q, %v", outcome, err)
	}
	if v := configMapValue(t, beta, "serve", "web"); v != "v3" {
		t.Errorf("after the outage beta has %q, want v3", v)
	}
	// History stays linear: every commit has one parent.
	parents := git(t, "", "--git-dir", r.bare, "log", "--format=%p", "main")
	for _, p := range strings.Split(parents, "\n") {
		if strings.Contains(strings.TrimSpace(p), " ") {
			t.Errorf("a merge commit in the fleet history: parents %q", p)
		}
	}
}

// TestServeClusterOutage: a member cluster that is down during a reconcile does not hold
// up the others; its status commit says it is unreachable and keeps the revision it last
// had; once it is back it converges.
func TestServeClusterOutage(t *testing.T) {
	r := newRemoteFleet(t, "outage-serve")
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("outage-serve"),
		"apps/web/cm.yaml":            configMap("outage-serve", "web", "v1"),
	})
	loop, _ := r.loop(time.Hour)
	if _, err := loop.ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	first, _ := r.remoteStatus(beta)

	down := env.Cluster(beta)
	if err := down.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = down.StartAPIServer(context.Background())
		}
	})
	r.push(map[string]string{"apps/web/cm.yaml": configMap("outage-serve", "web", "v2")})
	if _, err := loop.ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := configMapValue(t, alpha, "outage-serve", "web"); v != "v2" {
		t.Errorf("alpha has %q while beta is down, want v2", v)
	}
	st, msg := r.remoteStatus(beta)
	if st.Phase != status.Unreachable || st.Revision != first.Revision || len(st.Errors) == 0 || !strings.Contains(st.Errors[0], "unreachable") {
		t.Errorf("beta's status while down: phase %s revision %s errors %q; want Unreachable at %s with the reason", st.Phase, st.Revision, st.Errors, first.Revision)
	}
	if !strings.Contains(msg, "beta unreachable") {
		t.Errorf("status commit message %q does not say beta is unreachable", msg)
	}

	if err := down.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	// A failing cluster is retried after a back-off (5 s after the first failure), not at
	// every trigger.
	took := eventually(t, 15*time.Second, "beta to converge after it came back", func() bool {
		if _, err := loop.ReconcileOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		return configMapValue(t, beta, "outage-serve", "web") == "v2"
	})
	t.Logf("beta converged %s after it came back", took)
	if st, _ := r.remoteStatus(beta); st.Phase != status.Synced {
		t.Errorf("beta's status after it came back: %s, want Synced", st.Phase)
	}
}
