package schema

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	// alertHeaderName is an HTTP header name (RFC 9110 token).
	alertHeaderName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	// alertMobile is a phone number: digits, optionally after +, as SMS gateways take it.
	alertMobile = regexp.MustCompile(`^\+?[0-9]{5,15}$`)
	// alertOpenID is a WeChat OpenID (28 URL-safe characters in practice).
	alertOpenID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	alertDigits = regexp.MustCompile(`^[0-9]+$`)
)

// validate checks a NotifyChannel: exactly one type, each well formed, secrets only by
// reference.
func (c *NotifyChannel) validate() ErrorList {
	o := c.Origin
	errs := validateName(o, c.Metadata.Name)
	switch types := c.Spec.types(); len(types) {
	case 0:
		errs = append(errs, o.Errorf("spec", "a NotifyChannel needs one of email, sms, wechat or webhook"))
	case 1:
	default:
		errs = append(errs, o.Errorf("spec."+string(types[1]), "a NotifyChannel has one type and %s is already set; declare another NotifyChannel for %s", types[0], types[1]))
	}
	if e := c.Spec.Email; e != nil {
		errs = append(errs, e.validate(o, "spec.email")...)
	}
	if s := c.Spec.SMS; s != nil {
		errs = append(errs, validateSecretRef(o, "spec.sms.appKey", s.AppKey, true)...)
		switch {
		case s.SDKAppID == "":
			errs = append(errs, o.Errorf("spec.sms.sdkAppID", "sdkAppID is required: the SdkAppID of the SMS application, a number such as 1400000000"))
		case !alertDigits.MatchString(s.SDKAppID):
			errs = append(errs, o.Errorf("spec.sms.sdkAppID", "%q is not an SdkAppID: it is a number such as 1400000000", s.SDKAppID))
		}
		if s.Extend != "" && !alertDigits.MatchString(s.Extend) {
			errs = append(errs, o.Errorf("spec.sms.extend", "%q is not an extension code: use digits only", s.Extend))
		}
	}
	if w := c.Spec.WeChat; w != nil {
		if w.AppID == "" {
			errs = append(errs, o.Errorf("spec.wechat.appID", "appID is required: the AppID of the WeChat official account"))
		}
		errs = append(errs, validateSecretRef(o, "spec.wechat.appSecret", w.AppSecret, true)...)
	}
	if w := c.Spec.Webhook; w != nil {
		errs = append(errs, w.validate(o, "spec.webhook")...)
	}
	return errs
}

func (e *EmailChannel) validate(o Origin, field string) ErrorList {
	var errs ErrorList
	if e.From == "" {
		errs = append(errs, o.Errorf(field+".from", "from is required: the sender's address, for example alerts@example.com"))
	} else if _, err := mail.ParseAddress(e.From); err != nil {
		errs = append(errs, o.Errorf(field+".from", "%q is not an email address; write it as alerts@example.com or \"Alerts <alerts@example.com>\"", e.From))
	}
	errs = append(errs, validateSecretRef(o, field+".password", e.Password, true)...)
	if msg := checkAlertHost(e.SMTPHost, "smtpPort"); msg != "" {
		errs = append(errs, o.Errorf(field+".smtpHost", "%s", msg))
	}
	if e.SMTPPort < 1 || e.SMTPPort > 65535 {
		errs = append(errs, o.Errorf(field+".smtpPort", "port %d is out of range: use 1-65535 (commonly 465 with tls, 25 or 587 without)", e.SMTPPort))
	}
	return errs
}

// checkAlertHost checks a host name or IP address written without scheme or port.
func checkAlertHost(host, portField string) string {
	switch {
	case host == "":
		return "the server's host name or IP address is required"
	case strings.Contains(host, "://"):
		return fmt.Sprintf("write the host alone, without a scheme: %q", host[strings.Index(host, "://")+3:])
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		return fmt.Sprintf("write the host alone (%q) and the port in %s (%s)", h, portField, p)
	}
	if net.ParseIP(host) == nil && (len(host) > 253 || !dnsSubdomain.MatchString(strings.ToLower(host))) {
		return fmt.Sprintf("%q is not a host name or IP address", host)
	}
	return ""
}

func (w *WebhookChannel) validate(o Origin, field string) ErrorList {
	var errs ErrorList
	switch {
	case w.URL == "" && w.URLFrom == nil:
		errs = append(errs, o.Errorf(field+".url", "url is required: the http:// or https:// address to post to (or urlFrom, when the URL holds a credential)"))
	case w.URL != "" && w.URLFrom != nil:
		errs = append(errs, o.Errorf(field+".urlFrom", "set url or urlFrom, not both"))
	case w.URL != "":
		if msg := checkWebhookURL(w.URL); msg != "" {
			errs = append(errs, o.Errorf(field+".url", "%s", msg))
		}
	default:
		errs = append(errs, validateSecretRef(o, field+".urlFrom", w.URLFrom, true)...)
	}
	seen := map[string]int{}
	for i, h := range w.Headers {
		hf := fmt.Sprintf("%s.headers[%d]", field, i)
		switch {
		case h.Name == "":
			errs = append(errs, o.Errorf(hf+".name", "the header name is required"))
		case !alertHeaderName.MatchString(h.Name):
			errs = append(errs, o.Errorf(hf+".name", "%q is not an HTTP header name: use letters, digits and '-'", h.Name))
		default:
			if j, dup := seen[strings.ToLower(h.Name)]; dup {
				errs = append(errs, o.Errorf(hf+".name", "header %q is already set in headers[%d]", h.Name, j))
			}
			seen[strings.ToLower(h.Name)] = i
		}
		switch {
		case h.Value != "" && h.ValueFrom != nil:
			errs = append(errs, o.Errorf(hf+".valueFrom", "set value or valueFrom, not both"))
		case h.ValueFrom != nil:
			errs = append(errs, validateSecretRef(o, hf+".valueFrom", h.ValueFrom, true)...)
		case h.Value == "":
			errs = append(errs, o.Errorf(hf+".value", "set value, or valueFrom to take it from a secret"))
		case alertCredentialName(h.Name):
			errs = append(errs, o.Errorf(hf+".value", "header %q carries a credential, which must not be written into the repository; refer to it with valueFrom: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}", h.Name))
		}
	}
	return errs
}

