package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"gitfleet.dev/gitfleet/schema"
)

// sendEmail mails the batch to every receiver of the groups that has an email address and
// returns how many addresses it went to.
func (n *Notifier) sendEmail(ctx context.Context, e *schema.EmailChannel, groups []string, msgs []message) (int, error) {
	from, err := mail.ParseAddress(e.From)
	if err != nil {
		return 0, fmt.Errorf("spec.email.from: %q is not an email address", e.From)
	}
	var to []*mail.Address
	for _, rc := range n.repo.ReceiversOf(groups) {
		if rc.Spec.Email != "" {
			to = append(to, &mail.Address{Name: rc.Spec.DisplayName, Address: rc.Spec.Email})
		}
	}
	if len(to) == 0 {
		return 0, fmt.Errorf("no receiver of the receiver groups %s has an email address", strings.Join(groups, ", "))
	}
	password, err := n.secretString(ctx, e.Password, "spec.email.password")
	if err != nil {
		return 0, err
	}
	data := composeMail(from, to, mailSubject(msgs), mailBody(msgs, n.opts.ExternalURL), time.Now())
	if err := n.smtpSend(ctx, e, from.Address, password, to, data); err != nil {
		return 0, err
	}
	return len(to), nil
}

// mailSubject is the template's header for the first drift, with how many more the mail
// lists: a subject has one line, and the first drift is the one that started the batch.
func mailSubject(msgs []message) string {
	s := msgs[0].Header
	if strings.TrimSpace(s) == "" {
		s = summary(msgs[0].Drift)
	}
	// A line break in a header would end it and start another (header injection).
	s = strings.Join(strings.Fields(s), " ")
	if len(msgs) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(msgs)-1)
	}
	return s
}

// mailBody is the template's body for each drift, a blank line between two, and a link
// to the fleet's status when there is one.
func mailBody(msgs []message, externalURL string) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(strings.TrimRight(m.Body, "\r\n"))
	}
	b.WriteString("\n")
	if externalURL != "" {
		b.WriteString("\n-- \n" + externalURL + "\n")
	}
	return b.String()
}

// composeMail writes an RFC 5322 message: text/plain in UTF-8, quoted-printable so that
// any text passes any server (no 8BITMIME needed), the subject encoded when not ASCII.
func composeMail(from *mail.Address, to []*mail.Address, subject, body string, date time.Time) []byte {
	var b bytes.Buffer
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = a.String()
	}
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(rcpts, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=UTF-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(body)) // writes to a bytes.Buffer do not fail
	_ = qp.Close()
	return b.Bytes()
}

// smtpSend delivers one message: implicit TLS when the channel says tls (port 465 style),
// otherwise STARTTLS whenever the server offers it; then AUTH PLAIN as the sender.
// net/smtp refuses to send the password over a connection that is neither TLS nor to
// localhost, so a server that offers neither TLS nor STARTTLS fails before the password
// leaves.
func (n *Notifier) smtpSend(ctx context.Context, e *schema.EmailChannel, from, password string, to []*mail.Address, data []byte) (err error) {
	addr := net.JoinHostPort(e.SMTPHost, strconv.Itoa(e.SMTPPort))
	if n.opts.SMTPTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.opts.SMTPTimeout)
		defer cancel()
	}
	step := "connect"
	defer func() {
		if err != nil {
			if ctx.Err() != nil { // the conversation was cut off by the deadline below
				err = fmt.Errorf("%w: %w", ctx.Err(), err)
			}
			err = fmt.Errorf("smtp %s: %s: %w", addr, step, err)
		}
	}()

	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	// net/smtp has no context: a deadline and a close on cancel bound the conversation.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	tlsConfig := n.tlsConfig(e.SMTPHost)
	if e.TLS {
		step = "TLS handshake"
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	step = "greeting"
	c, err := smtp.NewClient(conn, e.SMTPHost)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if n.opts.HelloName != "" {
		step = "EHLO"
		if err := c.Hello(n.opts.HelloName); err != nil {
			return err
		}
	}
	if !e.TLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			step = "STARTTLS"
			if err := c.StartTLS(tlsConfig); err != nil {
				return err
			}
		}
	}
	if ok, _ := c.Extension("AUTH"); ok {
		step = fmt.Sprintf("AUTH PLAIN as %q", from)
		if err := c.Auth(smtp.PlainAuth("", from, password, e.SMTPHost)); err != nil {
			return err
		}
	} else {
		// A relay that accepts mail from this host without a login; the password is not
		// needed and is not sent.
		n.opts.Log.V(1).Info("the SMTP server offers no AUTH; sending without logging in", "server", addr)
	}
	step = "MAIL FROM"
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, a := range to {
		step = fmt.Sprintf("RCPT TO %s", a.Address)
		if err := c.Rcpt(a.Address); err != nil {
			return err
		}
	}
	step = "DATA"
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	step = "QUIT"
	if err := c.Quit(); err != nil && !errors.Is(err, net.ErrClosed) {
		// The message was accepted at the end of DATA; a failed QUIT loses nothing.
		n.opts.Log.V(1).Info("the SMTP server did not answer QUIT cleanly", "server", addr, "error", err.Error())
	}
	return nil
}

// tlsConfig is Options.TLSConfig (or an empty one) for one server.
func (n *Notifier) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{}
	if n.opts.TLSConfig != nil {
		cfg = n.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}
