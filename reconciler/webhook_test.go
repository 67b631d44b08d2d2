package reconciler

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestWebhookHandler(t *testing.T) {
	triggered := 0
	m := NewMetrics(prometheus.NewRegistry())
	h := WebhookHandler(WebhookOptions{Secret: []byte("s3cret"), Trigger: func() { triggered++ }, Metrics: m})
	body := `{"ref":"refs/heads/main"}`
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		status  int
		trigger bool
	}{
		{"github push", "/hooks/github", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("s3cret", body)}, 202, true},
		{"github ping", "/hooks/github", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign("s3cret", body)}, 200, false},
		{"github wrong secret", "/hooks/github", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("other", body)}, 401, false},
		{"github unsigned", "/hooks/github", map[string]string{"X-GitHub-Event": "push"}, 401, false},
		{"gitlab push", "/hooks/gitlab", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret"}, 202, true},
		{"gitlab wrong token", "/hooks/gitlab", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}, 401, false},
		{"generic", "/hooks/generic", map[string]string{"X-Gitfleet-Signature": sign("s3cret", body)}, 202, true},
		{"generic tampered", "/hooks/generic", map[string]string{"X-Gitfleet-Signature": sign("s3cret", body+" ")}, 401, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := triggered
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status || (triggered > before) != tc.trigger {
				t.Errorf("status %d triggered %v, want %d and %v", rec.Code, triggered > before, tc.status, tc.trigger)
			}
		})
	}
	if got := testutil.ToFloat64(m.Webhooks.WithLabelValues("github", "bad_signature")); got != 2 {
		t.Errorf("bad github signatures counted %v, want 2", got)
	}
	rec := httptest.NewRecorder()
	WebhookHandler(WebhookOptions{Trigger: func() { triggered++ }}).ServeHTTP(rec, func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hooks/generic", strings.NewReader(body))
		r.Header.Set("X-Gitfleet-Signature", sign("", body))
		return r
	}())
	if rec.Code != 401 {
		t.Errorf("a receiver without a secret answered %d, want 401", rec.Code)
	}
}
