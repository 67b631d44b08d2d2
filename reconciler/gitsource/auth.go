package gitsource

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"gitfleet.dev/gitfleet/reconciler/hostkeys"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// credentials turn Options.Auth into a go-git AuthMethod for each network operation.
type credentials struct {
	http *githttp.BasicAuth // nil: anonymous HTTP, a file:// or a git:// remote
	ssh  *sshAuth
}

// method returns the AuthMethod of one operation and, for SSH, the record of what the
// server did during the handshake (see classify).
func (c credentials) method() (transport.AuthMethod, *sshAttempt) {
	switch {
	case c.ssh != nil:
		at := &sshAttempt{}
		return c.ssh.method(at), at
	case c.http != nil:
		return c.http, nil
	}
	return nil, nil
}

func newCredentials(ep *transport.Endpoint, a Auth, timeout time.Duration) (credentials, error) {
	switch ep.Protocol {
	case "file":
		if a.Token != "" || len(a.SSHKey) > 0 {
			return credentials{}, errors.New("a file:// repository takes no token or SSH key")
		}
		return credentials{}, nil
	case "http", "https":
		if len(a.SSHKey) > 0 {
			return credentials{}, fmt.Errorf("an %s:// repository takes a token, not an SSH key", ep.Protocol)
		}
		if a.Token == "" {
			return credentials{}, nil // a public repository
		}
		user := a.Username
		if user == "" {
			user = "git"
		}
		return credentials{http: &githttp.BasicAuth{Username: user, Password: a.Token}}, nil
	case "git":
		// The git protocol (git daemon) has no authentication and no encryption: anyone
		// who can reach the port reads the fleet, and pushes if the daemon allows them.
		// A credential here would be sent nowhere, so it is refused rather than ignored.
		if a.Token != "" || len(a.SSHKey) > 0 {
			return credentials{}, errors.New("a git:// repository takes no token or SSH key (the git protocol has no authentication; use https:// or ssh:// to authenticate)")
		}
		return credentials{}, nil
	case "ssh":
		s, err := newSSHAuth(ep, a, timeout)
		return credentials{ssh: s}, err
	}
	return credentials{}, fmt.Errorf("unsupported scheme %q (want file, https, http, ssh or git)", ep.Protocol)
}

// sshAuth is a private key plus the known_hosts that vouch for the server.
type sshAuth struct {
	user       string
	signer     ssh.Signer
	hostKeys   ssh.HostKeyCallback
	algorithms []string
	timeout    time.Duration
}

// sshAttempt records one connection's handshake. x/crypto reports a refused key only as
// text, so classify reads this record instead: the host key was checked and the server
// never asked us to sign means it did not accept our key.
type sshAttempt struct {
	hostKeyErr  atomic.Pointer[HostKeyError]
	hostKeyOK   atomic.Bool
	keyAccepted atomic.Bool
}

func newSSHAuth(ep *transport.Endpoint, a Auth, timeout time.Duration) (*sshAuth, error) {
	if a.Token != "" {
		return nil, errors.New("an ssh repository takes an SSH key, not a token")
	}
	if len(a.SSHKey) == 0 {
		return nil, errors.New("an ssh repository needs an SSH private key")
	}
	signer, err := ssh.ParsePrivateKey(a.SSHKey)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(a.SSHPassphrase) == 0 {
			return nil, errors.New("the SSH key is encrypted and no passphrase was given")
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(a.SSHKey, a.SSHPassphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing the SSH private key: %w", err)
	}
	hostKeys, err := parseKnownHosts(a.KnownHosts)
	if err != nil {
		return nil, err
	}
	user := ep.User
	if user == "" {
		user = a.Username
	}
	if user == "" {
		user = gitssh.DefaultUsername
	}
	port := ep.Port
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	return &sshAuth{
		user:       user,
		signer:     signer,
		hostKeys:   hostKeys,
		algorithms: hostkeys.Algorithms(hostKeys, net.JoinHostPort(ep.Host, strconv.Itoa(port))),
		timeout:    timeout,
	}, nil
}

// parseKnownHosts builds the host key check from known_hosts content. x/crypto reads
// known_hosts only from files, and reads them once, so the content goes through a
// temporary file that is removed at once.
func parseKnownHosts(content []byte) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "gitfleet-known_hosts-*")
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("parsing known_hosts: %w", err)
	}
	return cb, nil
}

func (a *sshAuth) method(at *sshAttempt) transport.AuthMethod {
	signer := a.signer
	if as, ok := signer.(ssh.AlgorithmSigner); ok {
		signer = acceptProbe{AlgorithmSigner: as, accepted: &at.keyAccepted}
	}
	return sshMethod{
		PublicKeys: &gitssh.PublicKeys{
			User:   a.user,
			Signer: signer,
			HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{
				HostKeyCallback:   a.checkHostKey(at),
				HostKeyAlgorithms: a.algorithms,
			},
		},
		timeout: a.timeout,
	}
}

// checkHostKey checks the presented key against known_hosts and turns a refusal into a
// *HostKeyError that names the key, so an operator can compare fingerprints.
func (a *sshAuth) checkHostKey(at *sshAttempt) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := a.hostKeys(host, remote, key)
		if err == nil {
			at.hostKeyOK.Store(true)
			return nil
		}
		hke := &HostKeyError{
			Host:        knownhosts.Normalize(host),
			Fingerprint: ssh.FingerprintSHA256(key),
			KeyType:     key.Type(),
			Reason:      HostKeyUnknown,
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			hke.Reason = HostKeyRevoked
		case errors.As(err, &ke):
			if len(ke.Want) > 0 {
				hke.Reason = HostKeyChanged
			}
		default:
			return err
		}
		at.hostKeyErr.Store(hke)
		return hke
	}
}

// sshMethod adds the connect timeout that go-git's PublicKeys leaves out.
type sshMethod struct {
	*gitssh.PublicKeys
	timeout time.Duration
}

var _ gitssh.AuthMethod = sshMethod{}

func (m sshMethod) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := m.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = m.timeout
	return cfg, nil
}

// acceptProbe notes that the server asked for a signature, which x/crypto does only after
// the server said it accepts the key. It stays an AlgorithmSigner so that RSA keys still
// sign with rsa-sha2-*.
type acceptProbe struct {
	ssh.AlgorithmSigner
	accepted *atomic.Bool
}

func (p acceptProbe) Sign(r io.Reader, data []byte) (*ssh.Signature, error) {
	p.accepted.Store(true)
	return p.AlgorithmSigner.Sign(r, data)
}

func (p acceptProbe) SignWithAlgorithm(r io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	p.accepted.Store(true)
	return p.AlgorithmSigner.SignWithAlgorithm(r, data, algorithm)
}
