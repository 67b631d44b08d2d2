package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/hostile"
)

// logLines captures a logger's lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{})
}

// matching returns the lines holding every one of parts.
func (l *logLines) matching(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func (l *logLines) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = nil
}

func (r *remoteFleet) commitCount() int {
	n, err := strconv.Atoi(git(r.t, "", "--git-dir", r.bare, "rev-list", "--count", "main"))
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *remoteFleet) head() string { return git(r.t, "", "--git-dir", r.bare, "rev-parse", "main") }

// runLoop starts the loop in the background until the test ends or stop is called.
func runLoop(t *testing.T, loop *reconciler.Loop) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Start(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// TestServeSteadyStateWritesNothing: serve with a short interval and no change writes no
// status commit and no object, however many intervals pass, and its status names the
// person's commit, never its own.
func TestServeSteadyStateWritesNothing(t *testing.T) {
	r := newRemoteFleet(t, "steady")
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("steady"),
		"apps/web/cm.yaml":            configMap("steady", "web", "v1"),
	})
	person := r.head()
	const interval = 300 * time.Millisecond
	logs := &logLines{}
	loop := r.loopWith(func(o *reconciler.LoopOptions) {
		o.Interval, o.WatchDrift, o.Apply.Log = interval, true, logs.logger()
	})
	runLoop(t, loop)
	eventually(t, 20*time.Second, "the first status commit", func() bool {
		st, _ := r.remoteStatus(beta)
		return st.Phase == status.Synced
	})
	time.Sleep(2 * interval) // a status commit in flight lands
	commits := r.commitCount()
	r.conn.reset()
	logs.reset()

	time.Sleep(12 * interval)
	if n := len(logs.matching(`"trigger"="interval"`)); n < 5 {
		t.Fatalf("%d interval passes logged in %s, want at least 5: the test did not test the interval", n, 12*interval)
	}
	if got := r.commitCount(); got != commits {
		t.Errorf("the branch gained %d commit(s) over intervals with no change: %s", got-commits, git(t, "", "--git-dir", r.bare, "log", "--format=%h %s", "-5", "main"))
	}
	if w := r.conn.writeRequests(); len(w) != 0 {
		t.Errorf("interval passes with no change wrote to the clusters:\n%s", strings.Join(w, "\n"))
	}
	for _, cl := range []string{alpha, beta} {
		if st, _ := r.remoteStatus(cl); st.Revision != person || st.Attempted != person {
			t.Errorf("%s status names revision %s (attempted %s), want the person's commit %s", cl, st.Revision, st.Attempted, person)
		}
	}
	for _, line := range logs.matching(`"revision"=`) {
		if !strings.Contains(line, `"revision"="`+person[:7]+`"`) {
			t.Errorf("a log line names another revision than %s: %s", person[:7], line)
		}
	}
}

// driftHook is a webhook receiver of drift notifications.
type driftHook struct {
	*httptest.Server
	mu       sync.Mutex
	messages []notify.Message
}

