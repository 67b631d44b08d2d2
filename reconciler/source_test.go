package reconciler_test

import (
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/test/gitrepo"
)

// TestOpenSnapshotNamesAMissingRevision: a revision that is not there is named with the
// reason, not with go-git's bare EOF.
func TestOpenSnapshotNamesAMissingRevision(t *testing.T) {
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Write(map[string]string{"fleet.yaml": "kind: Fleet\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("first"); err != nil {
		t.Fatal(err)
	}
	if snap, err := reconciler.OpenSnapshot(t.Context(), repo.Dir, "HEAD"); err != nil || snap.Revision == "" {
		t.Fatalf("HEAD: %v", err)
	}
	for rev, want := range map[string]string{
		"HEAD~1": `no revision "HEAD~1" in ` + repo.Dir + `: it goes back further than the branch's history`,
		"nosuch": `no revision "nosuch" in ` + repo.Dir + `: no such branch, tag or commit (fetch it first?)`,
	} {
		_, err := reconciler.OpenSnapshot(t.Context(), repo.Dir, rev)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("revision %s: error %v, want %q", rev, err, want)
		}
	}
}