// checkWebhookURL checks a literal webhook URL: http or https, a host, and no credential
// in it.
func checkWebhookURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Sprintf("%q is not an http:// or https:// URL", raw)
	}
	if u.User != nil {
		return "the URL carries a user and password, which must not be written into the repository; give the whole URL by reference in urlFrom, or send the credential in a header with valueFrom"
	}
	for _, key := range sortedKeys(u.Query()) {
		if alertCredentialName(key) {
			return fmt.Sprintf("query parameter %q looks like a credential, which must not be written into the repository; give the whole URL by reference in urlFrom instead", key)
		}
	}
	return ""
}

// alertCredentialName reports whether a header or query parameter name usually carries a
// credential: such values are given by reference.
func alertCredentialName(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "key", "sign", "sig", "signature", "cookie", "authorization", "proxy-authorization":
		return true
	}
	for _, part := range []string{"auth", "token", "secret", "passw", "credential", "apikey", "api-key", "api_key", "session"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return strings.HasSuffix(n, "-key") || strings.HasSuffix(n, "_key")
}

// validate checks a NotifyTemplate: its channel exists, and header and body are
// templates over NotifyData.
func (t *NotifyTemplate) validate(r *Repo) ErrorList {
	o := t.Origin
	errs := validateName(o, t.Metadata.Name)
	var ch *NotifyChannel
	switch {
	case t.Spec.Channel == "":
		errs = append(errs, o.Errorf("spec.channel", "channel is required: the NotifyChannel this template is for%s", knownNames(r.NotifyChannels, (*NotifyChannel).Name)))
	default:
		if ch = r.NotifyChannel(t.Spec.Channel); ch == nil {
			errs = append(errs, o.Errorf("spec.channel", "no NotifyChannel named %q in the repository%s", t.Spec.Channel, knownNames(r.NotifyChannels, (*NotifyChannel).Name)))
		}
	}
	switch {
	case t.Spec.Header == "" && ch != nil && ch.Type() == ChannelEmail:
		errs = append(errs, o.Errorf("spec.header", "header is required for the email channel %q: it is the subject", ch.Metadata.Name))
	case t.Spec.Header != "":
		if msg := checkNotifyTemplate(t.Spec.Header); msg != "" {
			errs = append(errs, o.Errorf("spec.header", "%s", msg))
		}
	}
	if t.Spec.Body == "" {
		errs = append(errs, o.Errorf("spec.body", "body is required: the message text, for example \"{{.MetricName}} of {{.Cluster}} is {{.Value}}{{.Unit}}\""))
	} else if msg := checkNotifyTemplate(t.Spec.Body); msg != "" {
		errs = append(errs, o.Errorf("spec.body", "%s", msg))
	}
	return errs
}

// validate checks a Receiver: at least one way to reach the person, each well formed.
func (rc *Receiver) validate() ErrorList {
	o, s := rc.Origin, rc.Spec
	errs := validateName(o, rc.Metadata.Name)
	if s.Mobile == "" && s.Email == "" && s.WeChatOpenID == "" {
		errs = append(errs, o.Errorf("spec", "a Receiver needs at least one of mobile, email or wechatOpenID, or no channel can reach them"))
	}
	if s.Mobile != "" && !alertMobile.MatchString(s.Mobile) {
		errs = append(errs, o.Errorf("spec.mobile", "%q is not a phone number: write 5 to 15 digits, optionally after a +, without spaces, for example \"+8613800000000\"", s.Mobile))
	}
	if s.Email != "" {
		if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email {
			errs = append(errs, o.Errorf("spec.email", "%q is not an email address; write it as name@example.com", s.Email))
		}
	}
	if s.WeChatOpenID != "" && !alertOpenID.MatchString(s.WeChatOpenID) {
		errs = append(errs, o.Errorf("spec.wechatOpenID", "%q is not a WeChat OpenID: it has letters, digits, '-' and '_' only", s.WeChatOpenID))
	}
	return errs
}

// validate checks a ReceiverGroup: one or more existing receivers, each once.
func (g *ReceiverGroup) validate(r *Repo) ErrorList {
	o := g.Origin
	errs := validateName(o, g.Metadata.Name)
	if len(g.Spec.Receivers) == 0 {
		errs = append(errs, o.Errorf("spec.receivers", "a ReceiverGroup needs at least one receiver: list Receiver names%s", knownNames(r.Receivers, (*Receiver).Name)))
	}
	for i, name := range g.Spec.Receivers {
		field := fmt.Sprintf("spec.receivers[%d]", i)
		switch {
		case slices.Index(g.Spec.Receivers, name) < i:
			errs = append(errs, o.Errorf(field, "receiver %q is listed twice (also at receivers[%d])", name, slices.Index(g.Spec.Receivers, name)))
		case r.Receiver(name) == nil:
			errs = append(errs, o.Errorf(field, "no Receiver named %q in the repository%s", name, knownNames(r.Receivers, (*Receiver).Name)))
		}
	}
	return errs
}
