package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/schema"
)

// Drift is one object that someone changed or deleted outside gitfleet.
type Drift struct {
	// Cluster and App own the object.
	Cluster, App string
	// Object is the object as ssa names it: Kind/namespace/name, or Kind/name for
	// cluster-scoped objects.
	Object string
	// Change is "modified" or "deleted".
	Change string
	// Action is "corrected" (drift: correct) or "reported" (drift: alert).
	Action string
	// By is the field manager that made the change, as the object's managedFields say;
	// empty when nobody can tell (a deletion leaves no trace of who made it).
	By string
	// Revision is the fleet revision applied when the drift was seen: the last commit
	// that changed something outside status/, never a status commit.
	Revision string
	// At is when the drift was seen, or, for a resolved one, when the object was seen to
	// match the fleet repository again.
	At time.Time
	// Resolved says the object matches the fleet repository again (someone fixed it in
	// git or in the cluster): the notification that closes the one sent when it drifted.
	Resolved bool
	// Since is when a resolved drift was first seen; zero when unknown.
	Since time.Time
}

// status is the drift's Alertmanager status.
func (d Drift) status() string {
	if d.Resolved {
		return resolved
	}
	return firing
}

// Options say how a Notifier reaches webhook receivers and mail servers.
type Options struct {
	// HTTPClient posts webhooks. Nil gives the Notifier a client of its own that does not
	// follow redirects: a redirect would carry the channel's headers, tokens included, to
	// an address the repository did not name, so a 3xx answer is an error instead.
	HTTPClient *http.Client
	// WebhookTimeout bounds one webhook request, so that a receiver that hangs cannot
	// hold up the drift watcher. Zero leaves only the caller's context.
	WebhookTimeout time.Duration
	// SMTPTimeout bounds one mail delivery: the dial and the whole SMTP conversation.
	// Zero leaves only the caller's context.
	SMTPTimeout time.Duration
	// TLSConfig is the base of the TLS configuration for SMTP, both implicit TLS
	// (tls: true) and STARTTLS: set RootCAs for a mail server with a private CA.
	// ServerName defaults to the channel's smtpHost. Nil uses the system's roots.
	TLSConfig *tls.Config
	// HelloName is the host name sent with EHLO. Empty sends "localhost", as net/smtp
	// does; some servers refuse that and want the sending host's name.
	HelloName string
	// ExternalURL links to the fleet repository or its status pages: it is externalURL
	// and generatorURL of the webhook payload and the footer of mails. Empty leaves them
	// out.
	ExternalURL string
	// Log receives one line per channel and send; secret values are never logged.
	Log logr.Logger
}

// DefaultOptions returns the options used unless told otherwise.
func DefaultOptions() Options {
	return Options{
		WebhookTimeout: 10 * time.Second,
		SMTPTimeout:    30 * time.Second,
		Log:            logr.Discard(),
	}
}

// Notifier sends drift notifications through the channels that Fleet.spec.driftNotify
// names. It is safe for concurrent use.
type Notifier struct {
	repo    *schema.Repo
	secrets SecretResolver
	opts    Options
	client  *http.Client
	// skipLogged holds the SMS and WeChat channels whose skip was logged, so that each is
	// logged once per Notifier rather than at every drift.
	skipLogged sync.Map
}

