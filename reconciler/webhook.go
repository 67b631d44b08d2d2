package reconciler

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
)

// WebhookOptions configure the push webhook receiver.
type WebhookOptions struct {
	// Secret is the shared secret of every provider: the HMAC key of GitHub's
	// X-Hub-Signature-256 and of the generic X-Gitfleet-Signature, and GitLab's
	// X-Gitlab-Token. Without one, every request is refused.
	Secret []byte
	// Trigger is called for every accepted push.
	Trigger func()
	// Metrics counts requests per provider and result; nil counts nothing.
	Metrics *Metrics
}

// maxWebhookBody bounds what a webhook request may send; push payloads are far smaller.
const maxWebhookBody = 1 << 20

// WebhookHandler serves POST /hooks/github, /hooks/gitlab and /hooks/generic. A request
// with a valid signature triggers a fetch at once (202); a bad or missing signature is
// refused (401) and counted.
func WebhookHandler(opts WebhookOptions) http.Handler {
	mux := http.NewServeMux()
	handle := func(provider string, verify func(r *http.Request, body []byte) (ok, trigger bool)) {
		mux.HandleFunc("POST /hooks/"+provider, func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
			if err != nil || len(body) > maxWebhookBody {
				opts.count(provider, "bad_request")
				http.Error(w, "request body unreadable or larger than 1 MiB", http.StatusBadRequest)
				return
			}
			ok, trigger := verify(r, body)
			switch {
			case len(opts.Secret) == 0 || !ok:
				opts.count(provider, "bad_signature")
				http.Error(w, "signature missing or wrong", http.StatusUnauthorized)
			case !trigger:
				opts.count(provider, "ignored")
				w.WriteHeader(http.StatusOK) // a ping or an event that is not a push
			default:
				opts.count(provider, "accepted")
				opts.Trigger()
				w.WriteHeader(http.StatusAccepted)
			}
		})
	}
	handle("github", func(r *http.Request, body []byte) (bool, bool) {
		return validHMAC(opts.Secret, body, r.Header.Get("X-Hub-Signature-256")), r.Header.Get("X-GitHub-Event") == "push"
	})
	handle("gitlab", func(r *http.Request, _ []byte) (bool, bool) {
		token := r.Header.Get("X-Gitlab-Token")
		ok := len(opts.Secret) > 0 && subtle.ConstantTimeCompare([]byte(token), opts.Secret) == 1
		return ok, r.Header.Get("X-Gitlab-Event") == "Push Hook"
	})
	handle("generic", func(r *http.Request, body []byte) (bool, bool) {
		return validHMAC(opts.Secret, body, r.Header.Get("X-Gitfleet-Signature")), true
	})
	return mux
}

// validHMAC checks a "sha256=<hex>" signature of body.
func validHMAC(secret, body []byte, header string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(secret) == 0 {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func (o WebhookOptions) count(provider, result string) {
	if o.Metrics != nil {
		o.Metrics.Webhooks.WithLabelValues(provider, result).Inc()
	}
}
