package gitsource

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/google/go-cmp/cmp"
)

// remote is one way of reaching a test repository.
type remote struct {
	name string
	opts func(t *testing.T, r *fleetRepo) Options
}

const testToken = "s3cr3t-token-value"

// transports reaches the same bare repository over file://, HTTP with a token, SSH
// with a key and known_hosts, and git:// (git daemon, no credentials).
var transports = []remote{
	{"file", func(t *testing.T, r *fleetRepo) Options {
		o := testOptions(t)
		o.URL = "file://" + r.bare
		return o
	}},
	{"http", func(t *testing.T, r *fleetRepo) Options {
		srv := serveHTTP(t, r.root, testToken)
		o := testOptions(t)
		o.URL = srv.URL + "/fleet.git"
		o.Auth = Auth{Token: testToken}
		return o
	}},
	{"ssh", func(t *testing.T, r *fleetRepo) Options {
		key, pub := newClientKey(t, "")
		srv := serveSSH(t, r.root, pub)
		o := testOptions(t)
		o.URL = srv.url()
		o.Auth = Auth{SSHKey: key, KnownHosts: srv.knownHosts(srv.hostKeys[0].PublicKey())}
		return o
	}},
	{"git", func(t *testing.T, r *fleetRepo) Options {
		o := testOptions(t)
		o.URL = serveGitDaemon(t, r.root)
		return o
	}},
}

func testOptions(t *testing.T) Options {
	o := DefaultOptions()
	o.CacheDir = filepath.Join(t.TempDir(), "cache")
	o.Timeout = 20 * time.Second
	return o
}

func mustNew(t *testing.T, o Options) *Source {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustFetch(t *testing.T, s *Source) string {
	t.Helper()
	head, err := s.Fetch(context.Background())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return head
}

func TestFetchClonesThenSeesNewCommit(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r := newFleetRepo(t)
			o := tr.opts(t, r)
			s := mustNew(t, o)
			if got, want := mustFetch(t, s), r.head(t, "main"); got != want {
				t.Fatalf("first fetch: head %s, want %s", got, want)
			}
			next := r.commit(t, "web: two replicas", map[string]string{"apps/web/app.yaml": "kind: App\nname: web\nreplicas: 2\n"})
			if got := mustFetch(t, s); got != next {
				t.Fatalf("second fetch: head %s, want the new commit %s", got, next)
			}
			if got := mustFetch(t, s); got != next {
				t.Fatalf("fetch with nothing new: head %s, want %s", got, next)
			}
			// A restart reuses the cache: the revision is readable before any fetch.
			again := mustNew(t, o)
			if _, err := again.Snapshot(context.Background(), next); err != nil {
				t.Fatalf("snapshot from the reused cache: %v", err)
			}
			if got := mustFetch(t, again); got != next {
				t.Fatalf("fetch after restart: head %s, want %s", got, next)
			}
		})
	}
}

func TestSnapshotOfRevision(t *testing.T) {
	r := newFleetRepo(t)
	first := r.head(t, "main")
	second := r.commit(t, "add cluster b, drop web", map[string]string{
		"clusters/b.yaml":   "kind: Cluster\nname: b\n",
		"apps/web/app.yaml": "",
	})
	s := mustNew(t, transports[0].opts(t, r))
	mustFetch(t, s)

	for _, tc := range []struct {
		rev  string
		want []string
	}{
		{first, []string{"apps/web/app.yaml", "clusters/a.yaml", "fleet.yaml", "status/README.md", "status/clusters/a.yaml"}},
		{second, []string{"clusters/a.yaml", "clusters/b.yaml", "fleet.yaml", "status/README.md", "status/clusters/a.yaml"}},
		{"", []string{"clusters/a.yaml", "clusters/b.yaml", "fleet.yaml", "status/README.md", "status/clusters/a.yaml"}},
	} {
		files, err := s.Snapshot(context.Background(), tc.rev)
		if err != nil {
			t.Fatalf("Snapshot(%q): %v", tc.rev, err)
		}
		var got []string
		if err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				got = append(got, p)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Snapshot(%q) files (-want +got):\n%s", tc.rev, diff)
		}
	}
	files, err := s.Snapshot(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(files, "apps/web/app.yaml")
	if err != nil || string(data) != "kind: App\nname: web\n" {
		t.Fatalf("apps/web/app.yaml at %s: %q, %v", first, data, err)
	}
	if _, err := s.Snapshot(context.Background(), "0123456789012345678901234567890123456789"); err == nil {
		t.Fatal("Snapshot of a commit that does not exist: no error")
	}
}

