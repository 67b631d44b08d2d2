package gitsource

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testStatusOptions() StatusOptions {
	o := DefaultStatusOptions()
	o.Backoff = 10 * time.Millisecond // the tests race on purpose
	return o
}

// assertLinear fails unless every commit reachable from rev has at most one parent.
func assertLinear(t *testing.T, r *fleetRepo, rev string) {
	t.Helper()
	if merges := runGit(t, r.bare, "rev-list", "--min-parents=2", rev); merges != "" {
		t.Fatalf("merge commits in history: %s", merges)
	}
}

func assertAncestor(t *testing.T, r *fleetRepo, ancestor, rev string) {
	t.Helper()
	base := runGit(t, r.bare, "merge-base", ancestor, rev)
	if base != ancestor {
		t.Fatalf("%s is not in the history of %s: history was rewritten", ancestor, rev)
	}
}

func TestWriteStatusCommitsAndPushes(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r := newFleetRepo(t)
			before := r.head(t, "main")
			s := mustNew(t, tr.opts(t, r))
			mustFetch(t, s)

			commit, changed, err := s.WriteStatus(context.Background(), map[string][]byte{
				"status/clusters/a.yaml":    []byte("phase: Applied\n"),
				"status/businesses/ml.yaml": []byte("cpu: 4/10\n"),
				"status/README.md":          nil, // deleted
			}, "status: cluster a applied", testStatusOptions())
			if err != nil || !changed {
				t.Fatalf("WriteStatus: %s, changed %v, %v", commit, changed, err)
			}
			if got := r.head(t, "main"); got != commit {
				t.Fatalf("remote head %s, want the status commit %s", got, commit)
			}
			if parents := runGit(t, r.bare, "rev-list", "--parents", "-n1", commit); parents != commit+" "+before {
				t.Fatalf("parents of the status commit: %q, want exactly %s", parents, before)
			}
			if got := runGit(t, r.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", commit); got != "gitfleet <gitfleet@localhost>|gitfleet <gitfleet@localhost>|status: cluster a applied" {
				t.Errorf("author, committer, subject: %q", got)
			}
			changedFiles := strings.Fields(runGit(t, r.bare, "diff", "--name-only", before, commit))
			if diff := cmp.Diff([]string{"status/README.md", "status/businesses/ml.yaml", "status/clusters/a.yaml"}, changedFiles); diff != "" {
				t.Errorf("files changed by the status commit (-want +got):\n%s", diff)
			}
			if got := r.show(t, commit, "status/clusters/a.yaml"); got != "phase: Applied" {
				t.Errorf("status/clusters/a.yaml = %q", got)
			}
			// The source sees its own status commit without another fetch.
			files, err := s.Snapshot(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if data, err := fs.ReadFile(files, "status/businesses/ml.yaml"); err != nil || string(data) != "cpu: 4/10\n" {
				t.Errorf("snapshot after WriteStatus: status/businesses/ml.yaml = %q, %v", data, err)
			}
			if got := mustFetch(t, s); got != commit {
				t.Fatalf("Fetch after WriteStatus: %s, want %s", got, commit)
			}
		})
	}
}

func TestWriteStatusUnchangedMakesNoCommit(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	files := map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}
	first, changed, err := s.WriteStatus(context.Background(), files, "status: a applied", testStatusOptions())
	if err != nil || !changed {
		t.Fatalf("first WriteStatus: %v, %v", changed, err)
	}
	again, changed, err := s.WriteStatus(context.Background(), files, "status: a applied", testStatusOptions())
	if err != nil {
		t.Fatal(err)
	}
	if changed || again != first {
		t.Fatalf("same status again: commit %s changed %v, want %s unchanged", again, changed, first)
	}
	// Deleting a file that is not there changes nothing either.
	_, changed, err = s.WriteStatus(context.Background(), map[string][]byte{"status/clusters/gone.yaml": nil}, "status: gone", testStatusOptions())
	if err != nil || changed {
		t.Fatalf("deleting a missing file: changed %v, %v", changed, err)
	}
	if got := r.head(t, "main"); got != first {
		t.Fatalf("remote head %s, want %s: no empty commits", got, first)
	}
	if n := runGit(t, r.bare, "rev-list", "--count", "main"); n != "2" {
		t.Fatalf("%s commits, want 2", n)
	}
}

