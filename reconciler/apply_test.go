package reconciler

import (
	"errors"
	"testing"

	"github.com/fluxcd/pkg/ssa"
	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/reconciler/inventory"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

func app(name string, deps ...string) render.AppResult {
	return render.AppResult{App: &schema.App{Object: schema.Object{Metadata: schema.ObjectMeta{Name: name}}, Spec: schema.AppSpec{DependsOn: deps}}}
}

func TestDependencyOrder(t *testing.T) {
	apps := []render.AppResult{app("a", "c"), app("b"), app("c", "d"), app("d"), app("e", "a", "b")}
	var got []string
	for _, a := range dependencyOrder(apps) {
		got = append(got, a.App.Metadata.Name)
	}
	if diff := cmp.Diff([]string{"d", "c", "a", "b", "e"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestSelectClusters(t *testing.T) {
	repo := &schema.Repo{Clusters: []*schema.Cluster{{Object: schema.Object{Metadata: schema.ObjectMeta{Name: "a"}}}, {Object: schema.Object{Metadata: schema.ObjectMeta{Name: "b"}}}}}
	got, err := selectClusters(repo, []string{"b", "b"})
	if err != nil || len(got) != 1 || got[0].Metadata.Name != "b" {
		t.Errorf("selectClusters(b, b) = %v, %v", got, err)
	}
	_, err = selectClusters(repo, []string{"c"})
	if err == nil || err.Error() != "no cluster named c in the repository (known: a, b)" {
		t.Errorf("unknown cluster error = %v", err)
	}
}

func TestCountsAndHealth(t *testing.T) {
	r := ClusterResult{
		Apps: []AppResult{
			{Changes: []ssa.ChangeSetEntry{{Action: ssa.CreatedAction}, {Action: ssa.UnchangedAction}, {Action: ssa.DeletedAction}}, Health: Healthy},
			{Changes: []ssa.ChangeSetEntry{{Action: ssa.ConfiguredAction}}, Health: Progressing},
		},
		Pruned: []ssa.ChangeSetEntry{{Action: ssa.DeletedAction}, {Action: ssa.SkippedAction}},
	}
	if got, want := r.Counts(), (Counts{Created: 1, Configured: 1, Unchanged: 1, Pruned: 2, Skipped: 1}); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
	if h := r.Health(); h != Progressing {
		t.Errorf("Health = %s, want Progressing", h)
	}
	r.Apps[0].Err = errors.New("boom")
	r.Apps[1].Health = Failed
	if h, n := r.Health(), len(r.Errors()); h != Failed || n != 1 {
		t.Errorf("Health = %s, errors %d; want Failed and 1", h, n)
	}
	r.Err = &UnreachableError{Cluster: "x", Err: errors.New("refused")}
	if h := r.Health(); h != Unknown {
		t.Errorf("Health of an unreachable cluster = %s, want Unknown", h)
	}
}

func TestPruneGuard(t *testing.T) {
	inv := func(n int) *inventory.Inventory {
		i := inventory.New()
		for k := range n {
			i.Entries = append(i.Entries, inventory.Entry{ID: string(rune('a'+k)) + "_x__ConfigMap", Version: "v1"})
		}
		return i
	}
	cases := []struct {
		name           string
		managed, prune int
		allow          bool
		trips          bool
	}{
		{"few objects never trip", 12, 9, false, false},
		{"half is allowed", 20, 10, false, false},
		{"more than half trips", 20, 11, false, true},
		{"the override allows it", 20, 20, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &clusterApplier{cluster: "c", opts: DefaultApplyOptions()}
			a.opts.PruneGuard.AllowMassPrune = tc.allow
			old := map[string]*inventory.Inventory{"app": inv(tc.managed)}
			orphans := map[string]*inventory.Inventory{"gone": inv(tc.prune)}
			err := a.checkPruneGuard(old, nil, orphans, true)
			var g *PruneGuardError
			if tripped := errors.As(err, &g); tripped != tc.trips {
				t.Errorf("guard tripped = %v (%v), want %v", tripped, err, tc.trips)
			}
		})
	}
}
