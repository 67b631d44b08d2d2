package gitsource

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxStatusOnlyWalk bounds how many status-only commits SourceRevision steps over. A
// branch with more on top of its last real change is unusual (a drift storm); past the
// bound the commit reached is taken as the revision, which only costs a re-apply.
const maxStatusOnlyWalk = 10000

// SourceRevision returns the newest commit at or below rev (along first parents) that
// changed something outside status/: the revision whose content is what rev renders.
// gitfleet's own status commits, and anyone else's edits under status/, leave it where
// it was, so the revision that status files, notifications, events, metrics and logs
// name is always a commit a person made.
func (s *Source) SourceRevision(ctx context.Context, rev string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.commit(rev)
	if err != nil {
		return "", err
	}
	for range maxStatusOnlyWalk {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if c.NumParents() == 0 {
			return c.Hash.String(), nil
		}
		parent, err := c.Parent(0)
		if err != nil {
			return "", fmt.Errorf("reading the parent of %s in %s: %w", c.Hash, s.url, err)
		}
		only, err := statusOnlyChange(parent, c)
		if err != nil {
			return "", err
		}
		if !only {
			return c.Hash.String(), nil
		}
		c = parent
	}
	return c.Hash.String(), nil
}

// statusOnlyChange reports whether child differs from parent in status/ only. Top-level
// entries are compared by hash, so the check costs two tree reads whatever the repository's
// size.
func statusOnlyChange(parent, child *object.Commit) (bool, error) {
	if parent.TreeHash == child.TreeHash {
		return true, nil
	}
	pt, err := parent.Tree()
	if err != nil {
		return false, fmt.Errorf("reading the tree of %s: %w", parent.Hash, err)
	}
	ct, err := child.Tree()
	if err != nil {
		return false, fmt.Errorf("reading the tree of %s: %w", child.Hash, err)
	}
	entries := func(t *object.Tree) map[string]object.TreeEntry {
		m := make(map[string]object.TreeEntry, len(t.Entries))
		for _, e := range t.Entries {
			if e.Name != StatusDir {
				m[e.Name] = e
			}
		}
		return m
	}
	pe, ce := entries(pt), entries(ct)
	if len(pe) != len(ce) {
		return false, nil
	}
	for name, e := range pe {
		if o, ok := ce[name]; !ok || o.Hash != e.Hash || o.Mode != e.Mode {
			return false, nil
		}
	}
	return true, nil
}
