package sshrun

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"

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

// algorithms lists the host key algorithms of the keys known_hosts holds for address.
// Offering only those makes a server with several host keys present the one we know:
// otherwise a server pinned by its Ed25519 key could present its ECDSA key and look
// changed. The keys are found by checking a throwaway key, which knownhosts answers with
// the keys it wants. An unknown host gets the default list, so the error can name the key
// it presents.
func (k *KnownHosts) algorithms(address string) []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := k.callback(address, &net.TCPAddr{IP: net.IPv4zero}, probe); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		names := []string{w.Key.Type()}
		if names[0] == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}
