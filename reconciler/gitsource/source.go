package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-logr/logr"
)

// StatusDir is the top-level directory that only gitfleet writes.
const StatusDir = "status"

const remoteName = "origin"

// Source follows one branch of a fleet repository through a bare clone in a cache
// directory. Its methods are safe for concurrent use; they run one at a time because they
// share the clone.
type Source struct {
	opts  Options
	url   string // opts.URL, safe to print: New refuses credentials in it
	proto string // the URL's scheme as go-git names it: file, http, https, ssh or git
	creds credentials
	log   logr.Logger

	mu   sync.Mutex
	repo *git.Repository

	// beforePush, when set (by tests only), runs between building a status commit and
	// pushing it, so that a race with a person's push can be staged deterministically.
	beforePush func(attempt int)
}

// New checks the options and opens (or creates) the cache. It does not touch the network:
// the first Fetch clones.
func New(opts Options) (*Source, error) {
	if opts.URL == "" {
		return nil, errors.New("gitsource: no repository URL")
	}
	if opts.Branch == "" {
		return nil, errors.New("gitsource: no branch")
	}
	if err := plumbing.NewBranchReferenceName(opts.Branch).Validate(); err != nil {
		return nil, fmt.Errorf("gitsource: branch %q: %w", opts.Branch, err)
	}
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("gitsource: repository URL: %w", err)
	}
	if ep.Password != "" {
		// Refused rather than redacted: a credential in the URL ends up in config files,
		// logs and status commits. It belongs in Auth, read from a Secret.
		return nil, errors.New("gitsource: the repository URL contains a password or token; pass it as Auth.Token instead")
	}
	creds, err := newCredentials(ep, opts.Auth, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("gitsource: %s: %w", opts.URL, err)
	}
	repo, err := openCache(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	if err := setRemote(repo, opts.URL); err != nil {
		return nil, fmt.Errorf("gitsource: cache %s: %w", opts.CacheDir, err)
	}
	log := opts.Log
	if log.GetSink() == nil {
		log = logr.Discard()
	}
	return &Source{opts: opts, url: opts.URL, proto: ep.Protocol, creds: creds, log: log, repo: repo}, nil
}

// openCache opens the bare clone in dir, creating it when dir is missing or empty.
func openCache(dir string) (*git.Repository, error) {
	if dir == "" {
		repo, err := git.Init(memory.NewStorage(), nil)
		if err != nil {
			return nil, fmt.Errorf("gitsource: in-memory clone: %w", err)
		}
		return repo, nil
	}
	repo, err := git.PlainOpen(dir)
	if err == nil {
		return repo, nil
	}
	if !errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("gitsource: opening cache %s: %w", dir, err)
	}
	if entries, rerr := os.ReadDir(dir); rerr == nil && len(entries) > 0 {
		return nil, fmt.Errorf("gitsource: cache %s is not empty and not a git repository; refusing to use it", dir)
	}
	repo, err = git.PlainInit(dir, true)
	if err != nil {
		return nil, fmt.Errorf("gitsource: creating cache %s: %w", dir, err)
	}
	return repo, nil
}

// setRemote points origin at url. A cache reused for another URL keeps its objects (they
// are content-addressed, so harmless) but its branches are fetched anew.
func setRemote(repo *git.Repository, url string) error {
	want := &config.RemoteConfig{
		Name:  remoteName,
		URLs:  []string{url},
		Fetch: []config.RefSpec{config.RefSpec("+refs/heads/*:refs/remotes/" + remoteName + "/*")},
	}
	r, err := repo.Remote(remoteName)
	switch {
	case err == nil && len(r.Config().URLs) == 1 && r.Config().URLs[0] == url:
		return nil
	case err == nil:
		if err := repo.DeleteRemote(remoteName); err != nil {
			return err
		}
	case !errors.Is(err, git.ErrRemoteNotFound):
		return err
	}
	_, err = repo.CreateRemote(want)
	return err
}

// Fetch brings the fleet branch up to date and returns its head commit hash.
func (s *Source) Fetch(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, err := s.fetchBranch(ctx, s.opts.Branch)
	if err != nil {
		return "", err
	}
	if head.IsZero() {
		return "", fmt.Errorf("fetch %s: branch %q: %w", s.url, s.opts.Branch, ErrBranchNotFound)
	}
	return head.String(), nil
}

