package view

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/go-logr/logr"
)

// Auth is who may read the view: bearer tokens (for scripts reading the JSON API) and
// user names with passwords (HTTP basic authentication, which a browser asks for itself).
// Only hashes of the secrets are kept, so that no secret value stays in memory longer
// than reading the file, and comparisons take the same time whatever matched.
type Auth struct {
	tokens [][sha256.Size]byte
	basic  [][sha256.Size]byte // of "user:password"
}

// LoadAuth reads an authentication file: one credential a line, "bearer TOKEN" or
// "basic USER:PASSWORD"; blank lines and lines starting with # are ignored. Errors name
// the line, never its content.
func LoadAuth(path string) (*Auth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the view's authentication file: %w", err)
	}
	return ParseAuth(data, path)
}

// ParseAuth parses the content of an authentication file (see LoadAuth); name is what
// errors call it.
func ParseAuth(data []byte, name string) (*Auth, error) {
	a := &Auth{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, secret, ok := strings.Cut(line, " ")
		secret = strings.TrimSpace(secret)
		switch {
		case !ok || secret == "":
			return nil, fmt.Errorf("%s:%d: expected \"bearer TOKEN\" or \"basic USER:PASSWORD\"", name, n)
		case strings.EqualFold(kind, "bearer"):
			a.tokens = append(a.tokens, sha256.Sum256([]byte(secret)))
		case strings.EqualFold(kind, "basic"):
			if user, pass, ok := strings.Cut(secret, ":"); !ok || user == "" || pass == "" {
				return nil, fmt.Errorf("%s:%d: a basic credential is USER:PASSWORD, both non-empty", name, n)
			}
			a.basic = append(a.basic, sha256.Sum256([]byte(secret)))
		default:
			return nil, fmt.Errorf("%s:%d: unknown credential kind (expected bearer or basic)", name, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(a.tokens)+len(a.basic) == 0 {
		return nil, errors.New(name + ": no credential in the file: the view would refuse everyone")
	}
	return a, nil
}

// allows reports whether the request carries one of the credentials.
func (a *Auth) allows(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	kind, secret, _ := strings.Cut(h, " ")
	var got [sha256.Size]byte
	var against [][sha256.Size]byte
	switch {
	case strings.EqualFold(kind, "bearer"):
		got, against = sha256.Sum256([]byte(strings.TrimSpace(secret))), a.tokens
	case strings.EqualFold(kind, "basic"):
		user, pass, ok := r.BasicAuth()
		if !ok {
			return false
		}
		got, against = sha256.Sum256([]byte(user+":"+pass)), a.basic
	default:
		return false
	}
	match := 0
	for _, want := range against {
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

// wrap refuses requests without a valid credential with 401. The log line says which
// kind of credential was offered, never its value.
func (a *Auth) wrap(next http.Handler, log logr.Logger) http.Handler {
	if a == nil {
		return next
	}
	challenge := `Bearer realm="gitfleet"`
	if len(a.basic) > 0 {
		// Basic first: a browser shows its login dialog only for a Basic challenge.
		challenge = `Basic realm="gitfleet", charset="UTF-8"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.allows(r) {
			next.ServeHTTP(w, r)
			return
		}
		log.Info("view request refused: no valid credential", "path", r.URL.Path, "remote", r.RemoteAddr, "offered", offeredKind(r))
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("401 Unauthorized: this gitfleet view needs a valid token or user name and password (see --view-auth-file).\n"))
	})
}

// offeredKind names the kind of credential a request offered, for logs: a header without
// a scheme may be a bare secret, so nothing of the header itself is ever logged.
func offeredKind(r *http.Request) string {
	kind, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case r.Header.Get("Authorization") == "":
		return "none"
	case strings.EqualFold(kind, "bearer"):
		return "bearer"
	case strings.EqualFold(kind, "basic"):
		return "basic"
	}
	return "other"
}