// TestWriteStatusRacesAPersonsPush stages the race deterministically: a person pushes
// between gitfleet's fetch and gitfleet's push. The push is rejected, gitfleet fetches and
// commits again on top, and both commits end up in a linear history.
func TestWriteStatusRacesAPersonsPush(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r := newFleetRepo(t)
			before := r.head(t, "main")
			s := mustNew(t, tr.opts(t, r))
			mustFetch(t, s)

			var person string
			attempts := 0
			s.beforePush = func(attempt int) {
				attempts = attempt
				if attempt == 1 {
					person = r.commit(t, "web: 3 replicas; note on a", map[string]string{
						"apps/web/app.yaml":      "kind: App\nname: web\nreplicas: 3\n",
						"status/clusters/a.yaml": "phase: edited by hand\n",
						"status/notes.md":        "a person's note\n",
					})
				}
			}
			commit, changed, err := s.WriteStatus(context.Background(), map[string][]byte{
				"status/clusters/a.yaml": []byte("phase: Applied\n"),
			}, "status: a applied", testStatusOptions())
			if err != nil || !changed {
				t.Fatalf("WriteStatus: %v, %v", changed, err)
			}
			if attempts != 2 {
				t.Fatalf("%d push attempts, want 2 (one rejected, one on top)", attempts)
			}
			if got := r.head(t, "main"); got != commit {
				t.Fatalf("remote head %s, want the status commit %s", got, commit)
			}
			if parents := runGit(t, r.bare, "rev-list", "--parents", "-n1", commit); parents != commit+" "+person {
				t.Fatalf("parents of the status commit: %q, want exactly the person's commit %s", parents, person)
			}
			assertAncestor(t, r, before, commit)
			assertAncestor(t, r, person, commit)
			assertLinear(t, r, commit)
			for path, want := range map[string]string{
				"apps/web/app.yaml":      "kind: App\nname: web\nreplicas: 3", // theirs, kept
				"status/notes.md":        "a person's note",                   // theirs, gitfleet did not write it
				"status/clusters/a.yaml": "phase: Applied",                    // gitfleet's file, gitfleet wins
			} {
				if got := r.show(t, commit, path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			if got := strings.Fields(runGit(t, r.bare, "diff", "--name-only", person, commit)); !cmp.Equal(got, []string{"status/clusters/a.yaml"}) {
				t.Errorf("the retried status commit changed %v, want only status/clusters/a.yaml", got)
			}
		})
	}
}

// A status push that has begun runs to its end when its context is cancelled (serve
// stopping): a push killed half-way left the remote's branch locked (main.lock) for the
// next writer, a person's push included.
func TestStatusPushOutlivesCancel(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r := newFleetRepo(t)
			s := mustNew(t, tr.opts(t, r))
			mustFetch(t, s)
			ctx, cancel := context.WithCancel(t.Context())
			s.beforePush = func(int) { cancel() }
			commit, changed, err := s.WriteStatus(ctx, map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status: a applied", testStatusOptions())
			if err != nil || !changed {
				t.Fatalf("WriteStatus cancelled during the push: changed %v, %v; want the push completed", changed, err)
			}
			if got := r.head(t, "main"); got != commit {
				t.Fatalf("remote head %s, want the status commit %s", got, commit)
			}
			r.commit(t, "a person's next commit", map[string]string{"docs/a.md": "a"})
		})
	}
}

// A person's push that already wrote the same status leaves nothing to commit.
func TestWriteStatusRaceEndsUnchanged(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	var person string
	s.beforePush = func(attempt int) {
		if attempt == 1 {
			person = r.commit(t, "same status by hand", map[string]string{"status/clusters/a.yaml": "phase: Applied\n"})
		}
	}
	commit, changed, err := s.WriteStatus(context.Background(), map[string][]byte{
		"status/clusters/a.yaml": []byte("phase: Applied\n"),
	}, "status: a applied", testStatusOptions())
	if err != nil || changed || commit != person {
		t.Fatalf("WriteStatus: %s, changed %v, %v; want %s unchanged", commit, changed, err, person)
	}
}

