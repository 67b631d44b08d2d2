package sshtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHD is the OpenSSH server the tests start (`make sysdeps` installs it).
const SSHD = "/usr/sbin/sshd"

// OpenSSH is a running sshd.
type OpenSSH struct {
	Addr    string
	HostKey ssh.PublicKey
	// PrivateKey is the key (OpenSSH PEM) the server accepts for User.
	PrivateKey []byte
	User       string
}

// StartOpenSSH starts Debian's sshd on a free loopback port with its own configuration,
// host key and authorized key in a temporary directory, accepting only public-key login
// for the user running the test (root here and in CI). It fails the test with what is
// missing when sshd cannot run.
func StartOpenSSH(t testing.TB) *OpenSSH {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		t.Fatalf("%s is missing (%v): install openssh-server (make sysdeps)", SSHD, err)
	}
	// Privilege separation needs this directory; Debian's package creates it at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshd needs /run/sshd: %v", err)
	}
	dir := t.TempDir()
	hostKeyPEM, hostSigner := NewPrivateKeyPEM(t)
	hostKeyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(hostKeyPath, hostKeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	clientPEM, clientSigner := NewPrivateKeyPEM(t)
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(clientSigner.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	user := os.Getenv("USER")
	if user == "" {
		out, err := exec.Command("id", "-un").Output()
		if err != nil {
			t.Fatalf("who runs the test: %v", err)
		}
		user = strings.TrimSpace(string(out))
	}
	port := freePort(t)
	config := filepath.Join(dir, "sshd_config")
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
AuthorizedKeysFile %s
PidFile none
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers %s
LogLevel ERROR
`, port, hostKeyPath, authorized, user)
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, SSHD, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Session processes may keep the log pipe open briefly after sshd is killed.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", SSHD, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s exited at start (%v): %s", SSHD, err, logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 10 s: %s", SSHD, addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &OpenSSH{Addr: addr, HostKey: hostSigner.PublicKey(), PrivateKey: clientPEM, User: user}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
