// Package gitrepo makes real git repositories on disk for tests and the demo: files are
// written, committed with go-git, and read back by gitfleet exactly as a fleet repository
// a person pushed.
package gitrepo

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a git working tree.
type Repo struct {
	Dir  string
	repo *git.Repository
}

// Init creates an empty repository in dir.
func Init(dir string) (*Repo, error) {
	r, err := git.PlainInit(dir, false)
	if err != nil {
		return nil, fmt.Errorf("git init %s: %w", dir, err)
	}
	return &Repo{Dir: dir, repo: r}, nil
}

// Write sets files (path relative to the repository root -> content); an empty content
// removes the file.
func (r *Repo) Write(files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// CopyDir copies a directory tree (fleet-example/, say) into the repository root.
func (r *Repo) CopyDir(src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(r.Dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

// Commit stages every change (removals included) and commits it; it returns the hash.
func (r *Repo) Commit(message string) (string, error) {
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("git add: %w", err)
	}
	hash, err := wt.Commit(message, &git.CommitOptions{
		Author:            &object.Signature{Name: "Fleet Admin", Email: "admin@example.com", When: time.Now()},
		AllowEmptyCommits: true,
	})
	if err != nil {
		return "", fmt.Errorf("git commit: %w", err)
	}
	return hash.String(), nil
}
