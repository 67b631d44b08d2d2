package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSMTP is a minimal SMTP server on 127.0.0.1 for the tests: EHLO/HELO, STARTTLS
// (when offered), AUTH PLAIN against one user, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It
// refuses MAIL before a successful AUTH, as a submission server does.
type testSMTP struct {
	port int
	// implicitTLS speaks TLS from the first byte (port 465 style); offerSTARTTLS
	// advertises STARTTLS on a plain connection. Both use cert.
	implicitTLS, offerSTARTTLS bool
	cert                       tls.Certificate
	user, pass                 string

	mails chan receivedMail
	wg    sync.WaitGroup
}

// receivedMail is one message the server accepted.
type receivedMail struct {
	From     string
	To       []string
	Data     string
	TLS      bool
	AuthUser string
}

func startSMTP(t *testing.T, s *testSMTP) *testSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.mails = make(chan receivedMail, 10)
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	return s
}

func (s *testSMTP) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{s.cert}}
	isTLS := false
	if s.implicitTLS {
		tc := tls.Server(conn, tlsConfig)
		if tc.Handshake() != nil {
			return
		}
		conn, isTLS = tc, true
	}
	tp := textproto.NewConn(conn)
	_ = tp.PrintfLine("220 127.0.0.1 test ESMTP")
	var m receivedMail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"127.0.0.1 hello", "AUTH PLAIN"}
			if s.offerSTARTTLS && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				_ = tp.PrintfLine("250%s%s", sep, e)
			}
		case "HELO", "RSET", "NOOP":
			_ = tp.PrintfLine("250 ok")
		case "STARTTLS":
			if !s.offerSTARTTLS || isTLS {
				_ = tp.PrintfLine("502 not offered")
				continue
			}
			_ = tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, tlsConfig)
			if tc.Handshake() != nil {
				return
			}
			conn, isTLS = tc, true
			tp = textproto.NewConn(conn)
		case "AUTH":
			mech, ir, _ := strings.Cut(arg, " ")
			dec, err := base64.StdEncoding.DecodeString(ir)
			parts := strings.Split(string(dec), "\x00")
			switch {
			case !strings.EqualFold(mech, "PLAIN"):
				_ = tp.PrintfLine("504 unsupported mechanism")
			case err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass:
				_ = tp.PrintfLine("535 5.7.8 authentication failed")
			default:
				m.AuthUser = parts[1]
				_ = tp.PrintfLine("235 2.7.0 authenticated")
			}
		case "MAIL":
			if m.AuthUser == "" {
				_ = tp.PrintfLine("530 5.7.0 authentication required")
				continue
			}
			m.From = strings.TrimSuffix(strings.TrimPrefix(arg, "FROM:<"), ">")
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			m.To = append(m.To, strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">"))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 end with .")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.Data, m.TLS = string(data), isTLS
			s.mails <- m
			m = receivedMail{AuthUser: m.AuthUser}
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 unknown command")
		}
	}
}

// testCert is a self-signed certificate for 127.0.0.1 and a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gitfleet test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
