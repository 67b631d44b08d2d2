package alerting

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gitfleet.dev/gitfleet/schema"
)

// NotifierURL is where Alertmanager posts the alerts of the channels it cannot send itself
// (SMS, WeChat official accounts, and webhooks it cannot express): the gitfleet notifier,
// which renders the NotifyTemplate and sends the message. The channel's name is appended,
// and the query says which template to render and, for SMS and WeChat, to whom.
const NotifierURL = "http://gitfleet-notifier.gitfleet-system.svc/v1/alerts/"

// Query parameters of the notifier URL.
const (
	NotifierParamTemplate = "template"
	NotifierParamGroup    = "group"
	NotifierParamTo       = "to"
)

// authorizationType is the scheme Alertmanager puts before a webhook's Authorization
// credentials; see the package documentation for what the Secret must hold.
const authorizationType = "Bearer"

// router builds the AlertmanagerConfigs of one cluster and collects the Secrets they read
// and the problems found, so that one render reports all of them.
type router struct {
	repo    *schema.Repo
	cluster string
	secrets []SecretCopy
	errs    schema.ErrorList
	// reported holds the channel fields already reported, so that a channel used by
	// several policies is reported once.
	reported map[string]bool
}

// routing builds the AlertmanagerConfig of one policy: a route matching the policy's
// alerts, one child route per receiver (each with continue, so that every receiver gets
// every alert), and the receivers: one per receiver group and (channel, template) pair
// for channels that reach people, one per pair for webhooks, which reach an endpoint.
// It returns nil when the policy reaches nobody; the reason is in r.errs.
func (r *router) routing(p *schema.AlertPolicy) *alertmanagerConfig {
	var receivers []amReceiver
	for i, n := range p.Spec.Notify {
		field := fmt.Sprintf("spec.notify[%d]", i)
		ch, tpl := r.repo.NotifyChannel(n.Channel), r.repo.NotifyTemplate(n.Template)
		if ch == nil || tpl == nil {
			r.errs = append(r.errs, p.Origin.Errorf(field, "channel %q or template %q is not in the repository", n.Channel, n.Template))
			continue
		}
		receivers = append(receivers, r.receivers(p, ch, tpl)...)
	}
	if len(receivers) == 0 {
		if len(r.errs) == 0 {
			r.errs = append(r.errs, p.Origin.Errorf("spec.notify", "the policy's channels reach none of the receivers of groups %s", strings.Join(p.Spec.ReceiverGroups, ", ")))
		}
		return nil
	}
	rt := &route{
		// The root route needs a receiver; it is used only when no child route matches,
		// which cannot happen as the children match everything.
		Receiver: receivers[0].Name,
		// One notification per alert: a NotifyTemplate describes one alert.
		GroupBy:  []string{"..."},
		Matchers: []matcher{{Name: AlertLabelPolicy, Value: p.Metadata.Name, MatchType: "="}},
	}
	for _, rc := range receivers {
		rt.Routes = append(rt.Routes, route{Receiver: rc.Name, Continue: true})
	}
	return &alertmanagerConfig{
		APIVersion: "monitoring.coreos.com/v1alpha1",
		Kind:       "AlertmanagerConfig",
		Metadata:   objectMeta{Name: objectName(p), Namespace: Namespace, Labels: objectLabels(p)},
		Spec:       alertmanagerConfigSpec{Route: rt, Receivers: receivers},
	}
}

