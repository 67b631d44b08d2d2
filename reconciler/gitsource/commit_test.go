package gitsource

import (
	"context"
	"errors"
	"testing"
)

// TestCommitFilesStartsABranch commits a repository's first files onto a branch that does
// not exist yet (gitfleet bootstrap of an empty repository), then again with the same
// files: nothing new is committed.
func TestCommitFilesStartsABranch(t *testing.T) {
	r := newFleetRepo(t)
	o := transports[0].opts(t, r)
	o.Branch = "fleet"
	s := mustNew(t, o)
	files := map[string][]byte{"fleet.yaml": []byte("kind: Fleet\n"), "apps/gitfleet/install.yaml": []byte("kind: Deployment\n")}
	commit, changed, err := s.CommitFiles(context.Background(), files, "Bootstrap gitfleet", DefaultCommitOptions())
	if err != nil || !changed {
		t.Fatalf("CommitFiles: %v, changed %v", err, changed)
	}
	if got := r.head(t, "fleet"); got != commit {
		t.Fatalf("remote branch fleet at %s, want the commit %s", got, commit)
	}
	if got := r.show(t, commit, "apps/gitfleet/install.yaml"); got != "kind: Deployment" {
		t.Errorf("apps/gitfleet/install.yaml = %q", got)
	}
	again, changed, err := s.CommitFiles(context.Background(), files, "Bootstrap gitfleet", DefaultCommitOptions())
	if err != nil || changed || again != commit {
		t.Fatalf("second CommitFiles of the same files: %s, changed %v, %v; want %s unchanged", again, changed, err, commit)
	}
}

// TestCommitFilesRacesAPersonsPush: a push rejected because a person pushed meanwhile is
// committed again on top of theirs, never forced over it.
func TestCommitFilesRacesAPersonsPush(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	mustFetch(t, s)
	var person string
	attempts := 0
	s.beforePush = func(attempt int) {
		attempts = attempt
		if attempt == 1 {
			person = r.commit(t, "a person's change", map[string]string{"apps/db/app.yaml": "kind: App\nname: db\n"})
		}
	}
	commit, changed, err := s.CommitFiles(context.Background(), map[string][]byte{"apps/gitfleet/install.yaml": []byte("v2\n")}, "Upgrade gitfleet", DefaultCommitOptions())
	if err != nil || !changed {
		t.Fatalf("CommitFiles: %v, changed %v", err, changed)
	}
	if attempts != 2 {
		t.Errorf("%d push attempts, want 2", attempts)
	}
	assertAncestor(t, r, person, commit)
	if got := r.show(t, commit, "apps/db/app.yaml"); got != "kind: App\nname: db" {
		t.Errorf("the person's file after the retried commit: %q", got)
	}
}

func TestCommitFilesRefusesBadPaths(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	for _, p := range []string{"/etc/passwd", "../x", ".git/config", "a//b", ""} {
		if _, _, err := s.CommitFiles(context.Background(), map[string][]byte{p: []byte("x")}, "bad", DefaultCommitOptions()); err == nil {
			t.Errorf("CommitFiles accepted path %q", p)
		}
	}
	if _, _, err := s.CommitFiles(context.Background(), map[string][]byte{"a": []byte("x")}, " ", DefaultCommitOptions()); err == nil || errors.Is(err, ErrBranchNotFound) {
		t.Errorf("CommitFiles with an empty message: %v, want refused", err)
	}
}
