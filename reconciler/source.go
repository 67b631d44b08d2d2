package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"gitfleet.dev/gitfleet/reconciler/gitsource"
)

// Snapshot is the content of the fleet repository at one revision.
type Snapshot struct {
	// Revision is the commit hash, or "working-tree" for a directory that is not a git
	// repository.
	Revision string
	// FS holds the files of that revision.
	FS fs.FS
}

// WorkingTree is the Revision of a snapshot taken from a plain directory.
const WorkingTree = "working-tree"

// OpenSnapshot reads a fleet repository from a local directory. In a git repository it
// reads the committed tree of rev (HEAD when empty), so what is applied is exactly what
// was reviewed and merged, never uncommitted edits; a plain directory is read as it is.
func OpenSnapshot(ctx context.Context, dir, rev string) (*Snapshot, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: false})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if rev != "" {
			return nil, fmt.Errorf("%s is not a git repository, so --revision %s cannot be read from it", dir, rev)
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("opening fleet repository: %w", err)
		}
		return &Snapshot{Revision: WorkingTree, FS: os.DirFS(dir)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening git repository %s: %w", dir, err)
	}
	if rev == "" {
		rev = "HEAD"
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	switch {
	case errors.Is(err, io.EOF):
		// go-git's answer for a revision such as HEAD~3 that goes back past the first
		// commit; "EOF" would tell a person nothing.
		return nil, fmt.Errorf("no revision %q in %s: it goes back further than the branch's history", rev, dir)
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		return nil, fmt.Errorf("no revision %q in %s: no such branch, tag or commit (fetch it first?)", rev, dir)
	case err != nil:
		return nil, fmt.Errorf("resolving revision %q in %s: %w", rev, dir, err)
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s in %s: %w", hash, dir, err)
	}
	files, err := gitsource.TreeFiles(ctx, commit)
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s in %s: %w", hash, filepath.Clean(dir), err)
	}
	return &Snapshot{Revision: hash.String(), FS: files}, nil
}
