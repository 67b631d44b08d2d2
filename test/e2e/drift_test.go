package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/gitsource"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// TestServeDrift: an edit of a managed object by someone else is noticed within seconds;
// with drift: correct it is undone, with drift: alert it stays; either way the webhook
// channel gets the documented payload and a status commit records it.
func TestServeDrift(t *testing.T) {
	var mu sync.Mutex
	var payloads []notify.Message
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m notify.Message
		if err := json.Unmarshal(body, &m); err == nil {
			mu.Lock()
			payloads = append(payloads, m)
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()

	r := newRemoteFleet(t, "drift")
	alertApp := "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: audit\nspec:\n  drift: alert\n  source:\n    kustomize:\n      path: apps/audit\n  targets:\n    clusters: [alpha]\n  dependsOn: [web]\n"
	r.push(map[string]string{
		"fleet.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: drift\nspec:\n  healthTimeout: 20s\n  driftNotify:\n    receiverGroups: [ops]\n    notify: [{channel: hook, template: short}]\n",
		"alerting/notify.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: NotifyChannel\nmetadata: {name: hook}\nspec:\n  webhook: {url: \"" + hook.URL + "/drift\"}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: NotifyTemplate\nmetadata: {name: short}\nspec: {channel: hook, body: \"{{.Cluster}}: {{.Workload}} {{.Value}}\"}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: Receiver\nmetadata: {name: erin}\nspec: {email: erin@example.com}\n---\n" +
			"apiVersion: gitfleet.dev/v1alpha1\nkind: ReceiverGroup\nmetadata: {name: ops}\nspec: {receivers: [erin]}\n",
		"apps/web/app.yaml":             appYAML("web"),
		"apps/web/kustomization.yaml":   kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":              namespace("drift"),
		"apps/web/cm.yaml":              configMap("drift", "web", "v1"),
		"apps/audit/app.yaml":           alertApp,
		"apps/audit/kustomization.yaml": kustomization("cm.yaml"),
		"apps/audit/cm.yaml":            configMap("drift", "audit", "v1"),
	})
	person := git(t, "", "--git-dir", r.bare, "rev-parse", "main") // drift names it, never a status commit
	loop := r.driftLoop()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, 20*time.Second, "first apply", func() bool { return configMapValue(t, alpha, "drift", "audit") == "v1" })
	time.Sleep(time.Second) // the watches list and start

	edit := func(name string) { editConfigMap(t, alpha, "drift", name, "edited by hand") }
	edit("web")
	took := eventually(t, 5*time.Second, "drift: correct to put the value back", func() bool {
		return configMapValue(t, alpha, "drift", "web") == "v1"
	})
	t.Logf("edit corrected %s after the change", took)

	edit("audit")
	eventually(t, 10*time.Second, "the webhook to receive both drifts", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(payloads) >= 2
	})
	if v := configMapValue(t, alpha, "drift", "audit"); v != "edited by hand" {
		t.Errorf("drift: alert changed the object back to %q", v)
	}
	mu.Lock()
	first := payloads[0]
	mu.Unlock()
	if len(first.Alerts) != 1 || first.Alerts[0].Labels["alertname"] != notify.AlertName || first.Alerts[0].Labels["cluster"] != alpha ||
		first.Alerts[0].Labels["object"] != "ConfigMap/drift/web" || first.Alerts[0].Labels["action"] != "corrected" || first.Status != "firing" ||
		first.Alerts[0].Annotations["revision"] != person {
		t.Errorf("webhook payload %+v", first)
	}

	var st status.Cluster
	eventually(t, 10*time.Second, "a status commit with both drifts", func() bool {
		st, _ = r.remoteStatus(alpha)
		return len(st.Drift) == 2
	})
	// Open reports first, then the corrections; each says who made the change.
	want := []status.Drift{
		{App: "audit", Object: "ConfigMap/drift/audit", Change: "modified", Action: "reported", By: "kubectl-edit"},
		{App: "web", Object: "ConfigMap/drift/web", Change: "modified", Action: "corrected", By: "kubectl-edit"},
	}
	for i, d := range want {
		if st.Drift[i] != d {
			t.Errorf("status drift[%d] = %+v, want %+v", i, st.Drift[i], d)
		}
	}

	// gitfleet's own prune is not drift: the pruned object stays deleted.
	r.push(map[string]string{"apps/web/kustomization.yaml": kustomization("ns.yaml"), "apps/web/cm.yaml": ""})
	loop.Trigger()
	eventually(t, 10*time.Second, "web's ConfigMap to be pruned", func() bool { return configMapValue(t, alpha, "drift", "web") == "" })
	time.Sleep(time.Second)
	if v := configMapValue(t, alpha, "drift", "web"); v != "" {
		t.Errorf("the pruned ConfigMap came back with %q: the drift watch took gitfleet's prune for drift", v)
	}
}

// driftLoop is r.loop with drift watches and notifications through the fleet's channels.
func (r *remoteFleet) driftLoop() *reconciler.Loop {
	_, src := r.loop(time.Hour)
	apply := reconciler.DefaultApplyOptions()
	apply.HealthTimeout = 10 * time.Second
	return reconciler.NewLoop(reconciler.LoopOptions{
		Source: src, Status: gitsource.StatusWriter{Source: src, Options: gitsource.DefaultStatusOptions()}, Connector: r.conn, Apply: apply, Interval: time.Hour,
		WatchDrift: true,
		Notify: func(ctx context.Context, repo *schema.Repo, d reconciler.DriftReport) {
			n := notify.New(repo, nil, notify.DefaultOptions())
			_ = n.Drift(ctx, []notify.Drift{{Cluster: d.Cluster, App: d.App, Object: d.Object, Change: d.Change, Action: d.Action, By: d.By, Revision: d.Revision, At: d.At, Resolved: d.Resolved, Since: d.Since}})
		},
	})
}
