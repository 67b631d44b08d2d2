package reconciler

import (
	"testing"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
)

func TestDriftLedger(t *testing.T) {
	l := newDriftLedger()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cm := status.Drift{App: "web", Object: "ConfigMap/shop/settings", Change: "modified", Action: DriftReported, By: "kubectl-edit"}
	svc := status.Drift{App: "api", Object: "Service/shop/api", Change: "deleted", Action: DriftReported, By: "unknown"}

	// A restart: the status file's open reports are known, not new.
	l.seed("a", []status.Drift{cm, {App: "web", Object: "Deployment/shop/web", Change: "modified", Action: DriftCorrected}})
	if _, isNew := l.report("a", cm, t0); isNew {
		t.Error("a report the status file recorded was new again after a restart")
	}
	// The pass held cm and svc in apps web and api: svc is new.
	changes := l.applied("a", map[string]bool{"web": true, "api": true}, []status.Drift{cm, svc}, t0)
	if len(changes) != 1 || changes[0].Object != svc.Object || changes[0].Resolved {
		t.Fatalf("changes %+v, want the new report of %s", changes, svc.Object)
	}
	// A later pass that did not reach api (its render failed) and found web matching:
	// cm is resolved, svc stays open.
	changes = l.applied("a", map[string]bool{"web": true}, nil, t0.Add(time.Minute))
	if len(changes) != 1 || changes[0].Object != cm.Object || !changes[0].Resolved {
		t.Fatalf("changes %+v, want %s resolved", changes, cm.Object)
	}
	if got := l.list("a"); len(got) != 1 || got[0].Object != svc.Object {
		t.Errorf("open drift %+v, want only %s", got, svc.Object)
	}
	if c, ok := l.resolve("a", svc.Object); !ok || !c.Resolved || !c.Since.Equal(t0) {
		t.Errorf("resolve = %+v, %v; want resolved, first seen at %s", c, ok, t0)
	}
	if _, ok := l.resolve("a", svc.Object); ok {
		t.Error("a report resolved twice")
	}
	// Corrections are history, kept until the next revision, bounded.
	for range maxDriftInStatus + 5 {
		l.correct("a", status.Drift{App: "web", Object: "Deployment/shop/web", Change: "modified", Action: DriftCorrected})
	}
	if n := len(l.list("a")); n != maxDriftInStatus {
		t.Errorf("%d drift entries listed, want the bound %d", n, maxDriftInStatus)
	}
	l.newRevision()
	if n := len(l.list("a")); n != 0 {
		t.Errorf("%d entries after a new revision, want none", n)
	}
}
