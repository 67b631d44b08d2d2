package reconciler

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fluxcd/pkg/ssa"

	"gitfleet.dev/gitfleet/schema"
)

// bookOf is a rollout book with one App "web" whose clusters all have revision "r1" and
// whose target is "r2".
func bookOf(onFail schema.RolloutFailure, waves ...schema.WavePlan) *rolloutBook {
	b := newRolloutBook()
	r := &appRollout{app: "web", target: "r2", waves: waves, onFail: onFail, at: map[string]string{}, before: map[string]string{}}
	for _, w := range waves {
		for _, c := range w.Clusters {
			r.at[c] = "r1"
		}
	}
	b.apps["web"] = r
	return b
}

func healthy(clusters ...string) []ClusterResult {
	var out []ClusterResult
	for _, c := range clusters {
		out = append(out, ClusterResult{Cluster: c, Apps: []AppResult{{App: "web", Health: Healthy, Changes: []ssa.ChangeSetEntry{{Action: ssa.ConfiguredAction}}}}})
	}
	return out
}

// A wave is updated maxUnavailable clusters at a time, soaks, and only then does the next
// wave start.
func TestRolloutBookBatchesAndSoaks(t *testing.T) {
	now := time.Unix(1000, 0)
	b := bookOf(schema.RolloutHalt,
		schema.WavePlan{Name: "canary", Clusters: []string{"a"}, Batch: 1, Soak: time.Minute},
		schema.WavePlan{Name: "region", Clusters: []string{"b", "c"}, Batch: 1})
	if got := b.step(now); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first step applies %v, want the canary", got)
	}
	if rev, held := b.revisionFor("web", "b"); !held || rev != "r1" {
		t.Errorf("b during the canary gets %q (held %v), want r1", rev, held)
	}
	b.observe(healthy("a"), nil, now)
	if got := b.step(now); len(got) != 0 || !b.apps["web"].soakUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("after the canary: step %v, soak until %s; want nothing applied and a minute's soak", got, b.apps["web"].soakUntil)
	}
	if b.due(now.Add(30*time.Second)) || !b.due(now.Add(time.Minute)) {
		t.Errorf("due before the soak ended, or not after")
	}
	now = now.Add(time.Minute)
	if got := b.step(now); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("soak end: step %v, want the canary checked again", got)
	}
	b.observe(healthy("a"), nil, now)
	if got := b.step(now); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("region wave: step %v, want b alone (maxUnavailable 1)", got)
	}
	b.observe(healthy("b"), nil, now)
	if got := b.step(now); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("region wave: step %v, want c next", got)
	}
	b.observe(healthy("c"), nil, now)
	b.step(now)
	if s := b.statuses()[0]; s.Phase != "Complete" {
		t.Errorf("rollout %+v, want complete", s)
	}
}

// A failure in a wave halts the rollout: the later waves keep their revision and nothing
// moves at later steps; with rollback the failed wave is put back.
func TestRolloutBookHaltAndRollback(t *testing.T) {
	for _, onFail := range []schema.RolloutFailure{schema.RolloutHalt, schema.RolloutRollback} {
		now := time.Unix(1000, 0)
		b := bookOf(onFail,
			schema.WavePlan{Name: "canary", Clusters: []string{"a"}, Batch: 1},
			schema.WavePlan{Name: "rest", Clusters: []string{"b"}, Batch: 1})
		b.step(now)
		b.observe([]ClusterResult{{Cluster: "a", Apps: []AppResult{{App: "web", Health: Unknown, Err: errors.New("apply failed")}}}}, nil, now)
		if len(b.halts) != 1 || b.halts[0].Wave != "canary" || b.halts[0].Cluster != "a" || b.halts[0].Reason != "apply failed" {
			t.Fatalf("%s: halts %+v, want one at canary/a", onFail, b.halts)
		}
		for range 3 {
			got := b.step(now)
			b.observe(healthy(got...), nil, now)
		}
		r := b.apps["web"]
		if r.at["b"] != "r1" {
			t.Errorf("%s: b has %s after the halt, want r1", onFail, r.at["b"])
		}
		want := "r2" // halt: the canary keeps what it got.
		if onFail == schema.RolloutRollback {
			want = "r1"
		}
		if r.at["a"] != want || !(onFail == schema.RolloutRollback) == r.halted.RolledBack {
			t.Errorf("%s: canary at %s (rolled back %v), want %s", onFail, r.at["a"], r.halted.RolledBack, want)
		}
		if rev, held := b.revisionFor("web", "a"); onFail == schema.RolloutRollback && (!held || rev != "r1") {
			t.Errorf("rollback: the canary renders %q (held %v), want r1", rev, held)
		}
	}
}
