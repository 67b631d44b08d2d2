package gitsource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// WriteStatus commits files to the status branch and pushes the commit, never forcing.
//
// files maps repository paths, each under status/ ("status/clusters/a.yaml"), to their
// new content; a nil content deletes the file. Paths not named keep whatever the branch
// has, and nothing outside status/ is ever touched.
//
// A commit is made only when the tree changes; otherwise WriteStatus returns the branch
// head and changed false. When the push is rejected because someone pushed meanwhile,
// WriteStatus waits (a back-off that doubles up to opts.MaxBackoff, with jitter), fetches,
// applies files again on top of the new head (inside status/ gitfleet's content wins; the
// other commit is kept whole), and pushes again. It keeps doing so until the commit is
// pushed, opts.Superseded reports a newer status (an error wrapping ErrSuperseded), ctx
// ends (ctx's error), or, only when opts.MaxAttempts is set, that many pushes were
// rejected (a *ConflictError). History stays linear: every status commit has the branch
// head it was pushed onto as its only parent, so no person's commit is ever dropped.
func (s *Source) WriteStatus(ctx context.Context, files map[string][]byte, message string, opts StatusOptions) (commit string, changed bool, err error) {
	opts = statusDefaults(opts, s.opts.Branch)
	if err := checkStatusPaths(files); err != nil {
		return "", false, err
	}
	if strings.TrimSpace(message) == "" {
		return "", false, errors.New("status commit: empty message")
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	base, err := s.fetchBranch(ctx, opts.Branch)
	if err != nil {
		return "", false, err
	}
	for attempt := 1; ; attempt++ {
		if opts.Superseded != nil && opts.Superseded() {
			return "", false, fmt.Errorf("status commit to branch %q, before attempt %d: %w", opts.Branch, attempt, ErrSuperseded)
		}
		if base.IsZero() && opts.Branch == s.opts.Branch {
			// Only a separate status branch is created here; starting the fleet branch is
			// a person's first commit, not a status commit.
			return "", false, fmt.Errorf("status commit to %s: fleet branch %q: %w", s.url, opts.Branch, ErrBranchNotFound)
		}
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
		pushErr := s.push(ctx, next, opts.Branch)
		if pushErr == nil {
			if err := s.repo.Storer.SetReference(plumbing.NewHashReference(trackingRef(opts.Branch), next)); err != nil {
				return "", false, fmt.Errorf("push %s: recording %s: %w", s.url, trackingRef(opts.Branch), err)
			}
			s.log.Info("pushed status commit", "url", s.url, "branch", opts.Branch, "commit", next.String(), "attempt", attempt)
			return next.String(), true, nil
		}
		if err := ctx.Err(); err != nil {
			return "", false, fmt.Errorf("push %s: %w", s.url, err)
		}
		if !rejected(pushErr) {
			return "", false, pushErr
		}
		last := opts.MaxAttempts > 0 && attempt >= opts.MaxAttempts
		if !last {
			// Waiting before the fetch, not after it, so that the next commit is built on
			// the freshest head and the window for another push to slip in stays short.
			wait := backoff(opts.Backoff, opts.MaxBackoff, attempt)
			s.log.Info("status push rejected; retrying on top of the branch", "branch", opts.Branch,
				"attempt", attempt, "wait", wait.String(), "reason", pushErr.Error())
			select {
			case <-ctx.Done():
				return "", false, fmt.Errorf("push %s: %w", s.url, ctx.Err())
			case <-time.After(wait):
			}
		}
		// Whether the push lost a race is decided by the branch itself, not by parsing the
		// server's message: if the head moved, someone pushed; otherwise the failure is ours.
		head, err := s.fetchBranch(ctx, opts.Branch)
		if err != nil {
			return "", false, err
		}
		if head == base {
			return "", false, pushErr
		}
		if last {
			return "", false, &ConflictError{Branch: opts.Branch, Attempts: attempt, Err: pushErr}
		}
		base = head
	}
}

func statusDefaults(o StatusOptions, fleetBranch string) StatusOptions {
	d := DefaultStatusOptions()
	if o.Branch == "" {
		o.Branch = fleetBranch
	}
	if o.Author.Name == "" || o.Author.Email == "" {
		o.Author = d.Author
	}
	if o.MaxAttempts < 0 {
		o.MaxAttempts = 0
	}
	// Retrying without a bound and without a wait would hammer the server.
	if o.Backoff <= 0 {
		o.Backoff = d.Backoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	return o
}

// backoff is the wait after the attempt-th rejected push: first doubled per attempt up to
// limit, of which the upper half is random ("equal jitter"), so that writers that lost a
// race do not collide again in lockstep yet never wait more than limit.
func backoff(first, limit time.Duration, attempt int) time.Duration {
	d := limit
	if shift := attempt - 1; shift < 62 && first <= limit>>shift {
		d = first << shift
	}
	return d/2 + rand.N(d/2+1)
}

// rejected reports whether a push error may be a lost race. Credentials, host keys and the
// network fail the same way on a retry, so those return at once.
func rejected(err error) bool {
	var (
		ae *AuthError
		he *HostKeyError
		ne *NetworkError
	)
	return !errors.As(err, &ae) && !errors.As(err, &he) && !errors.As(err, &ne) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// checkStatusPaths refuses anything that could write outside status/.
func checkStatusPaths(files map[string][]byte) error {
	if len(files) == 0 {
		return errors.New("status commit: no files")
	}
	for p, data := range files {
		if p == "" || path.Clean(p) != p || !strings.HasPrefix(p, StatusDir+"/") || strings.Contains(p, "\\") {
			return fmt.Errorf("status commit: path %q is not a clean path under %s/", p, StatusDir)
		}
		for _, elem := range strings.Split(p, "/") {
			if elem == ".git" || elem == ".." || elem == "." {
				return fmt.Errorf("status commit: path %q has a %q element", p, elem)
			}
		}
		if data == nil {
			continue
		}
		// A file and a directory of the same name cannot both be written.
		for dir := path.Dir(p); dir != StatusDir; dir = path.Dir(dir) {
			if d, ok := files[dir]; ok && d != nil {
				return fmt.Errorf("status commit: %q is written both as a file and as the directory of %q", dir, p)
			}
		}
	}
	return nil
}

// statusCommit writes the commit that applies files on top of base (the zero hash: a
// branch that does not exist yet, started as a root commit holding only status/). It
// reports changed false, writing nothing, when the tree would stay the same.
func (s *Source) statusCommit(base plumbing.Hash, files map[string][]byte, message string, author Signature) (plumbing.Hash, bool, error) {
	var (
		baseTree *object.Tree
		parents  []plumbing.Hash
	)
	if !base.IsZero() {
		c, err := s.repo.CommitObject(base)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("status commit: reading %s: %w", base, err)
		}
		if baseTree, err = c.Tree(); err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("status commit: reading the tree of %s: %w", base, err)
		}
		parents = []plumbing.Hash{base}
	}
	edits := make(map[string][]byte, len(files))
	for p, d := range files {
		edits[p] = d
	}
	treeHash, _, err := editTree(s.repo.Storer, baseTree, edits)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("status commit: %w", err)
	}
	if baseTree != nil && treeHash == baseTree.Hash {
		return plumbing.ZeroHash, false, nil
	}
	if baseTree == nil && treeHash.IsZero() {
		return plumbing.ZeroHash, false, nil // only deletions on a branch that does not exist
	}
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: treeHash, ParentHashes: parents}
	h, err := store(s.repo.Storer, c)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("status commit: %w", err)
	}
	return h, true, nil
}

