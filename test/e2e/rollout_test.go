package e2e

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

var rolloutClusters = []string{alpha, beta, gamma, delta}

// rolloutFleet is a fleet of the four harness clusters in three waves: alpha (the
// canary), then beta and gamma one at a time, then the rest (delta). onFailure is the
// strategy's onFailure ("" for the default, halt).
func rolloutFleet(t *testing.T, name, hookURL string, canarySoak time.Duration, onFailure string) *remoteFleet {
	r := newRemoteFleet(t, name)
	fleet := fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: Fleet
metadata: {name: %s}
spec:
  healthTimeout: 3s
  driftNotify:
    receiverGroups: [ops]
    notify: [{channel: hook, template: short}]
  rollout:
    onFailure: %s
    waves:
    - name: canary
      clusters: [alpha]
      soak: %s
    - name: region
      selector: {matchLabels: {region: south}}
      maxUnavailable: "1"
      soak: 1s
    - name: rest
`, name, cmp.Or(onFailure, "halt"), canarySoak)
	files := map[string]string{
		"fleet.yaml": fleet,
		"alerting/notify.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: NotifyChannel\nmetadata: {name: hook}\nspec:\n  webhook: {url: \"" + hookURL + "/rollout\"}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: NotifyTemplate\nmetadata: {name: short}\nspec: {channel: hook, body: \"{{.Cluster}}: {{.Workload}} {{.Value}}\"}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: Receiver\nmetadata: {name: erin}\nspec: {email: erin@example.com}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: ReceiverGroup\nmetadata: {name: ops}\nspec: {receivers: [erin]}\n",
		// Clusters labelled tier=gold get the gold overlay: a change of a Cluster file, not
		// of the App, that changes what the App renders.
		"apps/web/app.yaml":                "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/web\n      overlays:\n      - selector: {matchLabels: {tier: gold}}\n        path: apps/web/gold\n  targets:\n    selector:\n      matchLabels: {env: test}\n",
		"apps/web/gold/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/gold/ns.yaml":            namespace(name),
		"apps/web/gold/cm.yaml":            configMap(name, "web", "gold"),
		"apps/web/kustomization.yaml":      kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":                 namespace(name),
		"apps/web/cm.yaml":                 configMap(name, "web", "v1"),
	}
	maps.Copy(files, rolloutClusterFiles(""))
	r.pushRacing(files)
	return r
}

// rolloutClusterFiles are the four Cluster files, with extra labels.
func rolloutClusterFiles(labels string) map[string]string {
	files := map[string]string{}
	for _, c := range rolloutClusters {
		region := "north"
		if c == beta || c == gamma {
			region = "south"
		}
		files["clusters/"+c+".yaml"] = fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: %s\n  labels: {env: test, region: %s%s}\nspec:\n  version: \"1.37.2\"\n", c, region, labels)
	}
	return files
}

func (r *remoteFleet) rolloutLoop(t *testing.T, reg *prometheus.Registry) *reconciler.Loop {
	return r.loopWith(func(o *reconciler.LoopOptions) {
		o.Interval = 500 * time.Millisecond
		o.Metrics = reconciler.NewMetrics(reg)
		o.Apply.Log = funcr.New(func(p, a string) { t.Log(a) }, funcr.Options{})
		o.NotifyRollout = func(ctx context.Context, repo *schema.Repo, h reconciler.RolloutReport) {
			n := notify.New(repo, nil, notify.DefaultOptions())
			_ = n.RolloutHalted(ctx, notify.RolloutHalt{App: h.App, Revision: h.Revision, Wave: h.Wave, Cluster: h.Cluster, Reason: h.Reason, At: h.At, RolledBack: h.RolledBack})
		}
	})
}

// pushRacing is push while gitfleet commits status to the same branch: the person
// rebases and pushes again until the push lands, as people do.
func (r *remoteFleet) pushRacing(files map[string]string) {
	r.t.Helper()
	r.commit(files)
	var last []byte
	for range 20 {
		git(r.t, r.repo.Dir, "pull", "--rebase", "origin", "main")
		out, err := exec.Command("git", "-C", r.repo.Dir, "push", "origin", "main").CombinedOutput()
		if err == nil {
			return
		}
		last = out
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("git push kept being rejected: %s", last)
}

// rolloutStatus reads status/rollouts/<app>.yaml from the remote's main branch.
func (r *remoteFleet) rolloutStatus(app string) status.Rollout {
	r.t.Helper()
	out, err := exec.Command("git", "--git-dir", r.bare, "show", "main:"+status.RolloutFile(app)).Output()
	if err != nil {
		return status.Rollout{}
	}
	var s status.Rollout
	if err := yaml.Unmarshal(out, &s); err != nil {
		r.t.Fatal(err)
	}
	return s
}

// firstSeen records, for each cluster, when its ConfigMap first had a value.
type firstSeen struct {
	mu sync.Mutex
	at map[string]time.Time
}

func watchValue(t *testing.T, ns, value string) *firstSeen {
	f := &firstSeen{at: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, c := range rolloutClusters {
				if configMapValue(t, c, ns, "web") == value {
					f.mu.Lock()
					if _, ok := f.at[c]; !ok {
						f.at[c] = time.Now()
					}
					f.mu.Unlock()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *firstSeen) get(c string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.at[c]
	return at, ok
}

func allHave(t *testing.T, ns, value string) bool {
	for _, c := range rolloutClusters {
		if configMapValue(t, c, ns, "web") != value {
			return false
		}
	}
	return true
}

// TestRolloutWavesInOrder: a good change reaches the four clusters in wave order, each
// wave only after the one before it was healthy for its soak, and beta and gamma one at a
// time (maxUnavailable 1); the status commit records the rollout as complete. A change of
// the Cluster files (a label that picks another overlay) follows the same waves.
func TestRolloutWavesInOrder(t *testing.T) {
	const ns = "rollout-order"
	hook := newDriftHook(t)
	r := rolloutFleet(t, ns, hook.URL, 2*time.Second, "")
	reg := prometheus.NewRegistry()
	stop := runLoop(t, r.rolloutLoop(t, reg))
	defer stop()
	eventually(t, 60*time.Second, "the first revision on every cluster", func() bool { return allHave(t, ns, "v1") })
	eventually(t, 20*time.Second, "the first rollout complete in status", func() bool { return r.rolloutStatus("web").Phase == status.RolloutComplete })

	seen := watchValue(t, ns, "v2")
	r.pushRacing(map[string]string{"apps/web/cm.yaml": configMap(ns, "web", "v2")})
	rev := r.head()
	expectWaveOrder(t, seen, "v2")
	var st status.Rollout
	eventually(t, 20*time.Second, "the rollout of v2 complete in status", func() bool {
		st = r.rolloutStatus("web")
		return st.Revision == rev && st.Phase == status.RolloutComplete
	})
	for _, w := range st.Waves {
		for _, c := range w.Clusters {
			if c.Revision != rev {
				t.Errorf("status: wave %s cluster %s has %s, want %s", w.Name, c.Cluster, c.Revision, rev)
			}
		}
	}
	if got := gauge(t, reg, "gitfleet_rollout_wave", map[string]string{"app": "web"}); got != 4 {
		t.Errorf("gitfleet_rollout_wave = %v, want 4 (complete after 3 waves)", got)
	}
	if got := gauge(t, reg, "gitfleet_rollout_clusters", map[string]string{"app": "web", "state": "updated"}); got != 4 {
		t.Errorf("gitfleet_rollout_clusters{state=updated} = %v, want 4", got)
	}

	// A change that is not the App's own: every Cluster file gains tier=gold, which puts
	// the App's gold overlay on every cluster. It follows the same waves.
	gold := watchValue(t, ns, "gold")
	r.pushRacing(rolloutClusterFiles(", tier: gold"))
	expectWaveOrder(t, gold, "the gold overlay")
	if got := hook.alerts("rollout wave canary", "firing"); len(got) != 0 {
		t.Errorf("a good rollout sent notifications: %+v", got)
	}
}

// expectWaveOrder waits for every cluster to have the value and checks the order and
// spacing of rolloutFleet's waves: the canary (soak 2s), beta and gamma one at a time
// (soak 1s), then delta.
func expectWaveOrder(t *testing.T, seen *firstSeen, what string) {
	t.Helper()
	eventually(t, 60*time.Second, what+" seen on every cluster", func() bool {
		for _, c := range rolloutClusters {
			if _, ok := seen.get(c); !ok {
				return false
			}
		}
		return true
	})
	at := map[string]time.Time{}
	for _, c := range rolloutClusters {
		at[c], _ = seen.get(c)
	}
	t.Logf("%s reached alpha %s, beta +%s, gamma +%s, delta +%s", what, at[alpha].Format(time.TimeOnly), at[beta].Sub(at[alpha]), at[gamma].Sub(at[alpha]), at[delta].Sub(at[alpha]))
	if d := at[beta].Sub(at[alpha]); d < 2*time.Second {
		t.Errorf("beta got %s %s after the canary; want at least its 2s soak", what, d)
	}
	if d := at[gamma].Sub(at[alpha]); d < 2*time.Second {
		t.Errorf("gamma got %s %s after the canary; want at least its 2s soak", what, d)
	}
	if d := at[gamma].Sub(at[beta]); d > -50*time.Millisecond && d < 50*time.Millisecond {
		t.Errorf("beta and gamma got %s %s apart; maxUnavailable 1 updates them one at a time", what, d)
	}
	last := at[beta]
	if at[gamma].After(last) {
		last = at[gamma]
	}
	if d := at[delta].Sub(last); d < time.Second {
		t.Errorf("delta got %s %s after the region wave; want at least its 1s soak", what, d)
	}
}

// unhealthyDeployment never becomes available: the harness runs no controllers.
func unhealthyDeployment(ns string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:broken}]
`, ns)
}

