package sshrun_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"gitfleet.dev/gitfleet/reconciler/machines/sshrun"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun/sshtest"
)

func knownHosts(t *testing.T, lines ...string) *sshrun.KnownHosts {
	t.Helper()
	k, err := sshrun.LoadKnownHosts(sshtest.WriteKnownHosts(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func options(addr, user string, hosts *sshrun.KnownHosts) sshrun.Options {
	o := sshrun.DefaultOptions()
	o.Address, o.User, o.HostKeys = addr, user, hosts
	// Far above what a login and a command take, so that a loaded machine (CI, tests in
	// parallel) does not fail these; the timeouts themselves have tests of their own.
	o.DialTimeout, o.CommandTimeout = 30*time.Second, 30*time.Second
	return o
}

// TestOpenSSHKeyLogin: a real sshd (Debian's OpenSSH in its own configuration) accepts
// the key, and a command's output and exit status come back.
func TestOpenSSHKeyLogin(t *testing.T) {
	srv := sshtest.StartOpenSSH(t)
	o := options(srv.Addr, srv.User, knownHosts(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey)))
	o.PrivateKey = srv.PrivateKey
	c, err := sshrun.Dial(t.Context(), o)
	if err != nil {
		t.Fatalf("key login to OpenSSH: %v", err)
	}
	defer c.Close()
	out, err := c.Run(t.Context(), "hostname")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.Hostname()
	if got := strings.TrimSpace(string(out.Stdout)); got != want {
		t.Errorf("hostname over SSH = %q, want %q", got, want)
	}
	_, err = c.Run(t.Context(), "exit 3")
	var exit *sshrun.ExitError
	if !errors.As(err, &exit) || exit.Status != 3 {
		t.Errorf("exit 3: got %v, want an *ExitError with status 3", err)
	}
}

// TestOpenSSHWrongKeyRefused: a key the server does not know is an authentication error.
func TestOpenSSHWrongKeyRefused(t *testing.T) {
	srv := sshtest.StartOpenSSH(t)
	o := options(srv.Addr, srv.User, knownHosts(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey)))
	o.PrivateKey, _ = sshtest.NewPrivateKeyPEM(t)
	_, err := sshrun.Dial(t.Context(), o)
	if !errors.Is(err, sshrun.ErrAuth) {
		t.Fatalf("login with an unknown key: got %v, want ErrAuth", err)
	}
}

// TestPasswordLogin: password login, and a wrong password refused.
func TestPasswordLogin(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Auth{User: "ops", Password: "s3cret"}, func(cmd string) sshtest.Reply {
		return sshtest.Reply{Stdout: "ran " + cmd}
	})
	hosts := knownHosts(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey.PublicKey()))
	o := options(srv.Addr, "ops", hosts)
	o.Password = []byte("s3cret")
	c, err := sshrun.Dial(t.Context(), o)
	if err != nil {
		t.Fatalf("password login: %v", err)
	}
	defer c.Close()
	out, err := c.Run(t.Context(), "uptime")
	if err != nil || string(out.Stdout) != "ran uptime" {
		t.Fatalf("run: %q, %v", out.Stdout, err)
	}

	o.Password = []byte("wrong")
	if _, err := sshrun.Dial(t.Context(), o); !errors.Is(err, sshrun.ErrAuth) {
		t.Fatalf("wrong password: got %v, want ErrAuth", err)
	}
}

// TestHostKeyRefused: an unknown host and a changed host key are refused, each with the
// fingerprint of the key the server presented.
func TestHostKeyRefused(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Auth{User: "root", Password: "pw"}, func(string) sshtest.Reply { return sshtest.Reply{} })
	fingerprint := ssh.FingerprintSHA256(srv.HostKey.PublicKey())
	other := sshtest.NewSigner(t).PublicKey()
	for _, tc := range []struct {
		name    string
		lines   []string
		changed bool
	}{
		{"unknown", []string{sshtest.KnownHostsLine("127.0.0.1:1", other)}, false},
		{"changed", []string{sshtest.KnownHostsLine(srv.Addr, other)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(srv.Addr, "root", knownHosts(t, tc.lines...))
			o.Password = []byte("pw")
			_, err := sshrun.Dial(t.Context(), o)
			var hk *sshrun.HostKeyError
			if !errors.As(err, &hk) {
				t.Fatalf("got %v, want a *HostKeyError", err)
			}
			if hk.Changed != tc.changed || hk.Fingerprint != fingerprint || !strings.Contains(err.Error(), fingerprint) {
				t.Errorf("error %q (changed %v), want changed %v and fingerprint %s in the message", err, hk.Changed, tc.changed, fingerprint)
			}
			if got := srv.Commands(); len(got) != 0 {
				t.Errorf("commands reached a refused host: %q", got)
			}
		})
	}
}

// TestHungCommandTimesOut: a command that never ends is abandoned after CommandTimeout
// and reported as a timeout, and the connection still runs the next command.
func TestHungCommandTimesOut(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Auth{User: "root", Password: "pw"}, func(cmd string) sshtest.Reply {
		return sshtest.Reply{Hang: cmd == "sleep forever", Stdout: "ok"}
	})
	o := options(srv.Addr, "root", knownHosts(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey.PublicKey())))
	o.Password = []byte("pw")
	o.CommandTimeout = 300 * time.Millisecond
	c, err := sshrun.Dial(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Run(t.Context(), "sleep forever")
	var to *sshrun.TimeoutError
	if !errors.As(err, &to) || to.Command != "sleep forever" {
		t.Fatalf("hung command: got %v, want a *TimeoutError naming it", err)
	}
	if out, err := c.Run(t.Context(), "echo"); err != nil || string(out.Stdout) != "ok" {
		t.Fatalf("the next command on the same connection: %q, %v", out.Stdout, err)
	}
}

// TestDialTimeout: a port that accepts TCP and never speaks SSH fails after DialTimeout,
// and a cancelled context stops the dial at once.
func TestDialTimeout(t *testing.T) {
	addr := sshtest.Blackhole(t)
	o := options(addr, "root", knownHosts(t))
	o.Password = []byte("pw")
	o.DialTimeout = 300 * time.Millisecond
	_, err := sshrun.Dial(t.Context(), o)
	var to *sshrun.TimeoutError
	if !errors.As(err, &to) || to.Command != "" {
		t.Fatalf("blackhole: got %v, want a dial *TimeoutError", err)
	}

	o.DialTimeout = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = sshrun.Dial(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled dial: got %v, want context.Canceled", err)
	}
}