// receivers are the receivers of one (channel, template) pair of a policy.
func (r *router) receivers(p *schema.AlertPolicy, ch *schema.NotifyChannel, tpl *schema.NotifyTemplate) []amReceiver {
	pair := ch.Metadata.Name + "." + tpl.Metadata.Name
	switch ch.Type() {
	case schema.ChannelWebhook:
		return []amReceiver{{Name: pair, WebhookConfigs: []webhookConfig{r.webhook(ch, tpl)}}}
	case schema.ChannelEmail:
		cfg, ok := r.email(p, ch, tpl)
		if !ok {
			return nil
		}
		var out []amReceiver
		for _, g := range p.Spec.ReceiverGroups {
			if to := r.groupAddresses(g, func(s schema.ReceiverSpec) string { return s.Email }); len(to) > 0 {
				c := cfg
				c.To = strings.Join(to, ", ")
				out = append(out, amReceiver{Name: g + "." + pair, EmailConfigs: []emailConfig{c}})
			}
		}
		return out
	case schema.ChannelSMS, schema.ChannelWeChat:
		address := func(s schema.ReceiverSpec) string { return s.Mobile }
		if ch.Type() == schema.ChannelWeChat {
			address = func(s schema.ReceiverSpec) string { return s.WeChatOpenID }
		}
		var out []amReceiver
		for _, g := range p.Spec.ReceiverGroups {
			if to := r.groupAddresses(g, address); len(to) > 0 {
				q := url.Values{NotifierParamTemplate: {tpl.Metadata.Name}, NotifierParamGroup: {g}, NotifierParamTo: to}
				out = append(out, amReceiver{Name: g + "." + pair, WebhookConfigs: []webhookConfig{notifierWebhook(ch, q)}})
			}
		}
		return out
	}
	r.errs = append(r.errs, ch.Origin.Errorf("spec", "channel %q has no single type: set one of email, sms, wechat or webhook", ch.Metadata.Name))
	return nil
}