func TestWriteStatusGivesUpAfterMaxAttempts(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	var persons []string
	s.beforePush = func(attempt int) {
		persons = append(persons, r.commit(t, "busy person", map[string]string{"clusters/a.yaml": strings.Repeat("x", attempt) + "\n"}))
	}
	o := testStatusOptions()
	o.MaxAttempts = 3
	_, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status", o)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Attempts != 3 || changed {
		t.Fatalf("WriteStatus against a branch that keeps moving: changed %v, %v; want a ConflictError after 3 attempts", changed, err)
	}
	if got := r.head(t, "main"); got != persons[len(persons)-1] {
		t.Fatalf("remote head %s, want the person's last commit %s", got, persons[len(persons)-1])
	}
	assertLinear(t, r, "main")
}

func TestWriteStatusToSeparateBranch(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r := newFleetRepo(t)
			fleetHead := r.head(t, "main")
			s := mustNew(t, tr.opts(t, r))
			o := testStatusOptions()
			o.Branch = "gitfleet-status"
			o.Author = Signature{Name: "fleet bot", Email: "bot@example.com"}

			first, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/clusters/a.yaml": []byte("phase: Applied\n")}, "status: a", o)
			if err != nil || !changed {
				t.Fatalf("first WriteStatus: %v, %v", changed, err)
			}
			second, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/clusters/b.yaml": []byte("phase: Failed\n")}, "status: b", o)
			if err != nil || !changed {
				t.Fatalf("second WriteStatus: %v, %v", changed, err)
			}
			if got := r.head(t, "main"); got != fleetHead {
				t.Fatalf("the fleet branch moved to %s", got)
			}
			if got := r.head(t, "gitfleet-status"); got != second {
				t.Fatalf("status branch head %s, want %s", got, second)
			}
			if parents := runGit(t, r.bare, "rev-list", "--parents", "-n1", second); parents != second+" "+first {
				t.Fatalf("parents of the second status commit: %q", parents)
			}
			files := strings.Fields(runGit(t, r.bare, "ls-tree", "-r", "--name-only", second))
			if diff := cmp.Diff([]string{"status/clusters/a.yaml", "status/clusters/b.yaml"}, files); diff != "" {
				t.Errorf("status branch files (-want +got):\n%s", diff)
			}
			if got := runGit(t, r.bare, "log", "-1", "--format=%an <%ae>", second); got != "fleet bot <bot@example.com>" {
				t.Errorf("author %q", got)
			}
		})
	}
}

func TestWriteStatusRefusesPathsOutsideStatus(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	before := r.head(t, "main")
	for _, files := range []map[string][]byte{
		{"clusters/a.yaml": []byte("x")},
		{"status/../clusters/a.yaml": []byte("x")},
		{"/status/a.yaml": []byte("x")},
		{"status/./a.yaml": []byte("x")},
		{"status/.git/config": []byte("x")},
		{"status": []byte("x")},
		{"status/a": []byte("x"), "status/a/b": []byte("y")},
		{},
	} {
		if _, _, err := s.WriteStatus(context.Background(), files, "status", testStatusOptions()); err == nil {
			t.Errorf("WriteStatus(%v): no error", files)
		}
	}
	if _, _, err := s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x")}, "  ", testStatusOptions()); err == nil {
		t.Error("WriteStatus with an empty message: no error")
	}
	if got := r.head(t, "main"); got != before {
		t.Fatalf("refused writes moved the branch to %s", got)
	}
}

func TestWriteStatusDoesNotCreateTheFleetBranch(t *testing.T) {
	r := newFleetRepo(t)
	o := transports[0].opts(t, r)
	o.Branch = "not-yet"
	s := mustNew(t, o)
	_, _, err := s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x")}, "status", testStatusOptions())
	if !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("WriteStatus to a missing fleet branch: %v, want ErrBranchNotFound", err)
	}
	if _, err := s.Fetch(context.Background()); !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("the fleet branch was created: %v", err)
	}
}
