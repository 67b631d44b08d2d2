package sshrun

import (
	"errors"
	"fmt"
	"net"

	"gitfleet.dev/gitfleet/reconciler/hostkeys"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// KnownHosts checks host keys against a known_hosts file (OpenSSH format, hashed
// entries and [host]:port included).
type KnownHosts struct {
	path     string
	callback ssh.HostKeyCallback
}

// LoadKnownHosts reads a known_hosts file.
func LoadKnownHosts(path string) (*KnownHosts, error) {
	cb, err := knownhosts.New(path)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts %s: %w", path, err)
	}
	return &KnownHosts{path: path, callback: cb}, nil
}

// check is the ssh.HostKeyCallback: knownhosts' verdict, turned into a *HostKeyError
// that carries the presented key's fingerprint.
func (k *KnownHosts) check(address string) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := k.callback(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			return &HostKeyError{
				Address:     address,
				KnownHosts:  k.path,
				Fingerprint: ssh.FingerprintSHA256(key),
				KeyType:     key.Type(),
				Changed:     len(ke.Want) > 0,
			}
		}
		return err
	}
}

// algorithms lists the host key algorithms of the keys known_hosts holds for address
// (see hostkeys.Algorithms).
func (k *KnownHosts) algorithms(address string) []string {
	return hostkeys.Algorithms(k.callback, address)
}