// New returns a Notifier for the repository's drift notifications. A nil secrets resolves
// what DefaultEnvFileOptions allow: env references with the default prefix only.
func New(repo *schema.Repo, secrets SecretResolver, opts Options) *Notifier {
	if secrets == nil {
		secrets = EnvFileResolver(DefaultEnvFileOptions())
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &Notifier{repo: repo, secrets: secrets, opts: opts, client: client}
}

// Outcome is what became of one (channel, template) pair.
type Outcome string

const (
	// Sent: the receiver or mail server accepted the notification.
	Sent Outcome = "sent"
	// Skipped: the channel is of a type gitfleet does not send itself (SMS, WeChat).
	Skipped Outcome = "skipped"
	// Failed: see Delivery.Err.
	Failed Outcome = "failed"
)

// Delivery is what one (channel, template) pair of Fleet.spec.driftNotify did with a
// batch of drift events.
type Delivery struct {
	Channel, Template string
	Type              schema.ChannelType
	Outcome           Outcome
	// Recipients is how many mail addresses a mail went to (email channels).
	Recipients int
	// Err is a *ChannelError when Outcome is Failed.
	Err error
}

// maxParallel bounds how many channels send at once; a fleet has a handful.
const maxParallel = 4

// Drift sends one notification per (channel, template) pair of Fleet.spec.driftNotify for
// the batch of drift events; nil driftNotify or no events = nothing sent. Errors of one
// channel do not stop the others; the returned error joins them (each a *ChannelError).
func (n *Notifier) Drift(ctx context.Context, events []Drift) error {
	_, err := n.Deliver(ctx, events)
	return err
}

// Deliver is Drift that also says what each pair did, in the order of
// Fleet.spec.driftNotify.notify, for metrics and status.
func (n *Notifier) Deliver(ctx context.Context, events []Drift) ([]Delivery, error) {
	return n.deliverTo(ctx, n.driftNotify(), events)
}

// RolloutHalted tells the receivers of an App's rollout notify (its strategy's, else the
// Fleet's driftNotify) that its rollout stopped at a wave. It goes through the same
// templates as drift: the object is the wave, the change "halted", the action the reason.
func (n *Notifier) RolloutHalted(ctx context.Context, h RolloutHalt) error {
	a := n.repo.App(h.App)
	if a == nil {
		return nil
	}
	ev := Drift{Cluster: h.Cluster, App: h.App, Object: "rollout wave " + h.Wave, Change: "halted", Action: h.Reason, Revision: h.Revision, At: h.At}
	if h.RolledBack {
		ev.Action += " (the wave was rolled back)"
	}
	_, err := n.deliverTo(ctx, n.repo.RolloutNotify(a), []Drift{ev})
	return err
}

// RolloutHalt is a halted rollout to notify.
type RolloutHalt struct {
	App, Revision, Wave, Cluster, Reason string
	At                                   time.Time
	RolledBack                           bool
}

func (n *Notifier) deliverTo(ctx context.Context, dn *schema.DriftNotify, events []Drift) ([]Delivery, error) {
	if dn == nil || len(events) == 0 {
		return nil, nil
	}
	out := make([]Delivery, len(dn.Notify))
	var g errgroup.Group
	g.SetLimit(maxParallel)
	for i, m := range dn.Notify {
		g.Go(func() error {
			out[i] = n.deliver(ctx, m, dn.ReceiverGroups, events)
			return nil // a failed channel must not cancel the others
		})
	}
	_ = g.Wait()
	var errs []error
	for _, d := range out {
		if d.Err != nil {
			errs = append(errs, d.Err)
		}
	}
	return out, errors.Join(errs...)
}

func (n *Notifier) driftNotify() *schema.DriftNotify {
	if n.repo == nil || n.repo.Fleet == nil {
		return nil
	}
	return n.repo.Fleet.Spec.DriftNotify
}

func (n *Notifier) fleetName() string {
	if n.repo == nil || n.repo.Fleet == nil {
		return ""
	}
	return n.repo.Fleet.Metadata.Name
}

// deliver sends the batch through one (channel, template) pair.
func (n *Notifier) deliver(ctx context.Context, m schema.NotifyMethod, groups []string, events []Drift) Delivery {
	d := Delivery{Channel: m.Channel, Template: m.Template}
	log := n.opts.Log.WithValues("channel", m.Channel, "template", m.Template)
	fail := func(err error) Delivery {
		d.Outcome, d.Err = Failed, &ChannelError{Channel: m.Channel, Template: m.Template, Type: d.Type, Err: err}
		log.Error(err, "drift notification failed", "type", d.Type, "drifts", len(events))
		return d
	}
	// Load validated both references; a Notifier built over an unvalidated Repo still
	// says which is missing rather than panicking.
	ch := n.repo.NotifyChannel(m.Channel)
	if ch == nil {
		return fail(fmt.Errorf("no NotifyChannel named %q in the repository", m.Channel))
	}
	d.Type = ch.Type()
	tpl := n.repo.NotifyTemplate(m.Template)
	if tpl == nil {
		return fail(fmt.Errorf("no NotifyTemplate named %q in the repository", m.Template))
	}

	var err error
	switch d.Type {
	case schema.ChannelSMS, schema.ChannelWeChat:
		// Tencent Cloud SMS and WeChat official-account messages need the vendors' SDKs and
		// signed requests; gitfleet does not carry them. Drift still reaches the status
		// commit, the Event and the metric.
		if _, logged := n.skipLogged.LoadOrStore(m.Channel, true); !logged {
			log.Info("drift notifications are not sent through SMS or WeChat channels; use an email or webhook channel (an SMS or WeChat gateway behind a webhook works)", "type", d.Type)
		}
		d.Outcome = Skipped
		return d
	case schema.ChannelWebhook:
		var msgs []message
		if msgs, err = render(n.repo, tpl, events); err == nil {
			err = n.sendWebhook(ctx, ch.Spec.Webhook, groups, msgs)
		}
	case schema.ChannelEmail:
		var msgs []message
		if msgs, err = render(n.repo, tpl, events); err == nil {
			d.Recipients, err = n.sendEmail(ctx, ch.Spec.Email, groups, msgs)
		}
	default:
		err = fmt.Errorf("NotifyChannel %q sets no channel type, or several", m.Channel)
	}
	if err != nil {
		return fail(err)
	}
	d.Outcome = Sent
	log.Info("drift notification sent", "type", d.Type, "drifts", len(events), "recipients", d.Recipients)
	return d
}
