// Package sshrun runs fixed commands on fleet machines over SSH.
//
// Every connection checks the machine's host key against a known_hosts file: a host that
// is not listed, or whose key changed, is refused with the SHA256 fingerprint of the key
// it presented, so that an operator can compare it out of band before adding it. There is
// no "accept on first use".
//
// Credentials (a password, or a private key and its passphrase) are given as bytes by the
// caller, which resolves them from references outside the repository. Commands are
// strings chosen by gitfleet's own code; callers must never build them from fleet
// fields (see machines.Probe), so nothing a repository author writes reaches a shell.
//
// Each step is bounded: the TCP connect and the SSH handshake by DialTimeout, each
// command by CommandTimeout. A command that hangs is abandoned (its session is sent KILL
// and closed) and reported as a *TimeoutError; a server that accepts TCP but never speaks
// SSH fails the dial after DialTimeout.
package sshrun
