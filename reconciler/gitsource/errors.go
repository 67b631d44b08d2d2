package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrBranchNotFound means the remote has no such branch (or no commits at all). For the
// fleet branch it is a configuration error; a status branch that does not exist yet is
// created by the first status commit instead.
var ErrBranchNotFound = errors.New("branch not found")

// AuthError means the remote refused gitfleet's credentials (HTTP 401/403, an SSH key the
// server does not accept). It is terminal: retrying with the same token or key will not
// help, the Secret has to change.
type AuthError struct {
	// URL is the repository, without credentials.
	URL string
	Err error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("authentication to %s failed (check the token or deploy key): %v", e.URL, e.Err)
}
func (e *AuthError) Unwrap() error { return e.Err }

// HostKeyReason says why an SSH host key was refused.
type HostKeyReason string

const (
	// HostKeyUnknown: known_hosts has no key for the host.
	HostKeyUnknown HostKeyReason = "unknown"
	// HostKeyChanged: known_hosts has other keys for the host; this is what a
	// man-in-the-middle looks like, or a server whose key was rotated.
	HostKeyChanged HostKeyReason = "changed"
	// HostKeyRevoked: the key is marked @revoked in known_hosts.
	HostKeyRevoked HostKeyReason = "revoked"
)

// HostKeyError means an SSH server presented a host key that known_hosts does not vouch
// for; nothing was sent to it. It is terminal: a person must check the fingerprint out of
// band and add the key to known_hosts.
type HostKeyError struct {
	// Host as known_hosts names it: "host" for port 22, "[host]:port" otherwise.
	Host string
	// Fingerprint of the presented key, "SHA256:..." as ssh-keygen -l prints it.
	Fingerprint string
	// KeyType of the presented key, "ssh-ed25519" say.
	KeyType string
	Reason  HostKeyReason
}

func (e *HostKeyError) Error() string {
	switch e.Reason {
	case HostKeyChanged:
		return fmt.Sprintf("ssh host key of %s does not match known_hosts (possible man-in-the-middle; refused): presented %s %s",
			e.Host, e.KeyType, e.Fingerprint)
	case HostKeyRevoked:
		return fmt.Sprintf("ssh host key of %s is revoked in known_hosts (refused): presented %s %s", e.Host, e.KeyType, e.Fingerprint)
	default:
		return fmt.Sprintf("ssh host %s is not in known_hosts (refused): presented %s %s; add its key after checking the fingerprint",
			e.Host, e.KeyType, e.Fingerprint)
	}
}

// NetworkError is a failure to reach the remote or a transfer cut short: connection
// refused or reset, DNS, timeouts, HTTP 5xx and 429. It is transient: back off and retry.
type NetworkError struct {
	// Op is "fetch" or "push".
	Op string
	// URL is the repository, without credentials.
	URL string
	Err error
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("%s %s: network error (will retry): %v", e.Op, e.URL, e.Err)
}
func (e *NetworkError) Unwrap() error { return e.Err }

// ErrSuperseded means a status write stopped because StatusOptions.Superseded said a
// newer status replaces it; nothing was pushed. It is not a failure: the newer status is
// written instead.
var ErrSuperseded = errors.New("status superseded by a newer one")

// ConflictError means every attempt to push a status commit was rejected because the
// branch kept moving under it, with StatusOptions.MaxAttempts set (by default there is no
// bound and this never happens). Nothing was forced; the status is written again on the
// next report. It is transient.
type ConflictError struct {
	Branch   string
	Attempts int
	Err      error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("status commit to branch %q still rejected after %d attempts, the branch keeps moving: %v",
		e.Branch, e.Attempts, e.Err)
}
func (e *ConflictError) Unwrap() error { return e.Err }

// classify turns a go-git transport error into one of the typed errors above so that the
// caller decides retry with errors.As. check is the SSH attempt's record, nil for other
// transports.
func classify(op, url string, err error, check *sshAttempt) error {
	if err == nil {
		return nil
	}
	var hke *HostKeyError
	if errors.As(err, &hke) {
		return hke
	}
	if check != nil {
		if hke := check.hostKeyErr.Load(); hke != nil {
			return hke
		}
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s %s: %w", op, url, err)
	}
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrInvalidAuthMethod) {
		return &AuthError{URL: url, Err: err}
	}
	if isNetwork(err) {
		return &NetworkError{Op: op, URL: url, Err: err}
	}
	// The SSH server checked our host key and then never asked us to sign: it did not
	// accept the key. x/crypto reports this only as text, so the attempt record decides.
	if check != nil && check.hostKeyOK.Load() && !check.keyAccepted.Load() {
		return &AuthError{URL: url, Err: err}
	}
	return fmt.Errorf("%s %s: %w", op, url, err)
}

func isNetwork(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// go-git wraps unexpected HTTP statuses in a *plumbing.UnexpectedError that does not
	// unwrap; look inside it for the status.
	var ue *plumbing.UnexpectedError
	if errors.As(err, &ue) {
		var he *githttp.Err
		if errors.As(ue.Err, &he) && he.Response != nil {
			code := he.Response.StatusCode
			return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
		}
		return isNetwork(ue.Err)
	}
	return false
}

// explain adds what a git daemon's terse refusals mean to whoever runs it: git:// has no
// credentials, so these are about how the daemon was started, not about gitfleet.
func (s *Source) explain(err error) error {
	if err == nil || s.proto != "git" {
		return err
	}
	var line *pktline.ErrorLine
	switch {
	case errors.As(err, &line) && strings.HasPrefix(line.Text, "service not enabled"):
		return fmt.Errorf("%w (this git daemon does not take pushes: start it with --enable=receive-pack, "+
			"or set daemon.receivepack in the repository, or turn gitfleet's status commits off)", err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%w (a git daemon serves a repository only under its --base-path and only when the "+
			"repository has a git-daemon-export-ok file or the daemon runs with --export-all)", err)
	}
	return err
}
