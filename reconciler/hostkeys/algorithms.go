// Package hostkeys holds what gitfleet's two SSH clients (git over SSH in
// reconciler/gitsource, the machine checks in reconciler/machines/sshrun) share about
// checking host keys against known_hosts.
package hostkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Algorithms lists the host key algorithms of the keys that known (a
// knownhosts.New callback) holds for hostport. Offering only those makes a server with
// several host keys present one that can be checked: otherwise a server with ECDSA and
// Ed25519 keys, pinned by its Ed25519 key, would present the ECDSA one and look
// "changed". The keys are found by checking a throwaway key, which knownhosts answers with
// the keys it wants. An unknown host gets nil (the client's default list), so that the
// error can name the key it presents.
func Algorithms(known ssh.HostKeyCallback, hostport string) []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := known(hostport, &net.TCPAddr{IP: net.IPv4zero}, probe); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	for _, k := range ke.Want {
		if t := k.Key.Type(); t == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		} else {
			add(t)
		}
	}
	return algos
}