// pushUnhealthy pushes v2 of the App with a Deployment that never becomes healthy, and
// returns the commit.
func (r *remoteFleet) pushUnhealthy(ns string) string {
	r.pushRacing(map[string]string{
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml", "deploy.yaml"),
		"apps/web/cm.yaml":            configMap(ns, "web", "v2"),
		"apps/web/deploy.yaml":        unhealthyDeployment(ns),
	})
	return r.head()
}

// pushFix pushes v3 without the Deployment and waits for it to roll out to all.
func (r *remoteFleet) pushFix(t *testing.T, ns string) {
	t.Helper()
	r.pushRacing(map[string]string{
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/cm.yaml":            configMap(ns, "web", "v3"),
	})
	fix := r.head()
	eventually(t, 60*time.Second, "the fix on every cluster", func() bool { return allHave(t, ns, "v3") })
	eventually(t, 20*time.Second, "the fix's rollout complete in status", func() bool {
		st := r.rolloutStatus("web")
		return st.Revision == fix && st.Phase == status.RolloutComplete
	})
}

// TestRolloutHaltsOnAnUnhealthyCanary: a change whose Deployment never becomes healthy
// stops at the canary: the later waves keep the previous revision on their API servers,
// through several intervals; a notification arrives and the status commit says halted,
// where and why. A fixing commit then rolls out to all.
func TestRolloutHaltsOnAnUnhealthyCanary(t *testing.T) {
	const ns = "rollout-halt"
	hook := newDriftHook(t)
	r := rolloutFleet(t, ns, hook.URL, time.Second, "")
	reg := prometheus.NewRegistry()
	stop := runLoop(t, r.rolloutLoop(t, reg))
	defer stop()
	eventually(t, 60*time.Second, "the first revision on every cluster", func() bool { return allHave(t, ns, "v1") })

	bad := r.pushUnhealthy(ns)
	var st status.Rollout
	eventually(t, 30*time.Second, "the halt in the status commit", func() bool {
		st = r.rolloutStatus("web")
		return st.Revision == bad && st.Phase == status.RolloutHalted
	})
	if h := st.Halted; h == nil || h.Wave != "canary" || h.Cluster != alpha || !strings.Contains(h.Reason, "not healthy") {
		t.Errorf("halt recorded as %+v; want wave canary, cluster alpha, not healthy", st.Halted)
	}
	msg := git(t, "", "--git-dir", r.bare, "log", "-1", "--format=%s", "main")
	if !strings.Contains(msg, "rollout of web "+bad[:7]+" halted at wave canary (alpha:") {
		t.Errorf("status commit message %q does not say the rollout halted", msg)
	}
	eventually(t, 10*time.Second, "the halt notification", func() bool { return len(hook.alerts("rollout wave canary", "firing")) > 0 })
	if got := gauge(t, reg, "gitfleet_rollout_halted", map[string]string{"app": "web"}); got != 1 {
		t.Errorf("gitfleet_rollout_halted = %v, want 1", got)
	}
	if v := configMapValue(t, alpha, ns, "web"); v != "v2" {
		t.Errorf("the canary has %q; a halt without rollback leaves it on the failed revision v2", v)
	}
	// A cluster the rollout has not reached is still reconciled at the revision it has:
	// an edit there is put back to v1, not to the halted revision.
	editConfigMap(t, delta, ns, "web", "edited by hand")
	eventually(t, 20*time.Second, "the edit on delta put back to v1", func() bool { return configMapValue(t, delta, ns, "web") == "v1" })
	// Several intervals: nothing but a commit moves a halted rollout.
	time.Sleep(2 * time.Second)
	if got := gauge(t, reg, "gitfleet_rollout_halts_total", map[string]string{"app": "web"}); got != 1 {
		t.Errorf("gitfleet_rollout_halts_total = %v after several intervals of one halt, want 1", got)
	}
	for _, c := range []string{beta, gamma, delta} {
		if v := configMapValue(t, c, ns, "web"); v != "v1" {
			t.Errorf("%s has %q after the canary halted; want v1 kept", c, v)
		}
		var dep appsv1.Deployment
		if err := clientFor(t, c).Get(t.Context(), keyOf(ns, "web"), &dep); err == nil {
			t.Errorf("%s got the failed revision's Deployment", c)
		}
		cs, _ := r.remoteStatus(c)
		for _, a := range cs.Apps {
			if a.Name == "web" && a.Revision == bad {
				t.Errorf("%s's status says web is at the failed revision", c)
			}
		}
	}

	r.pushFix(t, ns)
	var dep appsv1.Deployment
	if err := clientFor(t, alpha).Get(t.Context(), keyOf(ns, "web"), &dep); err == nil && dep.DeletionTimestamp == nil {
		t.Errorf("the fix did not prune the failed Deployment from the canary")
	}
}

