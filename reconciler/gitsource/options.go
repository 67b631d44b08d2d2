package gitsource

import (
	"time"

	"github.com/go-logr/logr"
)

// Options say which repository and branch a Source follows and how it reaches it.
type Options struct {
	// URL of the fleet repository: file://, https://, http://, ssh://, the scp-like
	// git@host:path, or git:// (git daemon). Credentials never go in the URL (New refuses a
	// password there, so that it cannot leak into logs and status); they go in Auth.
	// git:// is unauthenticated and unencrypted: anyone on the path can read the fleet and
	// change what gitfleet fetches, and the daemon takes pushes from anyone it lets push.
	// It takes no Auth, and its connect is not bounded by Timeout (go-git dials it without
	// a deadline, so an unreachable host waits for the system's TCP connect timeout).
	URL string
	// Branch holds the fleet; Fetch returns its head.
	Branch string
	// CacheDir keeps a bare clone between runs so that a restart fetches only what is new.
	// Empty keeps the clone in memory (one-shot CLI runs).
	CacheDir string
	// Auth is the credential for the URL's scheme.
	Auth Auth
	// CABundle holds PEM certificates trusted for https:// in addition to the system
	// roots, for a self-hosted forge with a private CA. There is no switch to skip TLS
	// verification.
	CABundle []byte
	// Timeout bounds one network operation (one fetch or one push); a slow remote must not
	// stall the reconcile loop. Zero means no limit beyond the caller's context.
	Timeout time.Duration
	// Log receives structured logs; credentials are never logged.
	Log logr.Logger
}

// DefaultOptions returns the options used unless told otherwise; URL is left to the
// caller.
func DefaultOptions() Options {
	return Options{
		Branch:  "main",
		Timeout: 2 * time.Minute,
		Log:     logr.Discard(),
	}
}

// Auth holds credentials as values: the caller reads them from a Secret or the environment
// (cmd/ does that) and passes them down; this package never reads either itself.
type Auth struct {
	// Token for https:// and http:// remotes, sent as the password of HTTP basic auth.
	Token string
	// Username of HTTP basic auth, "git" when empty (GitHub, GitLab and Gitea accept any
	// username with a token). For SSH it is the login when the URL names none.
	Username string
	// SSHKey is a PEM or OpenSSH private key for ssh:// and git@host:path remotes.
	SSHKey []byte
	// SSHPassphrase decrypts SSHKey when it is encrypted.
	SSHPassphrase []byte
	// KnownHosts is the content of a known_hosts file. SSH host keys are always checked
	// against it: an unknown or changed key is refused with a *HostKeyError that names the
	// presented key's fingerprint, so an empty KnownHosts tells the operator what to pin.
	KnownHosts []byte
}

// String keeps credentials out of logs and %v output.
func (a Auth) String() string {
	return "gitsource.Auth{Username:" + a.Username +
		" Token:" + redacted(a.Token != "") +
		" SSHKey:" + redacted(len(a.SSHKey) > 0) +
		" SSHPassphrase:" + redacted(len(a.SSHPassphrase) > 0) +
		" KnownHosts:" + redacted(len(a.KnownHosts) > 0) + "}"
}

// GoString keeps credentials out of %#v output.
func (a Auth) GoString() string { return a.String() }

func redacted(set bool) string {
	if set {
		return "<set>"
	}
	return "<empty>"
}

// Signature names the author and committer of status commits.
type Signature struct {
	Name, Email string
}

// StatusOptions tune one status write.
type StatusOptions struct {
	// Branch receives the status commits; empty means the fleet branch. A separate branch
	// keeps status out of the fleet's history; it is created (as a branch holding only
	// status/) by the first write.
	Branch string
	// Author of the commits (also their committer), so that people can filter gitfleet's
	// commits out of the log.
	Author Signature
	// MaxAttempts bounds the pushes of one write, 0 (the default) means no bound. Each
	// rejected push (someone pushed meanwhile) is followed by a wait, a fetch and a new
	// commit on top of the new head; with a bound, the last rejection returns a
	// *ConflictError. A busy branch is no reason to drop a status: without a bound the
	// write ends only when the status is pushed, Superseded says so, or ctx ends.
	MaxAttempts int
	// Backoff is the wait after the first rejected push; it doubles after each next one up
	// to MaxBackoff, with jitter, so that gitfleet yields to a person who is pushing a
	// series of commits and two writers do not collide again in lockstep. Zero means the
	// default.
	Backoff time.Duration
	// MaxBackoff caps the wait between attempts. Zero means the default.
	MaxBackoff time.Duration
	// Superseded, when set, is asked before every attempt (the first included); true ends
	// the write with an error that wraps ErrSuperseded and pushes nothing. The reconcile
	// loop passes one that reports a newer status waiting to be written, so that an old
	// status does not keep retrying against a busy branch. It runs while the Source is
	// held, so it must not call the Source.
	Superseded func() bool
}

// DefaultStatusOptions returns the options used unless told otherwise.
func DefaultStatusOptions() StatusOptions {
	return StatusOptions{
		Author:     Signature{Name: "gitfleet", Email: "gitfleet@localhost"},
		Backoff:    50 * time.Millisecond,
		MaxBackoff: 2 * time.Second,
	}
}