func newDriftHook(t *testing.T) *driftHook {
	h := &driftHook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		if err := json.Unmarshal(body, &m); err == nil {
			h.mu.Lock()
			h.messages = append(h.messages, m)
			h.mu.Unlock()
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// alerts lists the alerts received for object with the given status (firing, resolved).
func (h *driftHook) alerts(object, state string) []notify.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []notify.Alert
	for _, m := range h.messages {
		for _, a := range m.Alerts {
			if a.Labels["object"] == object && a.Status == state {
				out = append(out, a)
			}
		}
	}
	return out
}

// gauge reads a gauge of the registry, -1 when it has no such series.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// TestServeAlertOnlyDriftIsNeverCorrected: an object of a drift: alert App that someone
// edits or deletes stays as they left it through intervals, a push, and a restart; it is
// reported once (notification, status, metric) with who did it, and the report closes
// when the object is fixed in the cluster or in git.
func TestServeAlertOnlyDriftIsNeverCorrected(t *testing.T) {
	hook := newDriftHook(t)
	r := newRemoteFleet(t, "alertonly")
	r.push(map[string]string{
		"fleet.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: alertonly\nspec:\n  healthTimeout: 20s\n  driftNotify:\n    receiverGroups: [ops]\n    notify: [{channel: hook, template: short}]\n",
		"alerting/notify.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: NotifyChannel\nmetadata: {name: hook}\nspec:\n  webhook: {url: \"" + hook.URL + "/drift\"}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: NotifyTemplate\nmetadata: {name: short}\nspec: {channel: hook, body: \"{{.Cluster}}: {{.Workload}} {{.Value}}\"}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: Receiver\nmetadata: {name: erin}\nspec: {email: erin@example.com}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: ReceiverGroup\nmetadata: {name: ops}\nspec: {receivers: [erin]}\n",
		"apps/web/app.yaml":             appYAML("web"),
		"apps/web/kustomization.yaml":   kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":              namespace("alertonly"),
		"apps/web/cm.yaml":              configMap("alertonly", "web", "v1"),
		"apps/audit/app.yaml":           "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: audit\nspec:\n  drift: alert\n  source:\n    kustomize:\n      path: apps/audit\n  targets:\n    clusters: [alpha]\n  dependsOn: [web]\n",
		"apps/audit/kustomization.yaml": kustomization("cm.yaml"),
		"apps/audit/cm.yaml":            configMap("alertonly", "audit", "v1"),
	})
	person := r.head()
	const interval = 300 * time.Millisecond
	newLoop := func(reg *prometheus.Registry) *reconciler.Loop {
		return r.loopWith(func(o *reconciler.LoopOptions) {
			o.Interval, o.WatchDrift, o.Metrics = interval, true, reconciler.NewMetrics(reg)
			o.Apply.Log = funcr.New(func(p, a string) { t.Log(a) }, funcr.Options{})
			o.Notify = func(ctx context.Context, repo *schema.Repo, d reconciler.DriftReport) {
				n := notify.New(repo, nil, notify.DefaultOptions())
				_ = n.Drift(ctx, []notify.Drift{{Cluster: d.Cluster, App: d.App, Object: d.Object, Change: d.Change, Action: d.Action, By: d.By, Revision: d.Revision, At: d.At, Resolved: d.Resolved, Since: d.Since}})
			}
		})
	}
	reg := prometheus.NewRegistry()
	stop := runLoop(t, newLoop(reg))
	eventually(t, 20*time.Second, "first apply", func() bool { return configMapValue(t, alpha, "alertonly", "audit") == "v1" })
	time.Sleep(time.Second) // the watches list and start

	const object = "ConfigMap/alertonly/audit"
	setValue := func(value string) { editConfigMap(t, alpha, "alertonly", "audit", value) }
	stays := func(what, want string) {
		t.Helper()
		time.Sleep(6 * interval)
		if v := configMapValue(t, alpha, "alertonly", "audit"); v != want {
			t.Fatalf("after %s the alert-only object holds %q, want %q left as it was", what, v, want)
		}
	}
	openReport := func(change, by string) {
		t.Helper()
		eventually(t, 10*time.Second, "a status commit reporting the drift", func() bool {
			st, _ := r.remoteStatus(alpha)
			for _, d := range st.Drift {
				if d.Object == object && d.Change == change && d.Action == "reported" && d.By == by {
					return true
				}
			}
			return false
		})
	}
	closedReport := func() {
		t.Helper()
		eventually(t, 10*time.Second, "a status commit without the drift", func() bool {
			st, _ := r.remoteStatus(alpha)
			return st.Phase == status.Synced && len(st.Drift) == 0
		})
	}

	// An edit by hand: reported once, by kubectl-edit, naming the person's revision.
	setValue("edited by hand")
	eventually(t, 10*time.Second, "the drift notification", func() bool { return len(hook.alerts(object, "firing")) == 1 })
	a := hook.alerts(object, "firing")[0]
	if a.Labels["action"] != "reported" || a.Annotations["by"] != "kubectl-edit" || a.Annotations["revision"] != person {
		t.Errorf("drift alert %+v, want action reported, by kubectl-edit, revision %s", a, person)
	}
	openReport("modified", "kubectl-edit")
	stays("several intervals", "edited by hand")
	if g := gauge(t, reg, "gitfleet_drift_open", map[string]string{"cluster": alpha, "app": "audit"}); g != 1 {
		t.Errorf("gitfleet_drift_open = %v, want 1", g)
	}

	// A push of another App, with the webhook's trigger.
	r.push(map[string]string{"apps/web/cm.yaml": configMap("alertonly", "web", "v2")})
	eventually(t, 10*time.Second, "the push applied", func() bool { return configMapValue(t, alpha, "alertonly", "web") == "v2" })
	stays("a push", "edited by hand")

	// A restart (or a new leader): the drift is still held, and not notified again.
	stop()
	reg = prometheus.NewRegistry()
	stop = runLoop(t, newLoop(reg))
	eventually(t, 10*time.Second, "the restarted loop's metrics", func() bool {
		return gauge(t, reg, "gitfleet_drift_open", map[string]string{"cluster": alpha, "app": "audit"}) == 1
	})
	stays("a restart", "edited by hand")
	if n := len(hook.alerts(object, "firing")); n != 1 {
		t.Errorf("%d firing notifications after a restart, want still 1", n)
	}
	openReport("modified", "kubectl-edit")

	// Fixed in the cluster: the report closes.
	setValue("v1")
	eventually(t, 10*time.Second, "the resolved notification", func() bool { return len(hook.alerts(object, "resolved")) == 1 })
	closedReport()
	if g := gauge(t, reg, "gitfleet_drift_open", map[string]string{"cluster": alpha, "app": "audit"}); g != 0 {
		t.Errorf("gitfleet_drift_open = %v after the fix, want 0", g)
	}

	// Deleted by hand: nobody can tell who; it stays deleted.
	if err := clientFor(t, alpha).Delete(t.Context(), newConfigMapNamed("alertonly", "audit")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the deletion's notification", func() bool { return len(hook.alerts(object, "firing")) == 2 })
	if a := hook.alerts(object, "firing")[1]; a.Labels["change"] != "deleted" || a.Annotations["by"] != "unknown" {
		t.Errorf("deletion alert %+v, want change deleted, by unknown", a)
	}
	openReport("deleted", "unknown")
	stays("a deletion and several intervals", "")

	// Fixed in git: the App's new content is applied, and the report closes.
	r.push(map[string]string{"apps/audit/cm.yaml": configMap("alertonly", "audit", "v2")})
	eventually(t, 10*time.Second, "the fix in git applied", func() bool { return configMapValue(t, alpha, "alertonly", "audit") == "v2" })
	eventually(t, 10*time.Second, "the resolved notification", func() bool { return len(hook.alerts(object, "resolved")) == 2 })
	closedReport()
}

func newConfigMapNamed(ns, name string) client.Object {
	cm := newConfigMap()
	cm.Namespace, cm.Name = ns, name
	return cm
}

// TestStatusFollowsTheRevisionTried: each pass's status describes the revision it tried,
// and clears when a later one succeeds; each failure is one error line naming cluster,
// app and revision, and the outcome names what happened.
func TestStatusFollowsTheRevisionTried(t *testing.T) {
	r := newRemoteFleet(t, "tried")
	files := map[string]string{
		"apps/keep/app.yaml":           appYAML("keep"),
		"apps/keep/kustomization.yaml": kustomization("ns.yaml"),
		"apps/keep/ns.yaml":            namespace("tried"),
		"apps/many/app.yaml":           appYAML("many", "keep"),
	}
	var res []string
	for i := range 12 {
		name := fmt.Sprintf("cm-%02d", i)
		res = append(res, name+".yaml")
		files["apps/many/"+name+".yaml"] = configMap("tried", name, "v1")
	}
	files["apps/many/kustomization.yaml"] = kustomization(res...)
	r.push(files)
	logs := &logLines{}
	loop := r.loopWith(func(o *reconciler.LoopOptions) { o.Apply.Log = logs.logger() })
	pass := func(want reconciler.Outcome) (rev string) {
		t.Helper()
		rev = r.head()
		outcome, _ := loop.ReconcileOnce(t.Context())
		if outcome != want {
			t.Fatalf("pass over %s: outcome %q, want %q", rev[:7], outcome, want)
		}
		return rev
	}
	requireStatus := func(what, revision, attempted string, phase status.Phase, errPart string) {
		t.Helper()
		st, _ := r.remoteStatus(alpha)
		if st.Revision != revision || st.Attempted != attempted || st.Phase != phase {
			t.Errorf("%s: status revision %.7s attempted %.7s phase %s, want %.7s, %.7s, %s", what, st.Revision, st.Attempted, st.Phase, revision, attempted, phase)
		}
		if errPart == "" && len(st.Errors) > 0 {
			t.Errorf("%s: status still has errors %q", what, st.Errors)
		}
		if errPart != "" && (len(st.Errors) == 0 || !strings.Contains(strings.Join(st.Errors, "\n"), errPart)) {
			t.Errorf("%s: status errors %q, want one about %q", what, st.Errors, errPart)
		}
	}
	requireErrorLine := func(what string, parts ...string) {
		t.Helper()
		if lines := logs.matching(append([]string{`"error"=`}, parts...)...); len(lines) != 1 {
			t.Errorf("%s: %d error lines with %q, want exactly 1:\n%s", what, len(lines), parts, strings.Join(logs.matching(`"error"=`), "\n"))
		}
		logs.reset()
	}
	r1 := pass(reconciler.OutcomeApplied)
	requireStatus("first apply", r1, r1, status.Synced, "")

	// The prune guard refuses to remove 12 of 13 objects: the status says so about this
	// revision, and keeps the revision applied.
	remove := map[string]string{"apps/many/app.yaml": "", "apps/many/kustomization.yaml": ""}
	for _, f := range res {
		remove["apps/many/"+f] = ""
	}
	r.push(remove)
	r2 := pass(reconciler.OutcomePruneRefused)
	requireStatus("prune refused", r1, r2, status.Failed, "refusing to prune")
	requireErrorLine("prune refused", `"msg"="prune refused"`, `"cluster"="alpha"`, `"revision"="`+r2[:7]+`"`)

	// Put back: the refusal is gone from the status.
	r.push(files)
	r3 := pass(reconciler.OutcomeApplied)
	requireStatus("after the prune was put back", r3, r3, status.Synced, "")

	// A refused downgrade, then a commit that puts the version back: the content is that
	// of the revision applied, and the status must still say the fix succeeded.
	r.push(map[string]string{"clusters/alpha.yaml": strings.Replace(clusterYAML(alpha), "1.37.2", "1.36.0", 1)})
	r4 := pass(reconciler.OutcomeInvalid)
	requireStatus("downgrade refused", r3, r4, status.Degraded, "lower than")
	requireErrorLine("downgrade refused", `"msg"="revision not applied"`, `"revision"="`+r4[:7]+`"`)
	r.push(map[string]string{"clusters/alpha.yaml": clusterYAML(alpha)})
	r5 := pass(reconciler.OutcomeApplied)
	requireStatus("after the downgrade was undone", r5, r5, status.Synced, "")

	// An alias bomb ("billion laughs", issue 14) in a fleet file: refused by its bound in
	// the pass, the last good revision stays applied, the status names the bad one.
	bomb := "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: bomb\n" + hostile.AliasBomb()
	r.push(map[string]string{"apps/bomb/app.yaml": bomb})
	rBomb := pass(reconciler.OutcomeInvalid)
	requireStatus("an alias bomb", r5, rBomb, status.Degraded, yamlbound.FlagMaxNodes)
	requireErrorLine("an alias bomb", `"msg"="revision not applied"`, `"revision"="`+rBomb[:7]+`"`)
	r.push(map[string]string{"apps/bomb/app.yaml": ""})
	r5 = pass(reconciler.OutcomeApplied)
	requireStatus("after the bomb was removed", r5, r5, status.Synced, "")

	// An App whose render fails: the others are applied, the outcome says partly.
	r.push(map[string]string{
		"apps/bad/app.yaml":           appYAML("bad"),
		"apps/bad/kustomization.yaml": kustomization("missing.yaml"),
	})
	r6 := pass(reconciler.OutcomePartlyApplied)
	requireStatus("a broken render", r6, r6, status.Degraded, "bad")
	requireErrorLine("a broken render on alpha", `"msg"="app not applied"`, `"cluster"="alpha"`, `"app"="bad"`, `"revision"="`+r6[:7]+`"`)
	r.push(map[string]string{"apps/bad/app.yaml": "", "apps/bad/kustomization.yaml": ""})
	r7 := pass(reconciler.OutcomeApplied)
	requireStatus("after the broken App was removed", r7, r7, status.Synced, "")
}
