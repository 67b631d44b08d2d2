package notify

import (
	"errors"
	"fmt"
	"net/http"

	"gitfleet.dev/gitfleet/schema"
)

// ChannelError is one (channel, template) pair of Fleet.spec.driftNotify that could not
// send. Drift joins one per failed pair; errors.As finds each, and Err says why (a
// *SecretError is a configuration problem that waits for the next revision, a
// *StatusError or a network error may pass on its own).
type ChannelError struct {
	Channel, Template string
	Type              schema.ChannelType
	Err               error
}

func (e *ChannelError) Error() string {
	kind := "channel"
	if e.Type != "" {
		kind = string(e.Type) + " channel"
	}
	return fmt.Sprintf("drift notification through %s %q (template %q): %v", kind, e.Channel, e.Template, e.Err)
}
func (e *ChannelError) Unwrap() error { return e.Err }

// StatusError is a webhook receiver that answered with a status other than 2xx. Body is
// the start of its answer (at most 200 bytes), which usually says what it disliked.
type StatusError struct {
	StatusCode int
	Body       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("the webhook answered %d %s: %q", e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// Temporary reports whether sending again later may succeed: the receiver is overloaded,
// failing or asked to be retried (408, 429, 5xx), as opposed to refusing the request.
func (e *StatusError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// SecretError is a SecretRef whose value could not be read. Ref describes the reference
// (`env "SMTP_PASSWORD"`, `secret "gitfleet/smtp" key "password"`), never its value.
type SecretError struct {
	Ref string
	Err error
}

func (e *SecretError) Error() string { return fmt.Sprintf("reading %s: %v", e.Ref, e.Err) }
func (e *SecretError) Unwrap() error { return e.Err }

// ErrNoSecretReader is the cause of a SecretError for a `secret` reference when the
// resolver was built without a way to read Kubernetes Secrets.
var ErrNoSecretReader = errors.New("no reader for Kubernetes Secrets is configured: give EnvFileResolver one (EnvFileOptions.Secrets), or refer to the value with env or file")