func TestChangedPathsTellsStatusOnly(t *testing.T) {
	r := newFleetRepo(t)
	s := mustNew(t, transports[0].opts(t, r))
	rendered := mustFetch(t, s)

	statusCommit, changed, err := s.WriteStatus(context.Background(), map[string][]byte{
		"status/clusters/a.yaml": []byte("phase: Applied\n"),
		"status/clusters/b.yaml": []byte("phase: Applied\n"),
	}, "status: a and b applied", DefaultStatusOptions())
	if err != nil || !changed {
		t.Fatalf("WriteStatus: %s, %v, %v", statusCommit, changed, err)
	}
	head := mustFetch(t, s)
	if head != statusCommit {
		t.Fatalf("head after the status commit: %s, want %s", head, statusCommit)
	}
	paths, err := s.ChangedPaths(context.Background(), rendered, head)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"status/clusters/a.yaml", "status/clusters/b.yaml"}, paths); diff != "" {
		t.Errorf("ChangedPaths of a status commit (-want +got):\n%s", diff)
	}
	if !StatusOnly(paths) {
		t.Errorf("StatusOnly(%v) = false, want true: a status commit must not re-render", paths)
	}

	person := r.commit(t, "web: port 8080", map[string]string{"apps/web/app.yaml": "kind: App\nname: web\nport: 8080\n"})
	head = mustFetch(t, s)
	paths, err = s.ChangedPaths(context.Background(), rendered, head)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"apps/web/app.yaml", "status/clusters/a.yaml", "status/clusters/b.yaml"}, paths); diff != "" {
		t.Errorf("ChangedPaths across a status and a person's commit (-want +got):\n%s", diff)
	}
	if StatusOnly(paths) {
		t.Errorf("StatusOnly(%v) = true after %s changed an app", paths, person)
	}
	all, err := s.ChangedPaths(context.Background(), "", rendered)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Errorf("ChangedPaths from nothing: %v, want every file of the first commit", all)
	}
}

