package sshrun

import (
	"errors"
	"fmt"
	"time"
)

// HostKeyError is a host key gitfleet refused: not in known_hosts (Changed false) or
// different from the one known_hosts lists (Changed true).
type HostKeyError struct {
	Address     string
	KnownHosts  string
	Fingerprint string // SHA256:... of the key the server presented
	KeyType     string
	Changed     bool
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("host key of %s changed: it presented %s key %s, which %s does not list for it; "+
			"if the machine was reinstalled, check the new key out of band and replace its line in %s",
			e.Address, e.KeyType, e.Fingerprint, e.KnownHosts, e.KnownHosts)
	}
	return fmt.Sprintf("host key of %s is unknown: it presented %s key %s, and %s has no key for it; "+
		"check the fingerprint out of band (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the machine) and add the key to %s",
		e.Address, e.KeyType, e.Fingerprint, e.KnownHosts, e.KnownHosts)
}

// DialError is a machine that could not be reached or logged in to.
type DialError struct {
	Address, User string
	Err           error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("ssh %s@%s: %v", e.User, e.Address, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// ErrAuth is wrapped by a DialError when the server refused every credential offered.
var ErrAuth = errors.New("authentication failed: the server refused the password or key " +
	"(for password login the machine's /etc/ssh/sshd_config needs PasswordAuthentication yes)")

// TimeoutError is a step that did not finish in time: the dial, or a command, which was
// then killed and abandoned.
type TimeoutError struct {
	Address string
	// Command is what was run; empty for the dial.
	Command string
	After   time.Duration
}

func (e *TimeoutError) Error() string {
	if e.Command == "" {
		return fmt.Sprintf("%s did not complete the SSH handshake within %s (down, firewalled, or not an SSH server)", e.Address, e.After)
	}
	return fmt.Sprintf("%s: command %q did not finish within %s and was abandoned", e.Address, firstLine(e.Command), e.After)
}

// Timeout lets callers treat it like a net timeout.
func (e *TimeoutError) Timeout() bool { return true }

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Address, Command string
	Status           int
	Stderr           string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: command %q exited with status %d", e.Address, firstLine(e.Command), e.Status)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i] + " ..."
		}
	}
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
