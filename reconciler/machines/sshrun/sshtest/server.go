// Package sshtest starts SSH servers on the loopback interface for tests: an
// x/crypto/ssh server whose answers a test scripts (canned output, a hang, a refusal),
// and Debian's OpenSSH server in its own configuration, port and host key.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Reply is how the scripted server answers one command.
type Reply struct {
	Stdout string
	Status int
	// Hang keeps the command running until the client gives up.
	Hang bool
}

// Handler answers a command.
type Handler func(command string) Reply

// Server is a scripted SSH server.
type Server struct {
	Addr     string
	HostKey  ssh.Signer
	mu       sync.Mutex
	commands []string // every command received, in order
	ln       net.Listener
	wg       sync.WaitGroup
}

// Auth says which credentials the scripted server accepts.
type Auth struct {
	User     string
	Password string
	// AuthorizedKey, when set, is accepted for public-key login.
	AuthorizedKey ssh.PublicKey
}

// NewSigner makes a fresh Ed25519 key.
func NewSigner(t testing.TB) ssh.Signer {
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

// NewPrivateKeyPEM makes a fresh Ed25519 key in OpenSSH PEM form, and its signer.
func NewPrivateKeyPEM(t testing.TB) ([]byte, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), s
}

// Start runs a scripted server on 127.0.0.1 until the test ends.
func Start(t testing.TB, auth Auth, handle Handler) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1", auth, handle)
}

// StartOn runs a scripted server on a loopback address of its own (127.0.0.2, ...), for
// fleets whose machines must have distinct IPs.
func StartOn(t testing.TB, ip string, auth Auth, handle Handler) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), HostKey: NewSigner(t), ln: ln}
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if auth.Password != "" && c.User() == auth.User && string(pw) == auth.Password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if auth.AuthorizedKey != nil && c.User() == auth.User && string(key.Marshal()) == string(auth.AuthorizedKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(s.HostKey)
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
				s.serve(conn, cfg, handle)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

// Commands returns the commands received so far.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

func (s *Server) serve(conn net.Conn, cfg *ssh.ServerConfig, handle Handler) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				if req.Type != "exec" {
					_ = req.Reply(req.Type == "env", nil)
					continue
				}
				var payload struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
					_ = req.Reply(false, nil)
					return
				}
				_ = req.Reply(true, nil)
				s.mu.Lock()
				s.commands = append(s.commands, payload.Command)
				s.mu.Unlock()
				r := handle(payload.Command)
				if r.Hang {
					// Ignore signals and wait for the client to close the channel.
					for range requests {
					}
					return
				}
				_, _ = ch.Write([]byte(r.Stdout))
				status := make([]byte, 4)
				binary.BigEndian.PutUint32(status, uint32(r.Status))
				_, _ = ch.SendRequest("exit-status", false, status)
				return
			}
		}()
	}
}

// KnownHostsLine is a known_hosts line for a key at addr (host:port).
func KnownHostsLine(addr string, key ssh.PublicKey) string {
	host, port, _ := net.SplitHostPort(addr)
	name := host
	if port != "22" {
		name = fmt.Sprintf("[%s]:%s", host, port)
	}
	return name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

// WriteKnownHosts writes a known_hosts file with the lines and returns its path.
func WriteKnownHosts(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Blackhole is a port that accepts TCP connections and never says anything: the
// worst kind of unreachable machine, which only a handshake timeout gets past.
func Blackhole(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