// TestRolloutRollsBackTheFailedWave: with onFailure rollback, a change whose Deployment
// never becomes healthy on the canary is taken back there: the canary has the previous
// revision again (its ConfigMap, no Deployment) and keeps it through several intervals;
// the later waves never saw the change; the status says halted and rolled back. A fixing
// commit then rolls out to all.
func TestRolloutRollsBackTheFailedWave(t *testing.T) {
	const ns = "rollout-back"
	hook := newDriftHook(t)
	r := rolloutFleet(t, ns, hook.URL, time.Second, "rollback")
	stop := runLoop(t, r.rolloutLoop(t, prometheus.NewRegistry()))
	defer stop()
	eventually(t, 60*time.Second, "the first revision on every cluster", func() bool { return allHave(t, ns, "v1") })

	canary := watchValue(t, ns, "v2")
	bad := r.pushUnhealthy(ns)
	var st status.Rollout
	eventually(t, 30*time.Second, "the halt in the status commit", func() bool {
		st = r.rolloutStatus("web")
		return st.Revision == bad && st.Phase == status.RolloutHalted
	})
	if h := st.Halted; h == nil || h.Wave != "canary" || !h.RolledBack {
		t.Errorf("halt recorded as %+v; want wave canary, rolled back", st.Halted)
	}
	if _, ok := canary.get(alpha); !ok {
		t.Errorf("the canary never had the failed revision: nothing was tried")
	}
	eventually(t, 20*time.Second, "the canary back on v1", func() bool { return configMapValue(t, alpha, ns, "web") == "v1" })
	eventually(t, 20*time.Second, "the failed Deployment gone from the canary", func() bool {
		var dep appsv1.Deployment
		err := clientFor(t, alpha).Get(t.Context(), keyOf(ns, "web"), &dep)
		return err != nil || dep.DeletionTimestamp != nil
	})
	eventually(t, 10*time.Second, "the halt notification", func() bool { return len(hook.alerts("rollout wave canary", "firing")) > 0 })
	// Several intervals: the rolled-back canary is not given the failed revision again.
	again := watchValue(t, ns, "v2")
	time.Sleep(3 * time.Second)
	for _, c := range rolloutClusters {
		if at, ok := again.get(c); ok {
			t.Errorf("%s had the failed revision again at %s, after the rollback", c, at.Format(time.TimeOnly))
		}
	}
	for _, c := range []string{beta, gamma, delta} {
		if _, ok := canary.get(c); ok {
			t.Errorf("%s got the failed revision; only the canary should have", c)
		}
	}

	r.pushFix(t, ns)
}

