package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

// doc writes a fleet document.
func doc(kind, name, spec string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// fleet describes the repository of a test: the specs of the webhook channel "hook" and
// the email channel "mail" (indented under spec:), and the channels driftNotify names in
// order (each with its template <channel>-text). An SMS channel "sms" always exists.
type fleet struct {
	hook, mail string
	notify     []string
	// noDriftNotify leaves spec.driftNotify out of fleet.yaml.
	noDriftNotify bool
}

func (f fleet) load(t *testing.T) *schema.Repo {
	t.Helper()
	fleetSpec := "  drift: correct\n"
	if !f.noDriftNotify {
		fleetSpec += "  driftNotify:\n    receiverGroups: [ops]\n    notify:\n"
		for _, ch := range f.notify {
			fleetSpec += fmt.Sprintf("    - {channel: %s, template: %s-text}\n", ch, ch)
		}
	}
	files := map[string]string{
		"fleet.yaml":           doc("Fleet", "example", fleetSpec),
		"clusters/dev.yaml":    doc("Cluster", "dev", "  type: Imported\n"),
		"businesses/shop.yaml": doc("Business", "shop", "  quota:\n    dev: {cpu: \"8\", memory: 16Gi}\n"),
		"businesses/shop/namespaces/shop-prod.yaml": doc("Namespace", "shop-prod", "  business: shop\n  cluster: dev\n"),
		"alerting/channels.yaml": doc("NotifyChannel", "hook", f.hook) + "---\n" +
			doc("NotifyChannel", "mail", f.mail) + "---\n" +
			doc("NotifyChannel", "sms", "  sms:\n    appKey: {env: GITFLEET_SECRET_SMS_APP_KEY}\n    sdkAppID: \"1400000000\"\n"),
		"alerting/templates.yaml": doc("NotifyTemplate", "hook-text", `  channel: hook
  header: "[{{.Status}}] {{.PolicyName}} on {{.Cluster}}"
  body: "{{.WorkloadKind}} {{.Namespace}}/{{.Workload}} of business {{.Business}} was {{.Value}} at {{.StartsAt}}"
`) + "---\n" + doc("NotifyTemplate", "mail-text", `  channel: mail
  header: "[{{.Status}}] 漂移 on {{.Cluster}}: {{.Workload}}"
  body: |
    {{.WorkloadKind}} {{.Namespace}}/{{.Workload}} was {{.Value}} outside gitfleet — business {{.Business}}, since {{.StartsAt}}.
`) + "---\n" + doc("NotifyTemplate", "sms-text", "  channel: sms\n  body: \"{{.Cluster}} drift\"\n"),
		"alerting/receivers.yaml": doc("Receiver", "alice", "  displayName: Alice\n  email: alice@example.com\n") + "---\n" +
			doc("Receiver", "bob", "  email: bob@example.com\n") + "---\n" +
			doc("Receiver", "carol", "  mobile: \"+8613800000000\"\n"),
		"alerting/groups.yaml": doc("ReceiverGroup", "ops", "  receivers: [alice, bob, carol]\n"),
	}
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	repo, err := schema.Load(t.Context(), fsys)
	if err != nil {
		t.Fatalf("loading the test fleet: %v", err)
	}
	return repo
}

// hookSpec is a webhook channel posting to url with a literal header and a secret one.
func hookSpec(url string) string {
	return fmt.Sprintf(`  webhook:
    url: %s
    headers:
    - {name: X-Team, value: ops}
    - name: Authorization
      valueFrom: {env: GITFLEET_SECRET_TEST_HOOK_TOKEN}
`, url)
}

// mailSpec is an email channel to the test SMTP server; password is a SecretRef in flow
// style.
func mailSpec(port int, tls bool, password string) string {
	return fmt.Sprintf(`  email:
    from: "Fleet Alerts <alerts@example.com>"
    password: %s
    smtpHost: 127.0.0.1
    smtpPort: %d
    tls: %t
`, password, port, tls)
}

// passwordFile writes the SMTP password to a file of a secrets directory, with the
// trailing newline that echo leaves, and returns its reference and a resolver reading in
// that directory.
func passwordFile(t *testing.T, password string) (string, SecretResolver) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "smtp-password"), []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := DefaultEnvFileOptions()
	opts.Dir = dir
	return "{file: smtp-password}", EnvFileResolver(opts)
}

