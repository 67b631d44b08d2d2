package gitsource

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// CommitOptions tune CommitFiles.
type CommitOptions struct {
	// Author of the commit (also its committer).
	Author Signature
	// MaxAttempts bounds the pushes: after each one rejected because someone pushed
	// meanwhile, the files are committed again on top of the new head. A person runs
	// CommitFiles (gitfleet bootstrap) and waits for it, so it gives up, with a
	// *ConflictError, rather than retrying for ever as a status write does.
	MaxAttempts int
}

// DefaultCommitOptions returns gitfleet's author and five attempts.
func DefaultCommitOptions() CommitOptions {
	return CommitOptions{Author: DefaultStatusOptions().Author, MaxAttempts: 5}
}

// CommitFiles commits files (repository paths to contents; a nil content deletes) on top
// of the fleet branch and pushes, never forcing. Unlike WriteStatus it writes anywhere in
// the repository, and a branch that does not exist yet (an empty repository) is started
// with a root commit: it is what gitfleet bootstrap writes a fleet repository's first
// files with. Paths not named keep what the branch has. When the tree would not change,
// nothing is committed and it returns the branch head and changed false.
func (s *Source) CommitFiles(ctx context.Context, files map[string][]byte, message string, opts CommitOptions) (commit string, changed bool, err error) {
	if err := checkCommitPaths(files); err != nil {
		return "", false, err
	}
	if strings.TrimSpace(message) == "" {
		return "", false, errors.New("commit: empty message")
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultCommitOptions().MaxAttempts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	branch := s.opts.Branch
	base, err := s.fetchBranch(ctx, branch)
	if err != nil {
		return "", false, err
	}
	for attempt := 1; ; attempt++ {
		next, changed, err := s.statusCommit(base, files, message, opts.Author)
		if err != nil {
			return "", false, err
		}
		if !changed {
			if base.IsZero() {
				return "", false, nil
			}
			return base.String(), false, nil
		}
		if s.beforePush != nil {
			s.beforePush(attempt)
		}
		pushErr := s.push(ctx, next, branch)
		if pushErr == nil {
			if err := s.repo.Storer.SetReference(plumbing.NewHashReference(trackingRef(branch), next)); err != nil {
				return "", false, fmt.Errorf("push %s: recording %s: %w", s.url, trackingRef(branch), err)
			}
			s.log.Info("pushed commit", "url", s.url, "branch", branch, "commit", next.String(), "attempt", attempt)
			return next.String(), true, nil
		}
		if err := ctx.Err(); err != nil {
			return "", false, fmt.Errorf("push %s: %w", s.url, err)
		}
		if !rejected(pushErr) {
			return "", false, pushErr
		}
		// As WriteStatus decides it: the push lost a race only if the branch moved.
		head, err := s.fetchBranch(ctx, branch)
		if err != nil {
			return "", false, err
		}
		if head == base {
			return "", false, pushErr
		}
		if attempt >= opts.MaxAttempts {
			return "", false, &ConflictError{Branch: branch, Attempts: attempt, Err: pushErr}
		}
		base = head
	}
}

// checkCommitPaths refuses paths that could write outside the repository's tree or into
// git's own files.
func checkCommitPaths(files map[string][]byte) error {
	if len(files) == 0 {
		return errors.New("commit: no files")
	}
	for p := range files {
		if p == "" || path.Clean(p) != p || path.IsAbs(p) || strings.Contains(p, "\\") {
			return fmt.Errorf("commit: path %q is not a clean relative path", p)
		}
		for _, elem := range strings.Split(p, "/") {
			if elem == ".git" || elem == ".." || elem == "." {
				return fmt.Errorf("commit: path %q has a %q element", p, elem)
			}
		}
	}
	return nil
}
