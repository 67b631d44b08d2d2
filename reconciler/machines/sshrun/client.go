package sshrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Client is one SSH connection to a machine.
type Client struct {
	opts Options
	conn *ssh.Client
}

// Dial connects and logs in. ctx cancels the dial; DialTimeout bounds it.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.HostKeys == nil {
		return nil, &DialError{Address: opts.Address, User: opts.User, Err: errors.New("no known_hosts given: host keys are always checked")}
	}
	auth, err := authMethods(opts)
	if err != nil {
		return nil, &DialError{Address: opts.Address, User: opts.User, Err: err}
	}
	cfg := &ssh.ClientConfig{
		User:              opts.User,
		Auth:              auth,
		HostKeyCallback:   opts.HostKeys.check(opts.Address),
		HostKeyAlgorithms: opts.HostKeys.algorithms(opts.Address),
		Timeout:           opts.DialTimeout,
	}
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = DefaultOptions().DialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", opts.Address)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, &TimeoutError{Address: opts.Address, After: timeout}
		}
		return nil, &DialError{Address: opts.Address, User: opts.User, Err: err}
	}
	// The handshake has no context of its own: a deadline on the connection bounds it,
	// and closing the connection when ctx ends stops it at once.
	deadline, _ := ctx.Deadline()
	_ = tcp.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = tcp.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(tcp, opts.Address, cfg)
	stopped := !stop()
	if err != nil {
		_ = tcp.Close()
		var hk *HostKeyError
		switch {
		case errors.As(err, &hk):
			return nil, hk
		case stopped && ctx.Err() == context.DeadlineExceeded, isTimeout(err):
			return nil, &TimeoutError{Address: opts.Address, After: timeout}
		case stopped:
			return nil, &DialError{Address: opts.Address, User: opts.User, Err: ctx.Err()}
		case strings.Contains(err.Error(), "unable to authenticate"):
			// x/crypto/ssh has no typed error for a refused login; this is its message.
			return nil, &DialError{Address: opts.Address, User: opts.User, Err: fmt.Errorf("%w (%v)", ErrAuth, err)}
		}
		return nil, &DialError{Address: opts.Address, User: opts.User, Err: err}
	}
	_ = tcp.SetDeadline(time.Time{})
	return &Client{opts: opts, conn: ssh.NewClient(sc, chans, reqs)}, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func authMethods(opts Options) ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	if len(opts.PrivateKey) > 0 {
		var (
			signer ssh.Signer
			err    error
		)
		if len(opts.Passphrase) > 0 {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(opts.PrivateKey, opts.Passphrase)
		} else {
			signer, err = ssh.ParsePrivateKey(opts.PrivateKey)
		}
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("the private key is encrypted: give its passphrase (passphrase:)")
		}
		if err != nil {
			return nil, fmt.Errorf("reading the private key: %w", err)
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if len(opts.Password) > 0 {
		pw := string(opts.Password)
		methods = append(methods, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		return nil, errors.New("no credentials: give a password or a private key")
	}
	return methods, nil
}

// Output is what a command printed.
type Output struct {
	Stdout, Stderr []byte
}

// Run runs one command in a new session and returns its output. The command is passed
// to the login shell as is: callers pass only constant strings. A non-zero exit is an
// *ExitError (with the output still returned); a command running longer than
// CommandTimeout, or past ctx, is killed and abandoned.
func (c *Client) Run(ctx context.Context, command string) (Output, error) {
	s, err := c.conn.NewSession()
	if err != nil {
		return Output{}, fmt.Errorf("%s: opening a session: %w", c.opts.Address, err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	timeout := c.opts.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultOptions().CommandTimeout
	}
	if err := s.Start(command); err != nil {
		return Output{}, fmt.Errorf("%s: starting %q: %w", c.opts.Address, firstLine(command), err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		c.abandon(s)
		return Output{}, &TimeoutError{Address: c.opts.Address, Command: command, After: timeout}
	case <-ctx.Done():
		c.abandon(s)
		return Output{}, fmt.Errorf("%s: %q: %w", c.opts.Address, firstLine(command), ctx.Err())
	}
	out := Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		return out, &ExitError{Address: c.opts.Address, Command: command, Status: exit.ExitStatus(), Stderr: strings.TrimSpace(string(out.Stderr))}
	}
	if err != nil {
		return out, fmt.Errorf("%s: %q: %w", c.opts.Address, firstLine(command), err)
	}
	return out, nil
}

// abandon kills a command that ran too long and closes its session. Servers that ignore
// signals (many do) still see the channel closed; the session's goroutine ends when it is.
func (c *Client) abandon(s *ssh.Session) {
	_ = s.Signal(ssh.SIGKILL)
	_ = s.Close()
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