// TestRolloutResumesAfterLeaderKill runs two gitfleet serve processes and kills the
// leader with SIGKILL while the canary soaks. The other replica takes the Lease and
// continues from the committed status: it waits out the same soak (a fresh start would
// see the canary updated and move on at once) and finishes the rollout.
func TestRolloutResumesAfterLeaderKill(t *testing.T) {
	bin := buildGitfleet(t)
	const ns = "rollout-resume"
	hook := newDriftHook(t)
	r := rolloutFleet(t, ns, hook.URL, 8*time.Second, "")
	leaseNS := createNamespace(t, alpha, ns+"-system")
	args := func() []string {
		// Status commits on: the next leader resumes from them.
		return slices.DeleteFunc(serveArgs(t, r, env.Kubeconfig, env.Kubeconfig, leaseNS), func(a string) bool { return a == "--no-status-commits" })
	}
	first := startServe(t, bin, "first", args()...)
	eventually(t, 60*time.Second, "the first revision on every cluster", func() bool { return allHave(t, ns, "v1") })
	eventually(t, 30*time.Second, "the first rollout complete", func() bool { return r.rolloutStatus("web").Phase == status.RolloutComplete })
	second := startServe(t, bin, "second", args()...)
	eventually(t, 30*time.Second, "the second replica to try for the Lease", func() bool {
		return strings.Contains(second.output(), "Attempting to acquire leader lease")
	})

	r.pushRacing(map[string]string{"apps/web/cm.yaml": configMap(ns, "web", "v2")})
	rev := r.head()
	var st status.Rollout
	eventually(t, 30*time.Second, "the canary soaking in status", func() bool {
		st = r.rolloutStatus("web")
		return st.Revision == rev && st.Phase == status.RolloutSoaking
	})
	first.kill() // the leader crashes mid-soak: its Lease is not released
	soakEnd := *st.SoakUntil
	if time.Until(soakEnd) < 2*time.Second {
		t.Fatalf("the soak ends at %s, too soon to test a resume", soakEnd)
	}
	seen := watchValue(t, ns, "v2")
	eventually(t, 60*time.Second, "v2 on every cluster under the new leader", func() bool { return allHave(t, ns, "v2") })
	if at, _ := seen.get(beta); at.Before(soakEnd) {
		t.Errorf("the new leader updated beta at %s, before the committed soak ended at %s", at.Format(time.TimeOnly), soakEnd.Format(time.TimeOnly))
	}
	eventually(t, 30*time.Second, "the rollout complete", func() bool {
		st = r.rolloutStatus("web")
		return st.Revision == rev && st.Phase == status.RolloutComplete
	})
}
