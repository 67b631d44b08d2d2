package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plan of a change to an App that rolls out in waves lists its waves: the clusters of
// each, those the change touches, the batch size; an App the change does not touch is
// not listed.
func TestPlanShowsWaveSchedule(t *testing.T) {
	repo := exampleRepo(t)
	path := filepath.Join(repo.Dir, "apps/guestbook/base/deployment.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Write(map[string]string{"apps/guestbook/base/deployment.yaml": strings.Replace(string(data), "nginx:1.27", "nginx:1.28", 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("guestbook on nginx 1.28"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := gitfleet(t, "plan", "--repo", repo.Dir, "--base", "HEAD~1", "-o", "text")
	want := "app guestbook rolls out in 2 wave(s):\n  1. canary: gz-dev (1 changed; 1 at a time)\n  2. prod: bj-prod (1 changed; 1 at a time)\n"
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("plan: exit %d; want the wave schedule\n%s\nin:\n%s%s", code, want, out, errOut)
	}
	if strings.Contains(out, "app platform-base rolls out") {
		t.Errorf("plan lists a schedule for an App without waves:\n%s", out)
	}
	code, out, _ = gitfleet(t, "plan", "--repo", repo.Dir, "--base", "HEAD~1", "-o", "markdown")
	if code != 0 || !strings.Contains(out, "App **guestbook** rolls out in 2 wave(s):\n\n1. canary: gz-dev (1 changed; 1 at a time)") {
		t.Errorf("markdown plan without the wave schedule:\n%s", out)
	}
}

// status prints where each rollout stands, wave by wave, from status/rollouts/.
func TestStatusShowsRolloutProgress(t *testing.T) {
	repo := exampleRepo(t)
	if err := repo.Write(map[string]string{
		"status/clusters/gz-dev.yaml": "cluster: gz-dev\nrevision: 1111111aaaa\nphase: Degraded\nhealth: Progressing\nobjects: 3\n",
		"status/rollouts/guestbook.yaml": `app: guestbook
revision: 2222222bbbb
phase: Halted
wave: 0
waves:
- name: canary
  clusters: [{cluster: gz-dev, revision: 2222222bbbb}]
- name: prod
  clusters: [{cluster: bj-prod, revision: 1111111aaaa}]
halted: {wave: canary, cluster: gz-dev, reason: "Progressing: not healthy within the health timeout", at: "2026-12-07T10:00:00Z"}
`,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("status"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := gitfleet(t, "status", repo.Dir)
	for _, want := range []string{
		"rollout of guestbook 2222222 halted at wave canary (gz-dev: Progressing: not healthy within the health timeout)",
		"  wave 1 canary: 1/1 updated [gz-dev] (halted here)\n",
		"  wave 2 prod: 0/1 updated [bj-prod]\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status: exit %d, want %q in:\n%s%s", code, want, out, errOut)
		}
	}
	code, out, _ = gitfleet(t, "status", repo.Dir, "-o", "json")
	if code != 0 || !strings.Contains(out, `"rollouts": [`) || !strings.Contains(out, `"phase": "Halted"`) {
		t.Errorf("status -o json without the rollout:\n%s", out)
	}
}