func TestFetchMissingBranch(t *testing.T) {
	r := newFleetRepo(t)
	o := transports[0].opts(t, r)
	o.Branch = "release"
	s := mustNew(t, o)
	_, err := s.Fetch(context.Background())
	if !errors.Is(err, ErrBranchNotFound) {
		t.Fatalf("Fetch of a missing branch: %v, want ErrBranchNotFound", err)
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		t.Fatalf("a missing branch is not a network error: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	key, _ := newClientKey(t, "")
	encrypted, _ := newClientKey(t, "pass phrase")
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no url", Options{Branch: "main"}, "no repository URL"},
		{"no branch", Options{URL: "file:///srv/fleet.git"}, "no branch"},
		{"bad branch", Options{URL: "file:///srv/fleet.git", Branch: "a..b"}, "branch"},
		{"token in url", Options{URL: "https://git:" + testToken + "@example.com/fleet.git", Branch: "main"}, "Auth.Token"},
		{"ssh without key", Options{URL: "ssh://git@example.com/fleet.git", Branch: "main"}, "needs an SSH private key"},
		{"scp-like without key", Options{URL: "git@example.com:fleet.git", Branch: "main"}, "needs an SSH private key"},
		{"ssh with token", Options{URL: "git@example.com:fleet.git", Branch: "main", Auth: Auth{Token: testToken}}, "not a token"},
		{"https with key", Options{URL: "https://example.com/fleet.git", Branch: "main", Auth: Auth{SSHKey: key}}, "not an SSH key"},
		{"encrypted key without passphrase", Options{URL: "git@example.com:fleet.git", Branch: "main", Auth: Auth{SSHKey: encrypted}}, "no passphrase"},
		{"wrong passphrase", Options{URL: "git@example.com:fleet.git", Branch: "main", Auth: Auth{SSHKey: encrypted, SSHPassphrase: []byte("nope")}}, "parsing the SSH private key"},
		{"bad known_hosts", Options{URL: "git@example.com:fleet.git", Branch: "main", Auth: Auth{SSHKey: key, KnownHosts: []byte("example.com ssh-ed25519 !!!\n")}}, "known_hosts"},
		{"file with token", Options{URL: "file:///srv/fleet.git", Branch: "main", Auth: Auth{Token: testToken}}, "no token"},
		{"git protocol with token", Options{URL: "git://example.com/fleet.git", Branch: "main", Auth: Auth{Token: testToken}}, "no authentication"},
		{"git protocol with key", Options{URL: "git://example.com/fleet.git", Branch: "main", Auth: Auth{SSHKey: key}}, "no authentication"},
		{"unknown scheme", Options{URL: "ftp://example.com/fleet.git", Branch: "main"}, "unsupported scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
	// The scp-like form with a key and known_hosts is accepted (no network in New).
	if _, err := New(Options{URL: "git@example.com:fleet.git", Branch: "main", Auth: Auth{SSHKey: key}}); err != nil {
		t.Fatalf("scp-like URL with a key: %v", err)
	}
	if _, err := New(Options{URL: "git@example.com:fleet.git", Branch: "main", Auth: Auth{SSHKey: encrypted, SSHPassphrase: []byte("pass phrase")}}); err != nil {
		t.Fatalf("encrypted key with its passphrase: %v", err)
	}
}

func TestAuthStringHidesSecrets(t *testing.T) {
	key, _ := newClientKey(t, "")
	a := Auth{Token: testToken, SSHKey: key, SSHPassphrase: []byte("pass phrase")}
	o := DefaultOptions()
	o.Auth = a
	for _, s := range []string{a.String(), fmtV(a), fmtV(o), fmtSharpV(a)} {
		if strings.Contains(s, testToken) || strings.Contains(s, "pass phrase") || strings.Contains(s, "PRIVATE KEY") {
			t.Errorf("credentials printed: %s", s)
		}
	}
}

func fmtV(v any) string      { return fmt.Sprintf("%+v", v) }
func fmtSharpV(v any) string { return fmt.Sprintf("%#v", v) }

func TestInMemoryCache(t *testing.T) {
	r := newFleetRepo(t)
	o := transports[0].opts(t, r)
	o.CacheDir = ""
	s := mustNew(t, o)
	head := mustFetch(t, s)
	if _, err := s.Snapshot(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x\n")}, "status", DefaultStatusOptions()); err != nil || !changed {
		t.Fatalf("WriteStatus from memory: %v, %v", changed, err)
	}
}

func TestCacheDirThatIsNotARepository(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.URL, o.CacheDir = "file:///srv/fleet.git", dir
	if _, err := New(o); err == nil {
		t.Fatal("New with a non-empty directory that is not a repository as cache: no error")
	}
}

// An https:// forge with a private CA is trusted through CABundle, and only then.
func TestHTTPSWithCABundle(t *testing.T) {
	r := newFleetRepo(t)
	plain := serveHTTP(t, r.root, testToken)
	srv := httptest.NewTLSServer(plain.Config.Handler)
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	o := testOptions(t)
	o.URL, o.Auth = srv.URL+"/fleet.git", Auth{Token: testToken}
	if _, err := mustNew(t, o).Fetch(context.Background()); err == nil {
		t.Fatal("Fetch from a server with an untrusted certificate: no error")
	}
	o.CABundle = ca
	s := mustNew(t, o)
	if got, want := mustFetch(t, s), r.head(t, "main"); got != want {
		t.Fatalf("Fetch: %s, want %s", got, want)
	}
	if _, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x\n")}, "status", DefaultStatusOptions()); err != nil || !changed {
		t.Fatalf("WriteStatus over https: %v, %v", changed, err)
	}
}

// A git daemon's refusals say what to change in how the daemon runs.
func TestGitDaemonRefusalsExplained(t *testing.T) {
	r := newFleetRepo(t)
	o := testOptions(t)
	o.URL = serveGitDaemon(t, r.root)

	missing := o
	missing.URL = strings.TrimSuffix(o.URL, "fleet.git") + "nope.git"
	missing.CacheDir = filepath.Join(t.TempDir(), "cache")
	_, err := mustNew(t, missing).Fetch(context.Background())
	if !errors.Is(err, transport.ErrRepositoryNotFound) || !strings.Contains(err.Error(), "--export-all") {
		t.Fatalf("Fetch of a repository the daemon does not serve: %v, want repository not found with the daemon's export rules", err)
	}

	before := r.head(t, "main")
	runGit(t, r.bare, "config", "daemon.receivepack", "false") // this repository takes no pushes
	s := mustNew(t, o)
	mustFetch(t, s)
	_, changed, err := s.WriteStatus(context.Background(), map[string][]byte{"status/a.yaml": []byte("x\n")}, "status", testStatusOptions())
	if err == nil || changed || !strings.Contains(err.Error(), "--enable=receive-pack") {
		t.Fatalf("WriteStatus to a git daemon that takes no pushes: changed %v, %v; want an error naming --enable=receive-pack", changed, err)
	}
	if got := r.head(t, "main"); got != before {
		t.Fatalf("the branch moved to %s", got)
	}
}