// groupAddresses are the addresses of a group's receivers on one channel type, in the
// group's order; receivers without one are passed over (schema checks that the policy
// reaches someone).
func (r *router) groupAddresses(group string, address func(schema.ReceiverSpec) string) []string {
	g := r.repo.ReceiverGroup(group)
	if g == nil {
		return nil
	}
	var out []string
	for _, name := range g.Spec.Receivers {
		if rc := r.repo.Receiver(name); rc != nil {
			if a := address(rc.Spec); a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// email is the email configuration of a channel and template, without the recipients.
func (r *router) email(p *schema.AlertPolicy, ch *schema.NotifyChannel, tpl *schema.NotifyTemplate) (emailConfig, bool) {
	e := ch.Spec.Email
	password, ok := r.secret(p, ch, "spec.email.password", e.Password, "the SMTP password")
	if !ok {
		return emailConfig{}, false
	}
	subject, err := alertmanagerTemplate(tpl.Spec.Header, true)
	if err != nil {
		r.errs = append(r.errs, tpl.Origin.Errorf("spec.header", "cannot be turned into an Alertmanager template: %v", err))
		return emailConfig{}, false
	}
	body, err := alertmanagerTemplate(tpl.Spec.Body, false)
	if err != nil {
		r.errs = append(r.errs, tpl.Origin.Errorf("spec.body", "cannot be turned into an Alertmanager template: %v", err))
		return emailConfig{}, false
	}
	user := e.From
	if a, err := mail.ParseAddress(e.From); err == nil {
		user = a.Address
	}
	html := emailHTML(body)
	return emailConfig{
		SendResolved: ptr(true),
		From:         e.From,
		Smarthost:    net.JoinHostPort(e.SMTPHost, strconv.Itoa(e.SMTPPort)),
		AuthUsername: user,
		AuthPassword: password,
		Headers:      []keyValue{{Key: "Subject", Value: subject}},
		HTML:         &html,
		Text:         &body,
		// Alertmanager requires STARTTLS unless told otherwise; port 465 is TLS from the
		// first byte whatever this says.
		RequireTLS: ptr(e.TLS),
	}, true
}

// webhook posts straight to the channel's endpoint when Alertmanager can express all of
// the channel: its URL (literal, or from a Secret) and at most an Authorization header
// from a Secret. Otherwise the notifier relays it: Alertmanager's webhook configuration
// has no other headers, and cannot read an environment variable or a file of gitfleet.
func (r *router) webhook(ch *schema.NotifyChannel, tpl *schema.NotifyTemplate) webhookConfig {
	w := ch.Spec.Webhook
	direct := (w.URL != "" || (w.URLFrom != nil && w.URLFrom.Secret != nil)) && len(w.Headers) <= 1
	var auth *schema.SecretRef
	if len(w.Headers) == 1 {
		h := w.Headers[0]
		direct = direct && strings.EqualFold(h.Name, "Authorization") && h.ValueFrom != nil && h.ValueFrom.Secret != nil
		auth = h.ValueFrom
	}
	if !direct {
		return notifierWebhook(ch, url.Values{NotifierParamTemplate: {tpl.Metadata.Name}})
	}
	cfg := webhookConfig{SendResolved: ptr(true), URL: w.URL}
	if w.URLFrom != nil {
		cfg.URLSecret = r.copySecret(ch, "spec.webhook.urlFrom", w.URLFrom.Secret)
	}
	if auth != nil {
		cfg.HTTPConfig = &httpConfig{Authorization: &safeAuthorization{Type: authorizationType, Credentials: r.copySecret(ch, "spec.webhook.headers[0].valueFrom", auth.Secret)}}
	}
	return cfg
}

// notifierWebhook posts a channel's alerts to the gitfleet notifier.
func notifierWebhook(ch *schema.NotifyChannel, q url.Values) webhookConfig {
	return webhookConfig{SendResolved: ptr(true), URL: NotifierURL + url.PathEscape(ch.Metadata.Name) + "?" + q.Encode()}
}

// secret resolves a credential Alertmanager reads itself. Only a Secret can be given to
// Alertmanager, which reads it in its own namespace: an environment variable or a file
// of the gitfleet process stays on gitfleet's machine, and gitfleet does not copy such
// values into member clusters.
func (r *router) secret(p *schema.AlertPolicy, ch *schema.NotifyChannel, field string, ref *schema.SecretRef, what string) (*secretKeySelector, bool) {
	switch {
	case ref == nil:
		r.errs = append(r.errs, ch.Origin.Errorf(field, "%s is required", what))
		return nil, false
	case ref.Secret != nil:
		return r.copySecret(ch, field, ref.Secret), true
	}
	kind, sub := "an environment variable", field+".env"
	if ref.File != "" {
		kind, sub = "a file", field+".file"
	}
	if r.report(ch, sub) {
		r.errs = append(r.errs, ch.Origin.Errorf(sub, "channel %q is sent by the Alertmanager of cluster %q (policy %q), which reads %s from a Secret in its own cluster; this is %s of the gitfleet process, which gitfleet does not copy into member clusters: refer to a Secret of gitfleet's cluster instead, {secret: {name: NAME, key: KEY}}, and gitfleet copies it into %s of each cluster that uses the channel",
			ch.Metadata.Name, r.cluster, p.Metadata.Name, what, kind, Namespace))
	}
	return nil, false
}

// copySecret records that a Secret key must exist in the member cluster's Namespace and
// returns the selector that reads it there. The copy keeps the Secret's name and key.
func (r *router) copySecret(ch *schema.NotifyChannel, field string, ref *schema.SecretKeyRef) *secretKeySelector {
	want := SecretCopy{Name: ref.Name, Key: ref.Key, From: *ref, Channel: ch.Metadata.Name, Field: field}
	for _, s := range r.secrets {
		if s.Name != want.Name || s.Key != want.Key {
			continue
		}
		if s.From != want.From && r.report(ch, field+".secret") {
			r.errs = append(r.errs, ch.Origin.Errorf(field+".secret", "Secret %s key %s would be copied into %s of cluster %q from two places: %s (channel %q) and %s; give one of the Secrets another name",
				ref.Name, ref.Key, Namespace, r.cluster, describeSecret(s.From), s.Channel, describeSecret(*ref)))
		}
		return &secretKeySelector{Name: ref.Name, Key: ref.Key}
	}
	r.secrets = append(r.secrets, want)
	return &secretKeySelector{Name: ref.Name, Key: ref.Key}
}

// report says whether a problem with a channel's field is new, and remembers it.
func (r *router) report(ch *schema.NotifyChannel, field string) bool {
	key := ch.Metadata.Name + "\x00" + field
	if r.reported[key] {
		return false
	}
	r.reported[key] = true
	return true
}

func describeSecret(ref schema.SecretKeyRef) string {
	if ref.Namespace == "" {
		return fmt.Sprintf("Secret %s in gitfleet's namespace", ref.Name)
	}
	return fmt.Sprintf("Secret %s/%s", ref.Namespace, ref.Name)
}

func ptr[T any](v T) *T { return &v }
