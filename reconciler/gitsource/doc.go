// Package gitsource follows the fleet repository over git and writes gitfleet's status
// back into it.
//
// A Source keeps a bare clone of the repository in a cache directory (or in memory) and
// reaches the remote over file://, https:// or http:// (a token, sent as HTTP basic auth),
// SSH (ssh:// or git@host:path, a private key), or git:// (git daemon: no credentials, no
// encryption, for trusted networks only). SSH host keys are always checked
// against the known_hosts content given in Auth: an unknown, changed or revoked key is
// refused before anything is sent, with a *HostKeyError naming the host and the presented
// key's SHA256 fingerprint. There is no way to turn the check off.
//
// The reconcile loop uses it like this:
//
//	head, err := src.Fetch(ctx)                   // the fleet branch's head
//	paths, err := src.ChangedPaths(ctx, last, head)
//	if gitsource.StatusOnly(paths) { skip }       // gitfleet's own status commits never re-render
//	files, err := src.Snapshot(ctx, head)         // the committed tree, as an fs.FS
//	... render, apply ...
//	commit, changed, err := src.WriteStatus(ctx, statusFiles, msg, opts)
//
// Status commits: WriteStatus writes files under status/ only, makes a commit only when
// the tree changes (no heartbeat commits), and pushes without force. When someone pushed
// to the branch meanwhile, the push is rejected; WriteStatus then waits (doubling from
// 50ms to at most 2s, with jitter), fetches, applies the same files on top of the new head
// and pushes again, for as long as it takes: until the status is pushed, the caller's
// StatusOptions.Superseded says a newer status replaces it (ErrSuperseded), or ctx ends.
// The other commit is kept whole (inside status/ gitfleet's files win), nothing is
// rewritten, and no merge commits are made, so history stays linear.
//
// gitfleet bootstrap writes a repository's first files (and later upgrades of gitfleet's
// own install) with CommitFiles: anywhere in the tree, starting the branch in an empty
// repository, never forced; a push that lost a race is committed again on top, up to
// CommitOptions.MaxAttempts, since a person is waiting for it.
//
// Errors say whether to retry: *NetworkError and *ConflictError (only with
// StatusOptions.MaxAttempts set) are transient (back off and try again), ErrSuperseded is
// no failure at all, *AuthError and *HostKeyError need a person to change credentials or
// known_hosts. Tokens, keys and passphrases are never logged or put into errors; a URL
// that carries a password is refused.
package gitsource