// hookRequest is one request the test webhook receiver got.
type hookRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// startHook starts a webhook receiver that answers status and body.
func startHook(t *testing.T, status int, body string) (*httptest.Server, chan hookRequest) {
	t.Helper()
	got := make(chan hookRequest, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- hookRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// logLines collects log lines; the Notifier logs from several goroutines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: 1})
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

var (
	t0     = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	events = []Drift{
		{Cluster: "dev", App: "web", Object: "Deployment/shop-prod/web", Change: "modified", Action: "corrected", Revision: "3f2a1c9", At: t0},
		{Cluster: "dev", App: "web", Object: "Service/shop-prod/web", Change: "deleted", Action: "reported", Revision: "3f2a1c9", At: t0.Add(5 * time.Second)},
	}
	externalURL = "https://git.example.com/fleet/src/branch/main/status/README.md"
)

// wantPayload is the exact JSON the webhook receives for events.
const wantPayload = `{
  "version": "4",
  "groupKey": "{}:{alertname=\"GitfleetDrift\", fleet=\"example\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "ops",
  "groupLabels": {"alertname": "GitfleetDrift", "fleet": "example"},
  "commonLabels": {"alertname": "GitfleetDrift", "app": "web", "cluster": "dev", "fleet": "example"},
  "commonAnnotations": {"revision": "3f2a1c9", "summary": "[firing] drift on dev"},
  "externalURL": "https://git.example.com/fleet/src/branch/main/status/README.md",
  "alerts": [
    {
      "status": "firing",
      "labels": {"action": "corrected", "alertname": "GitfleetDrift", "app": "web", "change": "modified",
                 "cluster": "dev", "fleet": "example", "object": "Deployment/shop-prod/web"},
      "annotations": {"description": "Deployment shop-prod/web of business shop was modified at 2024-05-01T08:00:00Z",
                      "revision": "3f2a1c9", "summary": "[firing] drift on dev"},
      "startsAt": "2024-05-01T08:00:00Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "https://git.example.com/fleet/src/branch/main/status/README.md",
      "fingerprint": "a03de2d6854dbcf7"
    },
    {
      "status": "firing",
      "labels": {"action": "reported", "alertname": "GitfleetDrift", "app": "web", "change": "deleted",
                 "cluster": "dev", "fleet": "example", "object": "Service/shop-prod/web"},
      "annotations": {"description": "Service shop-prod/web of business shop was deleted at 2024-05-01T08:00:05Z",
                      "revision": "3f2a1c9", "summary": "[firing] drift on dev"},
      "startsAt": "2024-05-01T08:00:05Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "https://git.example.com/fleet/src/branch/main/status/README.md",
      "fingerprint": "5a0d99c38403807b"
    }
  ]
}`

// wantMailBody is the decoded body of the mail for events.
var wantMailBody = "Deployment shop-prod/web was modified outside gitfleet — business shop, since 2024-05-01T08:00:00Z.\n" +
	"\n" +
	"Service shop-prod/web was deleted outside gitfleet — business shop, since 2024-05-01T08:00:05Z.\n" +
	"\n" +
	"-- \n" +
	externalURL + "\n"

func testOptions(log logr.Logger) Options {
	opts := DefaultOptions()
	opts.WebhookTimeout = 5 * time.Second
	opts.SMTPTimeout = 5 * time.Second
	opts.ExternalURL = externalURL
	opts.Log = log
	return opts
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// checkMail checks a received mail: envelope, headers and decoded body.
func checkMail(t *testing.T, m receivedMail, wantTLS bool) {
	t.Helper()
	if m.AuthUser != "alerts@example.com" {
		t.Errorf("AUTH PLAIN user = %q, want the sender's address", m.AuthUser)
	}
	if m.From != "alerts@example.com" {
		t.Errorf("MAIL FROM = %q, want alerts@example.com", m.From)
	}
	if diff := cmp.Diff([]string{"alice@example.com", "bob@example.com"}, m.To); diff != "" {
		t.Errorf("RCPT TO (-want +got):\n%s", diff)
	}
	if m.TLS != wantTLS {
		t.Errorf("mail sent over TLS = %t, want %t", m.TLS, wantTLS)
	}
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil {
		t.Fatal(err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"subject":      subject,
		"from":         from,
		"to":           to,
		"content-type": msg.Header.Get("Content-Type"),
		"body":         strings.ReplaceAll(string(body), "\r\n", "\n"),
	}
	want := map[string]any{
		"subject":      "[firing] 漂移 on dev: web (and 1 more)",
		"from":         []*mail.Address{{Name: "Fleet Alerts", Address: "alerts@example.com"}},
		"to":           []*mail.Address{{Name: "Alice", Address: "alice@example.com"}, {Address: "bob@example.com"}},
		"content-type": "text/plain; charset=UTF-8",
		"body":         wantMailBody,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mail (-want +got):\n%s", diff)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
}

func receive[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s arrived", what)
		panic("unreachable")
	}
}

// TestDrift sends a batch through a webhook, an email and an SMS channel: the webhook gets
// the Alertmanager payload with the secret header resolved, the mail server gets one mail
// for the batch, and SMS is skipped and logged once however many batches follow.
func TestDrift(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_HOOK_TOKEN", "Bearer s3cret-token")
	hook, hookGot := startHook(t, http.StatusOK, "ok")
	smtpd := startSMTP(t, &testSMTP{user: "alerts@example.com", pass: "mail-pass"})
	password, secrets := passwordFile(t, "mail-pass")
	repo := fleet{
		hook:   hookSpec(hook.URL + "/alerts"),
		mail:   mailSpec(smtpd.port, false, password),
		notify: []string{"hook", "mail", "sms"},
	}.load(t)
	var logs logLines
	n := New(repo, secrets, testOptions(logs.logger()))

	deliveries, err := n.Deliver(t.Context(), events)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	want := []Delivery{
		{Channel: "hook", Template: "hook-text", Type: schema.ChannelWebhook, Outcome: Sent},
		{Channel: "mail", Template: "mail-text", Type: schema.ChannelEmail, Outcome: Sent, Recipients: 2},
		{Channel: "sms", Template: "sms-text", Type: schema.ChannelSMS, Outcome: Skipped},
	}
	if diff := cmp.Diff(want, deliveries); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}

	req := receive(t, hookGot, "webhook request")
	if req.Method != http.MethodPost || req.Path != "/alerts" {
		t.Errorf("request = %s %s, want POST /alerts", req.Method, req.Path)
	}
	gotHeaders := map[string]string{
		"Authorization": req.Header.Get("Authorization"),
		"X-Team":        req.Header.Get("X-Team"),
		"Content-Type":  req.Header.Get("Content-Type"),
	}
	wantHeaders := map[string]string{"Authorization": "Bearer s3cret-token", "X-Team": "ops", "Content-Type": "application/json"}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("webhook headers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(jsonValue(t, []byte(wantPayload)), jsonValue(t, req.Body)); diff != "" {
		t.Errorf("webhook payload (-want +got):\n%s", diff)
	}

	checkMail(t, receive(t, smtpd.mails, "mail"), false)

	// A second batch: SMS is not logged again.
	if err := n.Drift(t.Context(), events[:1]); err != nil {
		t.Fatalf("second Drift: %v", err)
	}
	receive(t, hookGot, "second webhook request")
	receive(t, smtpd.mails, "second mail")
	if got := logs.count("not sent through SMS or WeChat"); got != 1 {
		t.Errorf("the SMS skip was logged %d times, want once", got)
	}
	for _, secret := range []string{"s3cret-token", "mail-pass"} {
		if got := logs.count(secret); got != 0 {
			t.Errorf("a secret value appears in %d log lines", got)
		}
	}
}

// TestDriftFailingChannel: a webhook that answers 500 does not stop the mail, and the
// error names the channel and quotes the start of the answer.
func TestDriftFailingChannel(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_HOOK_TOKEN", "Bearer s3cret-token")
	hook, hookGot := startHook(t, http.StatusInternalServerError, "receiver broke: "+strings.Repeat("x", 300))
	smtpd := startSMTP(t, &testSMTP{user: "alerts@example.com", pass: "mail-pass"})
	password, secrets := passwordFile(t, "mail-pass")
	repo := fleet{
		hook:   hookSpec(hook.URL),
		mail:   mailSpec(smtpd.port, false, password),
		notify: []string{"hook", "mail"},
	}.load(t)

	err := New(repo, secrets, testOptions(logr.Discard())).Drift(t.Context(), events)
	if err == nil {
		t.Fatal("Drift succeeded with a webhook answering 500")
	}
	receive(t, hookGot, "webhook request")
	checkMail(t, receive(t, smtpd.mails, "mail"), false)

	var ce *ChannelError
	if !errors.As(err, &ce) || ce.Channel != "hook" || ce.Type != schema.ChannelWebhook {
		t.Errorf("error %v is not a ChannelError of channel hook", err)
	}
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a StatusError", err)
	}
	if want := "receiver broke: " + strings.Repeat("x", 184); se.StatusCode != 500 || se.Body != want || !se.Temporary() {
		t.Errorf("StatusError = %d %q (temporary %t), want 500, the first 200 bytes, temporary", se.StatusCode, se.Body, se.Temporary())
	}
	if msg := err.Error(); !strings.Contains(msg, `channel "hook"`) || !strings.Contains(msg, "500 Internal Server Error") {
		t.Errorf("error %q does not name the channel and the status", msg)
	}
}

// TestEmailTLS sends over implicit TLS and over STARTTLS, trusting the test CA through
// Options.TLSConfig, and fails the handshake without it.
func TestEmailTLS(t *testing.T) {
	cert, pool := testCert(t)
	implicitTLS := func() *testSMTP { return &testSMTP{implicitTLS: true} }
	startTLS := func() *testSMTP { return &testSMTP{offerSTARTTLS: true} }
	cases := []struct {
		name    string
		server  func() *testSMTP
		tls     bool
		trustCA bool
		wantErr string
		wantTLS bool
	}{
		{name: "implicit TLS", server: implicitTLS, tls: true, trustCA: true, wantTLS: true},
		{name: "STARTTLS", server: startTLS, trustCA: true, wantTLS: true},
		{name: "untrusted certificate", server: implicitTLS, tls: true, wantErr: "TLS handshake"},
		{name: "STARTTLS untrusted certificate", server: startTLS, wantErr: "STARTTLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.server()
			srv.cert, srv.user, srv.pass = cert, "alerts@example.com", "mail-pass"
			smtpd := startSMTP(t, srv)
			password, secrets := passwordFile(t, "mail-pass")
			repo := fleet{
				hook:   hookSpec("http://127.0.0.1:1/unused"),
				mail:   mailSpec(smtpd.port, tc.tls, password),
				notify: []string{"mail"},
			}.load(t)
			opts := testOptions(logr.Discard())
			if tc.trustCA {
				opts.TLSConfig = &tls.Config{RootCAs: pool}
			}
			err := New(repo, secrets, opts).Drift(t.Context(), events)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `channel "mail"`) {
					t.Fatalf("error = %v, want one about %s of channel mail", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Drift: %v", err)
			}
			checkMail(t, receive(t, smtpd.mails, "mail"), tc.wantTLS)
		})
	}
}

// TestEmailWrongPassword: the server's refusal reaches the error, with the user and
// without the password.
func TestEmailWrongPassword(t *testing.T) {
	smtpd := startSMTP(t, &testSMTP{user: "alerts@example.com", pass: "right"})
	password, secrets := passwordFile(t, "wrong-pass")
	repo := fleet{
		hook:   hookSpec("http://127.0.0.1:1/unused"),
		mail:   mailSpec(smtpd.port, false, password),
		notify: []string{"mail"},
	}.load(t)
	err := New(repo, secrets, testOptions(logr.Discard())).Drift(t.Context(), events)
	if err == nil || !strings.Contains(err.Error(), `AUTH PLAIN as "alerts@example.com"`) || !strings.Contains(err.Error(), "535") {
		t.Fatalf("error = %v, want the AUTH refusal", err)
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("error %q shows the password", err)
	}
}

// TestSecretWithoutReader: a secret reference with no Kubernetes reader fails that
// channel, naming the Secret, and the other channels still send.
func TestSecretWithoutReader(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_HOOK_TOKEN", "Bearer s3cret-token")
	hook, hookGot := startHook(t, http.StatusOK, "")
	repo := fleet{
		hook:   hookSpec(hook.URL),
		mail:   mailSpec(2525, false, "{secret: {namespace: gitfleet-system, name: smtp, key: password}}"),
		notify: []string{"mail", "hook"},
	}.load(t)

	deliveries, err := New(repo, EnvFileResolver(DefaultEnvFileOptions()), testOptions(logr.Discard())).Deliver(t.Context(), events)
	if !errors.Is(err, ErrNoSecretReader) {
		t.Fatalf("error = %v, want ErrNoSecretReader", err)
	}
	for _, want := range []string{`channel "mail"`, "spec.email.password", `Kubernetes Secret "gitfleet-system/smtp" key "password"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	if deliveries[0].Outcome != Failed || deliveries[1].Outcome != Sent {
		t.Errorf("outcomes = %s, %s; want failed, sent", deliveries[0].Outcome, deliveries[1].Outcome)
	}
	receive(t, hookGot, "webhook request")
}

// TestEnvFileResolver resolves each kind of reference, and refuses what the policy does
// not allow even when the repository was never validated: a symlink in the secrets
// directory pointing outside it, a path leaving it, a variable without the prefix, a
// Secret in another namespace.
func TestEnvFileResolver(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(root, "host-secret")
	if err := os.WriteFile(outside, []byte("host-only"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "secrets")
	if err := os.MkdirAll(filepath.Join(dir, "smtp"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"token": "from-file\n", "smtp/password": "from-subdir", "empty": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	// A Kubernetes Secret volume's files are symlinks into ..data, inside the directory.
	if err := os.Symlink("smtp/password", filepath.Join(dir, "inside")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITFLEET_SECRET_TEST_SET", "from-env")
	t.Setenv("GITFLEET_SECRET_TEST_EMPTY", "")
	t.Setenv("GITFLEET_TEST_OUTSIDE", "not-for-the-repo")

	type call struct{ Namespace, Name, Key string }
	var calls []call
	reader := func(_ context.Context, namespace, name, key string) ([]byte, error) {
		calls = append(calls, call{namespace, name, key})
		if name == "missing" {
			return nil, errors.New(`secrets "missing" not found`)
		}
		return []byte("from-secret"), nil
	}
	opts := DefaultEnvFileOptions()
	opts.Dir, opts.Policy.Namespaces = dir, []string{"ops"}
	without := EnvFileResolver(opts)
	opts.Secrets = reader
	withReader := EnvFileResolver(opts)
	noDir := EnvFileResolver(DefaultEnvFileOptions())
	secret := func(ns, name string) *schema.SecretRef {
		return &schema.SecretRef{Secret: &schema.SecretKeyRef{Namespace: ns, Name: name, Key: "token"}}
	}

	cases := []struct {
		name     string
		resolver SecretResolver
		ref      *schema.SecretRef
		want     string
		wantErr  string
		refused  bool
	}{
		{name: "env", resolver: without, ref: &schema.SecretRef{Env: "GITFLEET_SECRET_TEST_SET"}, want: "from-env"},
		{name: "env unset", resolver: without, ref: &schema.SecretRef{Env: "GITFLEET_SECRET_TEST_UNSET"}, wantErr: `reading env "GITFLEET_SECRET_TEST_UNSET": the environment variable is not set`},
		{name: "env empty", resolver: without, ref: &schema.SecretRef{Env: "GITFLEET_SECRET_TEST_EMPTY"}, wantErr: `reading env "GITFLEET_SECRET_TEST_EMPTY": the value is empty`},
		{name: "env outside the prefix", resolver: without, ref: &schema.SecretRef{Env: "GITFLEET_TEST_OUTSIDE"}, refused: true,
			wantErr: `reading env "GITFLEET_TEST_OUTSIDE": "GITFLEET_TEST_OUTSIDE" is not an allowed variable: gitfleet reads only variables starting with GITFLEET_SECRET_; the operator can allow more with --secret-env-prefix`},
		{name: "HOME", resolver: without, ref: &schema.SecretRef{Env: "HOME"}, refused: true, wantErr: `"HOME" is not an allowed variable`},
		{name: "file", resolver: without, ref: &schema.SecretRef{File: "token"}, want: "from-file\n"},
		{name: "file in a subdirectory", resolver: without, ref: &schema.SecretRef{File: "smtp/password"}, want: "from-subdir"},
		{name: "symlink inside", resolver: without, ref: &schema.SecretRef{File: "inside"}, want: "from-subdir"},
		{name: "symlink pointing outside", resolver: without, ref: &schema.SecretRef{File: "escape"}, wantErr: "path escapes from parent"},
		{name: "path leaving the directory", resolver: without, ref: &schema.SecretRef{File: "../host-secret"}, refused: true, wantErr: `"../host-secret" is not an allowed file`},
		{name: "absolute path", resolver: without, ref: &schema.SecretRef{File: outside}, refused: true, wantErr: "is not an allowed file"},
		{name: "file without a secrets directory", resolver: noDir, ref: &schema.SecretRef{File: "token"}, refused: true, wantErr: "--secrets-dir, and none was given"},
		{name: "file missing", resolver: without, ref: &schema.SecretRef{File: "nope"}, wantErr: "no such file or directory"},
		{name: "file empty", resolver: without, ref: &schema.SecretRef{File: "empty"}, wantErr: "the value is empty"},
		{name: "secret", resolver: withReader, ref: secret("ops", "hook"), want: "from-secret"},
		{name: "secret in gitfleet's namespace", resolver: withReader, ref: secret("", "hook"), want: "from-secret"},
		{name: "secret missing", resolver: withReader, ref: secret("ops", "missing"), wantErr: `reading Kubernetes Secret "ops/missing" key "token": secrets "missing" not found`},
		{name: "secret in another namespace", resolver: withReader, ref: secret("kube-system", "hook"), refused: true,
			wantErr: `reading Kubernetes Secret "kube-system/hook" key "token": "kube-system" is not an allowed namespace: gitfleet reads only Secrets in gitfleet-system, ops; the operator can allow more with --secret-namespaces`},
		{name: "secret without reader", resolver: without, ref: secret("ops", "hook"), wantErr: `reading Kubernetes Secret "ops/hook" key "token": no reader for Kubernetes Secrets is configured`},
		{name: "nil", resolver: without, wantErr: "no secret reference given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.resolver.Resolve(t.Context(), tc.ref)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error = %v, want %q", err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("value %q returned with the error", got)
				}
				if err != nil && (strings.Contains(err.Error(), "host-only") || strings.Contains(err.Error(), "not-for-the-repo")) {
					t.Errorf("error %v shows a value", err)
				}
				if refused := errors.Is(err, schema.ErrSecretNotAllowed); refused != tc.refused {
					t.Errorf("errors.Is(%v, ErrSecretNotAllowed) = %t, want %t", err, refused, tc.refused)
				}
			case err != nil:
				t.Errorf("Resolve: %v", err)
			case string(got) != tc.want:
				t.Errorf("value = %q, want %q", got, tc.want)
			}
		})
	}
	// The Secret in another namespace is refused before the reader is asked.
	if diff := cmp.Diff([]call{{"ops", "hook", "token"}, {"", "hook", "token"}, {"ops", "missing", "token"}}, calls); diff != "" {
		t.Errorf("Secret reads (-want +got):\n%s", diff)
	}
	var se *SecretError
	if _, err := without.Resolve(t.Context(), secret("ops", "hook")); !errors.As(err, &se) || !errors.Is(err, ErrNoSecretReader) {
		t.Errorf("error %v is not a SecretError wrapping ErrNoSecretReader", err)
	}
}

// TestURLFromHidden: a webhook URL from a secret never appears in errors, since its path
// or query is the credential.
func TestURLFromHidden(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	hook, _ := startHook(t, http.StatusForbidden, "bad token")
	for _, target := range []string{"http://" + closed, hook.URL} {
		t.Run(target, func(t *testing.T) {
			t.Setenv("GITFLEET_SECRET_TEST_ROBOT_URL", target+"/robot/send?access_token=tok-123\n")
			repo := fleet{
				hook:   "  webhook:\n    urlFrom: {env: GITFLEET_SECRET_TEST_ROBOT_URL}\n",
				mail:   mailSpec(2525, false, "{env: GITFLEET_SECRET_UNUSED}"),
				notify: []string{"hook"},
			}.load(t)
			err := New(repo, nil, testOptions(logr.Discard())).Drift(t.Context(), events)
			if err == nil {
				t.Fatal("Drift succeeded")
			}
			if msg := err.Error(); strings.Contains(msg, "tok-123") || strings.Contains(msg, "/robot/send") || !strings.Contains(msg, `env "GITFLEET_SECRET_TEST_ROBOT_URL"`) {
				t.Errorf("error %q shows the URL or does not name its reference", msg)
			}
		})
	}
}

// TestNoDriftNotify: without spec.driftNotify, or without events, nothing is sent.
func TestNoDriftNotify(t *testing.T) {
	hook, hookGot := startHook(t, http.StatusOK, "")
	for _, tc := range []struct {
		name   string
		fleet  fleet
		events []Drift
	}{
		{"no driftNotify", fleet{hook: hookSpec(hook.URL), mail: mailSpec(2525, false, "{env: GITFLEET_SECRET_X}"), noDriftNotify: true}, events},
		{"no events", fleet{hook: hookSpec(hook.URL), mail: mailSpec(2525, false, "{env: GITFLEET_SECRET_X}"), notify: []string{"hook"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deliveries, err := New(tc.fleet.load(t), nil, testOptions(logr.Discard())).Deliver(t.Context(), tc.events)
			if err != nil || deliveries != nil {
				t.Errorf("Deliver = %v, %v; want nothing", deliveries, err)
			}
		})
	}
	if n := len(hookGot); n != 0 {
		t.Errorf("the webhook got %d requests", n)
	}
	if err := New(nil, nil, DefaultOptions()).Drift(t.Context(), events); err != nil {
		t.Errorf("Drift without a repository: %v", err)
	}
}

// TestDocPayload keeps the example payload of doc.go what the code sends for the
// example batch described there.
func TestDocPayload(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	start, end := slices.Index(lines, "//\t{"), slices.Index(lines, "//\t}")
	if start < 0 || end < start {
		t.Fatal("doc.go has no example payload between \"//\\t{\" and \"//\\t}\"")
	}
	var documented strings.Builder
	for _, l := range lines[start : end+1] {
		documented.WriteString(strings.TrimPrefix(strings.TrimPrefix(l, "//"), "\t") + "\n")
	}

	tpl := &schema.NotifyTemplate{Spec: schema.NotifyTemplateSpec{
		Channel: "ops-hook",
		Header:  "[{{.Status}}] {{.PolicyName}} on {{.Cluster}}",
		Body:    "{{.WorkloadKind}} {{.Namespace}}/{{.Workload}} was {{.Value}} outside gitfleet",
	}}
	msgs, err := render(&schema.Repo{}, tpl, []Drift{{
		Cluster: "dev", App: "web", Object: "Deployment/shop-prod/web", Change: "modified",
		Action: "corrected", Revision: "3f2a1c9", At: t0,
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(newMessage("example", []string{"ops"}, msgs, externalURL), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(documented.String(), string(b)+"\n"); diff != "" {
		t.Errorf("doc.go's example payload is out of date (-doc +code):\n%s", diff)
	}
}
