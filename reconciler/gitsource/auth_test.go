package gitsource

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestHTTPTokenIsChecked(t *testing.T) {
	r := newFleetRepo(t)
	srv := serveHTTP(t, r.root, testToken)
	for _, tc := range []struct {
		name string
		auth Auth
	}{
		{"no token", Auth{}},
		{"wrong token", Auth{Token: "not-" + testToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.URL = srv.URL + "/fleet.git"
			o.Auth = tc.auth
			s := mustNew(t, o)
			_, err := s.Fetch(context.Background())
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("Fetch: %v, want an AuthError", err)
			}
			if tc.auth.Token != "" && strings.Contains(err.Error(), tc.auth.Token) {
				t.Fatalf("the error shows the token: %v", err)
			}
			_, _, err = s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x")}, "status", testStatusOptions())
			if !errors.As(err, &ae) {
				t.Fatalf("WriteStatus: %v, want an AuthError", err)
			}
		})
	}
	t.Run("custom username", func(t *testing.T) {
		o := testOptions(t)
		o.URL = srv.URL + "/fleet.git"
		o.Auth = Auth{Username: "oauth2", Token: testToken}
		if got, want := mustFetch(t, mustNew(t, o)), r.head(t, "main"); got != want {
			t.Fatalf("Fetch: %s, want %s", got, want)
		}
	})
}

func TestSSHHostKeys(t *testing.T) {
	r := newFleetRepo(t)
	key, pub := newClientKey(t, "")
	srv := serveSSH(t, r.root, pub)
	presented := srv.hostKeys[0].PublicKey()
	fingerprint := ssh.FingerprintSHA256(presented)
	hostIP, port, _ := net.SplitHostPort(srv.addr)
	host := "[" + hostIP + "]:" + port // as known_hosts names a host on a port other than 22

	fetch := func(knownHosts []byte) error {
		o := testOptions(t)
		o.URL = srv.url()
		o.Auth = Auth{SSHKey: key, KnownHosts: knownHosts}
		_, err := mustNew(t, o).Fetch(context.Background())
		return err
	}
	t.Run("known key passes", func(t *testing.T) {
		if err := fetch(srv.knownHosts(presented)); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
	})
	for _, tc := range []struct {
		name       string
		knownHosts []byte
		reason     HostKeyReason
	}{
		{"different key is refused", srv.knownHosts(newSigner(t).PublicKey()), HostKeyChanged},
		{"empty known_hosts is refused", nil, HostKeyUnknown},
		{"other hosts only is refused", []byte("example.com " + string(ssh.MarshalAuthorizedKey(presented))), HostKeyUnknown},
		{"revoked key is refused", []byte("@revoked * " + string(ssh.MarshalAuthorizedKey(presented))), HostKeyRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fetch(tc.knownHosts)
			var he *HostKeyError
			if !errors.As(err, &he) {
				t.Fatalf("Fetch: %v, want a HostKeyError", err)
			}
			want := HostKeyError{Host: host, Fingerprint: fingerprint, KeyType: presented.Type(), Reason: tc.reason}
			if *he != want {
				t.Fatalf("HostKeyError %+v, want %+v", *he, want)
			}
			if !strings.Contains(err.Error(), fingerprint) || !strings.Contains(err.Error(), host) {
				t.Fatalf("error %q does not name the host and the fingerprint %s", err, fingerprint)
			}
		})
	}
}

// A server with two host keys, pinned by the one it would not present first, still passes:
// only the pinned key's algorithm is offered.
func TestSSHOffersOnlyKnownHostKeyAlgorithms(t *testing.T) {
	r := newFleetRepo(t)
	key, pub := newClientKey(t, "")
	rsaKey := newRSASigner(t)
	edKey := newSigner(t)
	srv := serveSSH(t, r.root, pub, rsaKey, edKey)
	for _, pinned := range []ssh.Signer{rsaKey, edKey} {
		o := testOptions(t)
		o.URL = srv.url()
		o.Auth = Auth{SSHKey: key, KnownHosts: srv.knownHosts(pinned.PublicKey())}
		if _, err := mustNew(t, o).Fetch(context.Background()); err != nil {
			t.Fatalf("pinned %s: Fetch: %v", pinned.PublicKey().Type(), err)
		}
	}
}

func TestSSHKeys(t *testing.T) {
	r := newFleetRepo(t)
	encrypted, pub := newClientKey(t, "pass phrase")
	srv := serveSSH(t, r.root, pub)
	o := testOptions(t)
	o.URL = srv.url()
	o.Auth = Auth{SSHKey: encrypted, SSHPassphrase: []byte("pass phrase"), KnownHosts: srv.knownHosts(srv.hostKeys[0].PublicKey())}
	if _, err := mustNew(t, o).Fetch(context.Background()); err != nil {
		t.Fatalf("Fetch with an encrypted key: %v", err)
	}

	other, _ := newClientKey(t, "")
	o = testOptions(t)
	o.URL = srv.url()
	o.Auth = Auth{SSHKey: other, KnownHosts: srv.knownHosts(srv.hostKeys[0].PublicKey())}
	_, err := mustNew(t, o).Fetch(context.Background())
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("Fetch with a key the server does not accept: %v, want an AuthError", err)
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		t.Fatalf("a refused key is not a network error: %v", err)
	}
}

func TestServerDownIsNetworkError(t *testing.T) {
	r := newFleetRepo(t)
	httpSrv := serveHTTP(t, r.root, testToken)
	httpURL := httpSrv.URL + "/fleet.git"
	httpSrv.Close()

	key, pub := newClientKey(t, "")
	sshSrv := serveSSH(t, r.root, pub)
	sshKnown := sshSrv.knownHosts(sshSrv.hostKeys[0].PublicKey())
	sshSrv.close()

	// A server that accepts connections and never answers: only the timeout ends it.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hang.Close()

	for _, tc := range []struct {
		name    string
		url     string
		auth    Auth
		timeout time.Duration
	}{
		{"http refused", httpURL, Auth{Token: testToken}, 5 * time.Second},
		{"ssh refused", sshSrv.url(), Auth{SSHKey: key, KnownHosts: sshKnown}, 5 * time.Second},
		{"http timeout", hang.URL + "/fleet.git", Auth{Token: testToken}, 300 * time.Millisecond},
		{"unknown host", "https://gitfleet-test.invalid/fleet.git", Auth{Token: testToken}, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.URL, o.Auth, o.Timeout = tc.url, tc.auth, tc.timeout
			s := mustNew(t, o)
			_, err := s.Fetch(context.Background())
			var ne *NetworkError
			if !errors.As(err, &ne) {
				t.Fatalf("Fetch: %v, want a NetworkError", err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("the error shows the token: %v", err)
			}
			_, _, err = s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x")}, "status", testStatusOptions())
			if !errors.As(err, &ne) {
				t.Fatalf("WriteStatus: %v, want a NetworkError", err)
			}
		})
	}
}

func TestMissingRepositoryIsNotNetworkError(t *testing.T) {
	o := testOptions(t)
	o.URL = "file://" + t.TempDir() + "/nothing.git"
	_, err := mustNew(t, o).Fetch(context.Background())
	var ne *NetworkError
	if err == nil || errors.As(err, &ne) {
		t.Fatalf("Fetch of a missing repository: %v, want an error that is not a NetworkError", err)
	}
}