// fetchBranch fetches one branch into its remote-tracking ref and returns its head, or
// the zero hash when the remote has no such branch (the tracking ref is then removed).
func (s *Source) fetchBranch(ctx context.Context, branch string) (plumbing.Hash, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	tracking := trackingRef(branch)
	auth, attempt := s.creds.method()
	err := s.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		// Forced on our side only: the tracking ref mirrors the remote even when people
		// rewrote the branch. Nothing is ever forced on the remote.
		RefSpecs: []config.RefSpec{config.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + tracking.String())},
		Auth:     auth,
		Tags:     git.NoTags,
		CABundle: s.opts.CABundle,
	})
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
	case errors.Is(err, git.NoMatchingRefSpecError{}), errors.Is(err, transport.ErrEmptyRemoteRepository):
		if rerr := s.repo.Storer.RemoveReference(tracking); rerr != nil {
			return plumbing.ZeroHash, fmt.Errorf("fetch %s: removing stale %s: %w", s.url, tracking, rerr)
		}
		return plumbing.ZeroHash, nil
	default:
		return plumbing.ZeroHash, s.explain(classify("fetch", s.url, err, attempt))
	}
	ref, err := s.repo.Reference(tracking, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetch %s: reading %s: %w", s.url, tracking, err)
	}
	s.log.V(1).Info("fetched", "url", s.url, "branch", branch, "head", ref.Hash().String())
	return ref.Hash(), nil
}

func (s *Source) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.opts.Timeout > 0 {
		return context.WithTimeout(ctx, s.opts.Timeout)
	}
	return context.WithCancel(ctx)
}

// pushTimeout bounds a push, which outlives its caller's context (see push).
func (s *Source) pushTimeout() time.Duration {
	if s.opts.Timeout > 0 {
		return s.opts.Timeout
	}
	return time.Minute
}

func trackingRef(branch string) plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(remoteName, branch)
}

// Snapshot returns the files of a commit's tree, read into memory: what is rendered is
// exactly what was committed. rev is a commit hash (as Fetch returns) or a revision
// go-git resolves; empty means the fleet branch's head as last fetched.
func (s *Source) Snapshot(ctx context.Context, rev string) (fs.FS, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	commit, err := s.commit(rev)
	if err != nil {
		return nil, err
	}
	files, err := TreeFiles(ctx, commit)
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", commit.Hash, err)
	}
	return files, nil
}

func (s *Source) commit(rev string) (*object.Commit, error) {
	if rev == "" {
		rev = trackingRef(s.opts.Branch).String()
	}
	hash, err := s.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("resolving revision %q of %s: %w", rev, s.url, err)
	}
	c, err := s.repo.CommitObject(*hash)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s of %s: %w", hash, s.url, err)
	}
	return c, nil
}

// TreeFiles loads a commit's files into memory; reconciler.OpenSnapshot uses it for local
// repositories too. fstest.MapFS is the standard library's complete read-only in-memory
// fs.FS; nothing in it depends on the testing package.
func TreeFiles(ctx context.Context, commit *object.Commit) (fstest.MapFS, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !f.Mode.IsFile() {
			return nil // submodules and symlinks are not part of a fleet repository.
		}
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		out[f.Name] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	return out, err
}

// ChangedPaths lists, sorted, the files that differ between the trees of two commits
// (added, removed or modified; a rename lists both names). from empty means "nothing
// before": every file of to. The trees are compared, not the commits in between, so a
// person's commit and a status commit together are not status-only.
func (s *Source) ChangedPaths(ctx context.Context, from, to string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	toCommit, err := s.commit(to)
	if err != nil {
		return nil, err
	}
	toTree, err := toCommit.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", toCommit.Hash, err)
	}
	if from == "" {
		var paths []string
		err := toTree.Files().ForEach(func(f *object.File) error {
			paths = append(paths, f.Name)
			return ctx.Err()
		})
		sort.Strings(paths)
		return paths, err
	}
	fromCommit, err := s.commit(from)
	if err != nil {
		return nil, err
	}
	fromTree, err := fromCommit.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", fromCommit.Hash, err)
	}
	changes, err := object.DiffTreeContext(ctx, fromTree, toTree)
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", fromCommit.Hash, toCommit.Hash, err)
	}
	set := map[string]bool{}
	for _, c := range changes {
		if c.From.Name != "" {
			set[c.From.Name] = true
		}
		if c.To.Name != "" {
			set[c.To.Name] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, nil
}

// StatusOnly reports whether every path is under status/, that is whether a change needs
// no re-render. No paths at all (two commits with the same tree) also needs none.
func StatusOnly(paths []string) bool {
	for _, p := range paths {
		if !strings.HasPrefix(p, StatusDir+"/") {
			return false
		}
	}
	return true
}
