package schema

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func rolloutCluster(name, region, env string) string {
	return fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: %s\n  labels: {region: %s, env: %s}\nspec:\n  version: \"1.18.3\"\n", name, region, env)
}

func rolloutRepo(fleetSpec string, appSpec string) map[string]string {
	return map[string]string{
		"fleet.yaml":                "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nspec:\n" + fleetSpec,
		"clusters/canary.yaml":      rolloutCluster("canary", "guangzhou", "canary"),
		"clusters/gz-1.yaml":        rolloutCluster("gz-1", "guangzhou", "prod"),
		"clusters/gz-2.yaml":        rolloutCluster("gz-2", "guangzhou", "prod"),
		"clusters/sh-1.yaml":        rolloutCluster("sh-1", "shanghai", "prod"),
		"apps/a.yaml":               "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: a}\nspec:\n  source: {kustomize: {path: apps/a}}\n  targets: {selector: {}}\n" + appSpec,
		"apps/a/kustomization.yaml": kustomize,
	}
}

const threeWaves = `  healthTimeout: 2m
  rollout:
    waves:
    - name: canary
      clusters: [canary]
      soak: 30s
    - name: guangzhou
      selector: {matchLabels: {region: guangzhou, env: prod}}
      maxUnavailable: "50%"
      soak: 1m
    - name: rest
`

// The Fleet's waves schedule every App: the last wave takes the rest, and maxUnavailable
// resolves against the wave's own clusters.
func TestWavesFromTheFleet(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(rolloutRepo(threeWaves, "")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := repo.Waves(repo.App("a"))
	want := []WavePlan{
		{Name: "canary", Clusters: []string{"canary"}, Batch: 1, Soak: 30 * time.Second},
		{Name: "guangzhou", Clusters: []string{"gz-1", "gz-2"}, Batch: 1, Soak: time.Minute},
		{Name: "rest", Clusters: []string{"sh-1"}, Batch: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("waves (-want +got):\n%s", d)
	}
	if w := repo.Warnings(); len(w) != 0 {
		t.Errorf("warnings %v, want none", w)
	}
}

// Clusters no wave selects go to an implicit last wave; an App's own strategy replaces
// the Fleet's, and allAtOnce turns waves off.
func TestWavesImplicitLastAndAppOverride(t *testing.T) {
	fleet := "  rollout:\n    waves:\n    - name: canary\n      clusters: [canary]\n"
	repo, err := Load(t.Context(), repoFS(rolloutRepo(fleet, "")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := repo.Waves(repo.App("a"))
	if len(got) != 2 || !got[1].Implicit || got[1].Name != ImplicitWave || !cmp.Equal(got[1].Clusters, []string{"gz-1", "gz-2", "sh-1"}) || got[1].Batch != 3 {
		t.Errorf("waves %+v, want canary then an implicit wave of gz-1, gz-2, sh-1", got)
	}
	repo, err = Load(t.Context(), repoFS(rolloutRepo(fleet, "  rollout: {allAtOnce: true}\n")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if w := repo.Waves(repo.App("a")); w != nil {
		t.Errorf("allAtOnce App has waves %+v", w)
	}
	repo, err = Load(t.Context(), repoFS(rolloutRepo(fleet, "  rollout:\n    waves:\n    - name: shanghai\n      selector: {matchLabels: {region: shanghai}}\n      maxUnavailable: \"2\"\n")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if w := repo.Waves(repo.App("a")); len(w) != 2 || w[0].Name != "shanghai" || !cmp.Equal(w[0].Clusters, []string{"sh-1"}) || w[0].Batch != 1 {
		t.Errorf("App's own waves %+v, want shanghai (sh-1) first", w)
	}
}

// Each mistake in a strategy is an error at its file, line and field.
func TestRolloutErrors(t *testing.T) {
	cases := []struct {
		name, fleet, field, message string
		line                        int
	}{
		{"overlap", "  rollout:\n    waves:\n    - name: one\n      clusters: [gz-1]\n    - name: two\n      selector: {matchLabels: {region: guangzhou}}\n",
			"spec.rollout.waves[1]", `waves overlap: cluster "gz-1" is in wave "one" (waves[0]) and in wave "two"`, 9},
		{"rest not last", "  rollout:\n    waves:\n    - name: rest\n    - name: two\n      clusters: [gz-1]\n",
			"spec.rollout.waves[0]", "so it must be the last wave", 7},
		{"unknown cluster", "  rollout:\n    waves:\n    - name: one\n      clusters: [gz-9]\n",
			"spec.rollout.waves[0].clusters[0]", `no Cluster named "gz-9"`, 8},
		{"max unavailable", "  rollout:\n    waves:\n    - name: one\n      clusters: [gz-1]\n      maxUnavailable: half\n",
			"spec.rollout.waves[0].maxUnavailable", `"half" is not a count or a percentage`, 9},
		{"on failure", "  rollout:\n    onFailure: retry\n    waves:\n    - name: one\n      clusters: [gz-1]\n",
			"spec.rollout.onFailure", `unknown onFailure "retry"`, 6},
		{"duplicate name", "  rollout:\n    waves:\n    - name: one\n      clusters: [gz-1]\n    - name: one\n      clusters: [gz-2]\n",
			"spec.rollout.waves[1].name", `wave "one" is already declared as waves[0]`, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(t.Context(), repoFS(rolloutRepo(c.fleet, "")))
			list := AsErrorList(err)
			for _, e := range list {
				if e.Field == c.field && strings.Contains(e.Message, c.message) && e.Line == c.line && e.File == "fleet.yaml" {
					return
				}
			}
			t.Errorf("errors %v; want fleet.yaml:%d %s: %s", err, c.line, c.field, c.message)
		})
	}
}

// A wave selecting no cluster, and a soak longer than the health timeout, are warnings
// at their lines.
func TestRolloutWarnings(t *testing.T) {
	fleet := "  healthTimeout: 1m\n  rollout:\n    waves:\n    - name: eu\n      selector: {matchLabels: {region: frankfurt}}\n    - name: canary\n      clusters: [canary]\n      soak: 5m\n"
	repo, err := Load(t.Context(), repoFS(rolloutRepo(fleet, "")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	w := repo.Warnings()
	var got []string
	for _, e := range w {
		got = append(got, fmt.Sprintf("%d %s", e.Line, e.Field))
	}
	want := []string{"8 spec.rollout.waves[0]", "12 spec.rollout.waves[1].soak"}
	if !cmp.Equal(got, want) {
		t.Fatalf("warnings %v, want %v", w, want)
	}
	if !strings.Contains(w[0].Message, `wave "eu" selects no cluster`) || !strings.Contains(w[1].Message, "longer than the Fleet's healthTimeout (1m0s)") {
		t.Errorf("warning messages: %v", w)
	}
}
