package view

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestViewAuth(t *testing.T) {
	a, err := ParseAuth([]byte("# people\nbasic erin:s3cret-pw\n\nbearer tok-123\n"), "auth")
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, newFixedSource(sampleState()), func(o *Options) { o.Auth = a })
	for _, tc := range []struct {
		name   string
		header []string
		code   int
	}{
		{"no credential", nil, 401},
		{"wrong token", []string{"Authorization", "Bearer tok-124"}, 401},
		{"bare secret", []string{"Authorization", "tok-123"}, 401},
		{"token", []string{"Authorization", "Bearer tok-123"}, 200},
		{"basic", []string{"Authorization", "Basic ZXJpbjpzM2NyZXQtcHc="}, 200},
		{"wrong password", []string{"Authorization", "Basic ZXJpbjpub3Bl"}, 401},
	} {
		for _, p := range []string{"/", "/api/status", "/events", "/assets/style.css"} {
			if p == "/events" && tc.code == 200 {
				continue // a stream does not end; its refusal is what matters here.
			}
			code, body := get(t, srv.URL+p, tc.header...)
			if code != tc.code {
				t.Errorf("%s: GET %s: %d, want %d", tc.name, p, code, tc.code)
			}
			if strings.Contains(body, "tok-123") || strings.Contains(body, "s3cret") {
				t.Errorf("%s: GET %s shows a secret", tc.name, p)
			}
		}
	}
}

func TestViewAuthFileErrors(t *testing.T) {
	for content, want := range map[string]string{
		"":                      "no credential",
		"bearer\n":              "auth:1: expected",
		"# c\nbasic nopassword": "auth:2: a basic credential is USER:PASSWORD",
		"token abc":             "auth:1: unknown credential kind",
	} {
		_, err := ParseAuth([]byte(content), "auth")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAuth(%q) = %v, want %q", content, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(path, []byte("bearer x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAuth(path); err != nil {
		t.Fatal(err)
	}
}