type encoder interface {
	Encode(plumbing.EncodedObject) error
}

func store(st storer.EncodedObjectStorer, o encoder) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(obj)
}

// editTree writes the tree that is base with edits applied (paths relative to base; nil
// content deletes) and returns its hash, or empty true when nothing is left in it.
// Subtrees that no edit reaches keep their hash, so everything outside the edited paths
// stays byte for byte what the base commit has (modes, symlinks, submodules included).
func editTree(st storer.EncodedObjectStorer, base *object.Tree, edits map[string][]byte) (plumbing.Hash, bool, error) {
	entries := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			entries[e.Name] = e
		}
	}
	sub := map[string]map[string][]byte{}
	for p, data := range edits {
		name, rest, nested := strings.Cut(p, "/")
		if nested {
			if sub[name] == nil {
				sub[name] = map[string][]byte{}
			}
			sub[name][rest] = data
			continue
		}
		if data == nil {
			if e, ok := entries[name]; ok && e.Mode != filemode.Dir {
				delete(entries, name)
			}
			continue
		}
		blob := &plumbing.MemoryObject{}
		blob.SetType(plumbing.BlobObject)
		if _, err := blob.Write(data); err != nil {
			return plumbing.ZeroHash, false, err
		}
		h, err := st.SetEncodedObject(blob)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		entries[name] = object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h}
	}
	for name, e := range sub {
		old, exists := entries[name]
		var baseSub *object.Tree
		if exists && old.Mode == filemode.Dir {
			t, err := object.GetTree(st, old.Hash)
			if err != nil {
				return plumbing.ZeroHash, false, fmt.Errorf("%s: %w", name, err)
			}
			baseSub = t
		}
		h, empty, err := editTree(st, baseSub, e)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("%s/%w", name, err)
		}
		switch {
		case !empty:
			// A file in the way of a directory is replaced: inside status/ gitfleet's
			// layout wins.
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		case exists && old.Mode == filemode.Dir:
			delete(entries, name) // git has no empty directories
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, true, nil
	}
	tree := &object.Tree{}
	for _, e := range entries {
		tree.Entries = append(tree.Entries, e)
	}
	sort.Slice(tree.Entries, func(i, j int) bool { return gitTreeKey(tree.Entries[i]) < gitTreeKey(tree.Entries[j]) })
	h, err := store(st, tree)
	return h, false, err
}

