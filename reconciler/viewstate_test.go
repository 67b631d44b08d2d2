package reconciler

import (
	"errors"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/reconciler/view"
)

// TestViewHistory: a revision's record keeps what applying it did when a later interval
// pass changes nothing, takes a retry's new result, and the loop's channel wakes the view.
func TestViewHistory(t *testing.T) {
	l := NewLoop(LoopOptions{})
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	created := []AppResult{{App: "web", Changes: []ssa.ChangeSetEntry{{Action: ssa.CreatedAction}, {Action: ssa.CreatedAction}}}}
	unchanged := []AppResult{{App: "web", Changes: []ssa.ChangeSetEntry{{Action: ssa.UnchangedAction}, {Action: ssa.UnchangedAction}}}}
	synced := []status.Cluster{{Cluster: "a", Phase: status.Synced}, {Cluster: "b", Phase: status.Unreachable}}

	wake := l.Changed()
	l.seen.pass(at, "r1", OutcomePartlyApplied, []ClusterResult{{Cluster: "a", Apps: created}, {Cluster: "b", Err: errors.New("down")}}, synced)
	l.changed()
	select {
	case <-wake:
	default:
		t.Fatal("Changed's channel was not closed by a change")
	}
	l.seen.pass(at.Add(time.Minute), "r1", OutcomeApplied, []ClusterResult{{Cluster: "a", Apps: unchanged}}, synced)
	l.seen.pass(at.Add(2*time.Minute), "r1", OutcomeApplied, []ClusterResult{{Cluster: "b", Apps: created}},
		[]status.Cluster{{Cluster: "a", Phase: status.Synced}, {Cluster: "b", Phase: status.Synced}})
	l.seen.invalid(at.Add(3*time.Minute), "r2", "revision r2 was not applied: bad")

	want := []view.RevisionRecord{
		{Revision: "r2", At: at.Add(3 * time.Minute), Outcome: string(OutcomeInvalid), Error: "revision r2 was not applied: bad"},
		{Revision: "r1", At: at, Outcome: string(OutcomeApplied), Clusters: []view.RevisionCluster{
			{Cluster: "a", Created: 2, Phase: "Synced"},
			{Cluster: "b", Created: 2, Phase: "Synced"},
		}},
	}
	if diff := cmp.Diff(want, l.Snapshot().Revisions); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
	for i := range maxViewRevisions + 5 {
		l.seen.invalid(at, string(rune('A'+i)), "x")
	}
	if n := len(l.Snapshot().Revisions); n != maxViewRevisions {
		t.Errorf("%d revisions kept, want the bound %d", n, maxViewRevisions)
	}
}
