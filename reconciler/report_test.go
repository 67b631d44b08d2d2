package reconciler

import (
	"errors"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/reconciler/status"
)

func TestClusterStatus(t *testing.T) {
	applied := ClusterResult{Cluster: "c", Apps: []AppResult{
		{App: "web", Health: Healthy, Changes: []ssa.ChangeSetEntry{{Action: ssa.CreatedAction}, {Action: ssa.UnchangedAction}, {Action: ssa.DeletedAction}}},
	}}
	got := ClusterStatus(applied, "rev2", nil)
	want := status.Cluster{Cluster: "c", Revision: "rev2", Attempted: "rev2", Phase: status.Synced, Health: "Healthy", Objects: 2, Apps: []status.App{{Name: "web", Objects: 2, Health: "Healthy"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("synced (-want +got):\n%s", diff)
	}

	down := ClusterResult{Cluster: "c", Err: &UnreachableError{Cluster: "c", Err: errors.New("connection refused")}}
	got = ClusterStatus(down, "rev3", &want)
	if got.Phase != status.Unreachable || got.Revision != "rev2" || got.Attempted != "rev3" || got.Objects != 2 || len(got.Errors) != 1 {
		t.Errorf("unreachable status %+v: want phase Unreachable, the previous revision rev2 and its objects, the error, and rev3 as the revision tried", got)
	}

	broken := applied
	broken.Apps = append([]AppResult{}, applied.Apps...)
	broken.Apps = append(broken.Apps, AppResult{App: "bad", Health: Unknown, Err: errors.New("kustomize build failed")})
	if got := ClusterStatus(broken, "rev4", nil); got.Phase != status.Degraded || got.Revision != "rev4" {
		t.Errorf("an App that failed to render: phase %s revision %s, want Degraded at rev4", got.Phase, got.Revision)
	}
}

func TestRetryBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 4: 40 * time.Second, 9: 5 * time.Minute, 50: 5 * time.Minute} {
		if got := retryBackoff(n, 5*time.Minute); got != want {
			t.Errorf("retryBackoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestMergeStatuses(t *testing.T) {
	all := []status.Cluster{{Cluster: "a", Phase: status.Synced}, {Cluster: "b", Phase: status.Unreachable}}
	got := mergeStatuses(all, []status.Cluster{{Cluster: "b", Phase: status.Synced}})
	want := []status.Cluster{{Cluster: "a", Phase: status.Synced}, {Cluster: "b", Phase: status.Synced}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
	if all[1].Phase != status.Unreachable {
		t.Error("mergeStatuses changed its input")
	}
}

func TestNextWake(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := NewLoop(LoopOptions{Interval: 5 * time.Minute})
	if wait, why := l.nextWake(now); wait != 5*time.Minute || why != TriggerInterval {
		t.Errorf("before any pass: %s %s, want the interval", wait, why)
	}
	l.lastFull = now.Add(-time.Minute)
	l.backoff["down"] = clusterBackoff{failures: 1, next: now.Add(5 * time.Second)}
	// A failed cluster is retried at its back-off, not at the next interval.
	if wait, why := l.nextWake(now); wait != 5*time.Second || why != TriggerRetry {
		t.Errorf("with a retry due in 5s: %s %s, want 5s retry", wait, why)
	}
	l.backoff["down"] = clusterBackoff{failures: 9, next: now.Add(10 * time.Minute)}
	if wait, why := l.nextWake(now); wait != 4*time.Minute || why != TriggerInterval {
		t.Errorf("with a retry after the interval: %s %s, want the 4m left of the interval", wait, why)
	}
}