// gitTreeKey is the name git sorts tree entries by: a directory sorts as if its name
// ended in "/".
func gitTreeKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// push sends commit to branch as a fast-forward. The source is a private local ref; the
// refspec has no "+", so go-git refuses a non-fast-forward and the server checks that the
// branch still is where it was advertised.
func (s *Source) push(ctx context.Context, commit plumbing.Hash, branch string) error {
	// A push that has begun is not cut off when ctx ends (serve stopping, the lease
	// lost): a receive-pack killed half-way leaves the remote's branch locked for the
	// next writer (refs/heads/main.lock, on a local or file:// remote) and the status
	// commit in doubt. It runs to its end within the git timeout; being a fast-forward,
	// it cannot overwrite what a newer leader pushed meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.pushTimeout())
	defer cancel()
	local := plumbing.ReferenceName("refs/gitfleet/push/" + branch)
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(local, commit)); err != nil {
		return fmt.Errorf("push %s: %w", s.url, err)
	}
	auth, attempt := s.creds.method()
	err := s.repo.PushContext(ctx, &git.PushOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec(local.String() + ":" + plumbing.NewBranchReferenceName(branch).String())},
		Auth:       auth,
		Force:      false,
		CABundle:   s.opts.CABundle,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return s.explain(classify("push", s.url, err, attempt))
}

// StatusWriter is a Source's status commits as the reconcile loop writes them: with fixed
// options, the branch the Fleet names unless Options.Branch (--status-branch) is set, and
// the loop's say on whether a newer status supersedes the one being written.
type StatusWriter struct {
	Source  *Source
	Options StatusOptions
}

// WriteStatus commits files as Source.WriteStatus does.
func (w StatusWriter) WriteStatus(ctx context.Context, files map[string][]byte, message, branch string, superseded func() bool) (commit string, changed bool, err error) {
	opts := w.Options
	if opts.Branch == "" {
		opts.Branch = branch
	}
	opts.Superseded = superseded
	return w.Source.WriteStatus(ctx, files, message, opts)
}
