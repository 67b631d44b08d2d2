package sshrun

import "time"

// Options say how to reach one machine.
type Options struct {
	// Address is host:port.
	Address string
	// User is the login name.
	User string
	// Password, when set, is offered for password and keyboard-interactive login.
	Password []byte
	// PrivateKey (PEM or OpenSSH format), when set, is offered first; Passphrase unlocks
	// an encrypted key.
	PrivateKey, Passphrase []byte
	// HostKeys checks the server's host key; build it with KnownHosts.
	HostKeys *KnownHosts
	// DialTimeout bounds the TCP connect plus the SSH handshake and login: a machine that
	// is down, or a port that accepts and never answers, fails after it instead of after
	// the operating system's TCP timeout.
	DialTimeout time.Duration
	// CommandTimeout bounds each command; a command still running after it is killed
	// and reported as a *TimeoutError.
	CommandTimeout time.Duration
}

// DefaultOptions returns the timeouts gitfleet uses: long enough for a loaded machine
// over a slow link, short enough that a check of a whole fleet is not held up for
// minutes by one host.
func DefaultOptions() Options {
	return Options{DialTimeout: 10 * time.Second, CommandTimeout: 30 * time.Second}
}
