package gitsource

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The test servers below are real git over real transports: the git binary's own
// upload-pack, receive-pack and http-backend, behind an HTTP token check or an in-process
// SSH server with public-key auth, and git's own daemon for git://.

const gitBin = "/usr/bin/git"

// gitEnv keeps the machine's and the user's git configuration out of the tests.
func gitEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Pat Person", "GIT_AUTHOR_EMAIL=pat@example.com",
		"GIT_COMMITTER_NAME=Pat Person", "GIT_COMMITTER_EMAIL=pat@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gitBin, args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// fleetRepo is a bare repository on disk (the "server") plus a person's clone of it.
type fleetRepo struct {
	root string // directory that serves the bare repository as /fleet.git
	bare string
	work string // a person's clone
}

func newFleetRepo(t *testing.T) *fleetRepo {
	t.Helper()
	root := t.TempDir()
	r := &fleetRepo{root: root, bare: filepath.Join(root, "fleet.git"), work: filepath.Join(t.TempDir(), "work")}
	runGit(t, root, "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	// Pushes over HTTP are off unless enabled; the server refuses non-fast-forward updates,
	// so an accidental force push would fail the tests rather than pass unnoticed.
	runGit(t, r.bare, "config", "http.receivepack", "true")
	runGit(t, r.bare, "config", "receive.denyNonFastForwards", "true")
	runGit(t, r.bare, "config", "receive.denyDeletes", "true")
	runGit(t, filepath.Dir(r.work), "clone", "--quiet", r.bare, r.work)
	runGit(t, r.work, "checkout", "--quiet", "-b", "main")
	r.commitNoPull(t, "fleet: first", map[string]string{
		"fleet.yaml":             "kind: Fleet\n",
		"clusters/a.yaml":        "kind: Cluster\nname: a\n",
		"apps/web/app.yaml":      "kind: App\nname: web\n",
		"status/README.md":       "status written by gitfleet\n",
		"status/clusters/a.yaml": "phase: Pending\n",
	})
	runGit(t, r.work, "push", "--quiet", "origin", "HEAD:main")
	return r
}

// commit writes files in the person's clone (empty content deletes), commits, pushes to
// main and returns the new head.
func (r *fleetRepo) commit(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	runGit(t, r.work, "pull", "--quiet", "--ff-only", "origin", "main")
	r.commitNoPull(t, msg, files)
	runGit(t, r.work, "push", "--quiet", "origin", "HEAD:main")
	return r.head(t, "main")
}

func (r *fleetRepo) commitNoPull(t *testing.T, msg string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(r.work, filepath.FromSlash(p))
		if content == "" {
			if err := os.Remove(full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, r.work, "add", "-A")
	runGit(t, r.work, "commit", "--quiet", "-m", msg)
}

// head is a branch's head in the bare repository.
func (r *fleetRepo) head(t *testing.T, branch string) string {
	t.Helper()
	return runGit(t, r.bare, "rev-parse", "refs/heads/"+branch)
}

// show returns a file of a revision in the bare repository.
func (r *fleetRepo) show(t *testing.T, rev, path string) string {
	t.Helper()
	return runGit(t, r.bare, "show", rev+":"+path)
}

// serveHTTP serves root with git http-backend behind a token check, as a forge would.
func serveHTTP(t *testing.T, root, token string) *httptest.Server {
	t.Helper()
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="fleet"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sshServer runs git-upload-pack and git-receive-pack on the repositories under root for
// clients that authenticate with the one accepted key.
type sshServer struct {
	addr     string
	hostKeys []ssh.Signer
	ln       net.Listener
	wg       sync.WaitGroup
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newClientKey returns an OpenSSH private key (encrypted when passphrase is not empty)
// and its public key.
func newClientKey(t *testing.T, passphrase string) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "gitfleet test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "gitfleet test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

func serveSSH(t *testing.T, root string, clientKey ssh.PublicKey, hostKeys ...ssh.Signer) *sshServer {
	t.Helper()
	if len(hostKeys) == 0 {
		hostKeys = []ssh.Signer{newSigner(t)}
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if subtle.ConstantTimeCompare(key.Marshal(), clientKey.Marshal()) == 1 {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range hostKeys {
		cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshServer{addr: ln.Addr().String(), hostKeys: hostKeys, ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serveConn(conn, cfg, root)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sshServer) close() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *sshServer) url() string { return "ssh://git@" + s.addr + "/fleet.git" }

// knownHosts returns a known_hosts line for this server with the given key.
func (s *sshServer) knownHosts(key ssh.PublicKey) []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, key) + "\n")
}

func (s *sshServer) serveConn(conn net.Conn, cfg *ssh.ServerConfig, root string) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			serveSession(ch, chReqs, root)
		}()
	}
}

func serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, root string) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil) // env (GIT_PROTOCOL) and the rest: not needed
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			return
		}
		verb, arg, _ := strings.Cut(payload.Command, " ")
		repo := filepath.Join(root, filepath.Clean("/"+strings.Trim(arg, "'")))
		if verb != "git-upload-pack" && verb != "git-receive-pack" {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		cmd := exec.Command(gitBin, strings.TrimPrefix(verb, "git-"), repo)
		cmd.Env = gitEnv(root)
		cmd.Stdout = ch
		cmd.Stderr = ch.Stderr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		status := uint32(0)
		if err := cmd.Start(); err != nil {
			status = 127
		} else {
			go func() {
				io.Copy(stdin, ch)
				stdin.Close()
			}()
			if err := cmd.Wait(); err != nil {
				status = 1
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					status = uint32(ee.ExitCode())
				}
			}
		}
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

func newRSASigner(t *testing.T) ssh.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serveGitDaemon runs git daemon (git's own server of the git:// protocol) on the
// repositories under root, with pushes enabled, and returns the git:// URL of fleet.git.
// A machine without git daemon fails the test: git:// support is only tested against it.
func serveGitDaemon(t *testing.T, root string) string {
	t.Helper()
	daemon := filepath.Join(runGit(t, root, "--exec-path"), "git-daemon")
	if _, err := os.Stat(daemon); err != nil {
		t.Fatalf("the git:// tests need git daemon, which is not installed here (%v); "+
			"it ships with git itself (Debian and Ubuntu: the git package, %s)", err, daemon)
	}
	// The port is picked by the kernel and handed to git daemon, which can lose it to
	// another process in between; a daemon that exits at once is started again.
	var last string
	for try := 0; try < 5; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		var out bytes.Buffer
		cmd := exec.Command(daemon, "--listen=127.0.0.1", "--port="+strconv.Itoa(port), "--reuseaddr",
			"--base-path="+root, "--export-all", "--enable=receive-pack", "--informative-errors", root)
		cmd.Env = gitEnv(root)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting git daemon: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if waitListening(addr, exited) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return "git://" + addr + "/fleet.git"
		}
		cmd.Process.Kill()
		<-exited
		last = out.String()
	}
	t.Fatalf("git daemon did not start listening:\n%s", last)
	return ""
}

// waitListening waits until addr accepts connections, false if the process exits first.
func waitListening(addr string, exited <-chan error) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
