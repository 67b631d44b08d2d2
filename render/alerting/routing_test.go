package alerting

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

// TestRoutingChannels checks the AlertmanagerConfig of a policy that notifies two
// receiver groups through email, SMS and three kinds of webhook.
func TestRoutingChannels(t *testing.T) {
	repo := load(t, withFiles(map[string]string{
		"alerting/policies/all-channels.yaml": doc("AlertPolicy", "all-channels", `  cluster: dev
  type: node
  rules: [{metric: node_ready}]
  receiverGroups: [ops, shop-oncall]
  notify:
  - {channel: ops-mail, template: ops-mail-default}
  - {channel: ops-sms, template: ops-sms-short}
  - {channel: pager, template: pager-event}
  - {channel: chat, template: chat-text}
  - {channel: robot, template: robot-text}
`),
	}))
	r := &router{repo: repo, cluster: "dev", reported: map[string]bool{}}
	got := r.routing(repo.AlertPolicy("all-channels"))
	if len(r.errs) > 0 {
		t.Fatal(r.errs)
	}

	tpl := repo.NotifyTemplate("ops-mail-default").Spec
	subject, _ := alertmanagerTemplate(tpl.Header, true)
	body, _ := alertmanagerTemplate(tpl.Body, false)
	html := emailHTML(body)
	mail := func(to string) emailConfig {
		return emailConfig{
			SendResolved: ptr(true), To: to, From: "Fleet Alerts <alerts@example.com>",
			Smarthost: "smtp.example.com:465", AuthUsername: "alerts@example.com",
			AuthPassword: &secretKeySelector{Name: "smtp", Key: "password"},
			Headers:      []keyValue{{Key: "Subject", Value: subject}},
			HTML:         &html, Text: &body, RequireTLS: ptr(true),
		}
	}
	hook := func(url string) []webhookConfig { return []webhookConfig{{SendResolved: ptr(true), URL: url}} }
	want := &alertmanagerConfig{
		APIVersion: "monitoring.coreos.com/v1alpha1",
		Kind:       "AlertmanagerConfig",
		Metadata: objectMeta{Name: "gitfleet-alert-all-channels", Namespace: "kube-system", Labels: map[string]string{
			"gitfleet.dev/alerting": "true", "gitfleet.dev/alert-policy": "all-channels",
		}},
		Spec: alertmanagerConfigSpec{
			Route: &route{
				Receiver: "ops.ops-mail.ops-mail-default",
				GroupBy:  []string{"..."},
				Matchers: []matcher{{Name: "policy", Value: "all-channels", MatchType: "="}},
				Routes: []route{
					{Receiver: "ops.ops-mail.ops-mail-default", Continue: true},
					{Receiver: "shop-oncall.ops-mail.ops-mail-default", Continue: true},
					{Receiver: "ops.ops-sms.ops-sms-short", Continue: true},
					{Receiver: "shop-oncall.ops-sms.ops-sms-short", Continue: true},
					{Receiver: "pager.pager-event", Continue: true},
					{Receiver: "chat.chat-text", Continue: true},
					{Receiver: "robot.robot-text", Continue: true},
				},
			},
			Receivers: []amReceiver{
				// One email per group, to the group's addresses.
				{Name: "ops.ops-mail.ops-mail-default", EmailConfigs: []emailConfig{mail("alice@example.com, bob@example.com")}},
				{Name: "shop-oncall.ops-mail.ops-mail-default", EmailConfigs: []emailConfig{mail("bob@example.com")}},
				// SMS through the notifier, to the group's mobiles (bob has none).
				{Name: "ops.ops-sms.ops-sms-short", WebhookConfigs: hook("http://gitfleet-notifier.gitfleet-system.svc/v1/alerts/ops-sms?group=ops&template=ops-sms-short&to=%2B8613800000000")},
				{Name: "shop-oncall.ops-sms.ops-sms-short", WebhookConfigs: hook("http://gitfleet-notifier.gitfleet-system.svc/v1/alerts/ops-sms?group=shop-oncall&template=ops-sms-short&to=13800000001")},
				// Webhooks once each: straight to the endpoint with the Authorization Secret,
				// straight to a URL from a Secret, and through the notifier for a URL in
				// gitfleet's environment.
				{Name: "pager.pager-event", WebhookConfigs: []webhookConfig{{
					SendResolved: ptr(true), URL: "https://pager.example.com/v1/events",
					HTTPConfig: &httpConfig{Authorization: &safeAuthorization{Type: "Bearer", Credentials: &secretKeySelector{Name: "pager", Key: "token"}}},
				}}},
				{Name: "chat.chat-text", WebhookConfigs: []webhookConfig{{SendResolved: ptr(true), URLSecret: &secretKeySelector{Name: "chat-robot", Key: "url"}}}},
				{Name: "robot.robot-text", WebhookConfigs: hook("http://gitfleet-notifier.gitfleet-system.svc/v1/alerts/robot?template=robot-text")},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AlertmanagerConfig (-want +got):\n%s", diff)
	}
	wantSecrets := []SecretCopy{
		{Name: "smtp", Key: "password", From: schema.SecretKeyRef{Name: "smtp", Key: "password"}, Channel: "ops-mail", Field: "spec.email.password"},
		{Name: "pager", Key: "token", From: schema.SecretKeyRef{Name: "pager", Key: "token"}, Channel: "pager", Field: "spec.webhook.headers[0].valueFrom"},
		{Name: "chat-robot", Key: "url", From: schema.SecretKeyRef{Namespace: "gitfleet-system", Name: "chat-robot", Key: "url"}, Channel: "chat", Field: "spec.webhook.urlFrom"},
	}
	if diff := cmp.Diff(wantSecrets, r.secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
}

// TestWebhookRelayed checks which webhooks the notifier relays: those with a header
// other than Authorization (literal or not), or a credential Alertmanager cannot read.
func TestWebhookRelayed(t *testing.T) {
	channel := func(name, spec string) map[string]string {
		return map[string]string{
			"alerting/channels/" + name + ".yaml":  doc("NotifyChannel", name, spec),
			"alerting/templates/" + name + ".yaml": doc("NotifyTemplate", name+"-t", "  channel: "+name+"\n  body: hi\n"),
		}
	}
	files := map[string]string{}
	cases := map[string]string{
		"literal-header": "  webhook:\n    url: https://h.example.com/\n    headers: [{name: X-Team, value: ops}]\n",
		"secret-header":  "  webhook:\n    url: https://h.example.com/\n    headers: [{name: X-Api-Key, valueFrom: {secret: {name: k, key: k}}}]\n",
		"env-auth":       "  webhook:\n    url: https://h.example.com/\n    headers: [{name: Authorization, valueFrom: {env: GITFLEET_SECRET_HOOK_TOKEN}}]\n",
		"file-url":       "  webhook:\n    urlFrom: {file: etc/hook-url}\n",
		"plain":          "  webhook:\n    url: https://h.example.com/x?team=ops\n",
	}
	for name, spec := range cases {
		for k, v := range channel(name, spec) {
			files[k] = v
		}
	}
	repo := load(t, withFiles(files))
	r := &router{repo: repo, cluster: "dev", reported: map[string]bool{}}
	got := map[string]webhookConfig{}
	for name := range cases {
		got[name] = r.webhook(repo.NotifyChannel(name), repo.NotifyTemplate(name+"-t"))
	}
	relay := func(name string) webhookConfig {
		return webhookConfig{SendResolved: ptr(true), URL: NotifierURL + name + "?template=" + name + "-t"}
	}
	want := map[string]webhookConfig{
		"literal-header": relay("literal-header"),
		"secret-header":  relay("secret-header"),
		"env-auth":       relay("env-auth"),
		"file-url":       relay("file-url"),
		"plain":          {SendResolved: ptr(true), URL: "https://h.example.com/x?team=ops"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	if len(r.secrets) != 0 || len(r.errs) != 0 {
		t.Errorf("relayed webhooks need no Secret in the member cluster and are no error: secrets %v, errors %v", r.secrets, r.errs)
	}
}

// TestEmailPasswordOutsideSecret checks that an email password Alertmanager cannot read
// (an environment variable or a file of gitfleet) fails the cluster's render with an
// error at the channel's file, line and field, once per channel.
func TestEmailPasswordOutsideSecret(t *testing.T) {
	policy := func(name, channel string) string {
		return doc("AlertPolicy", name, "  cluster: dev\n  type: node\n  rules: [{metric: node_ready}]\n  receiverGroups: [ops]\n  notify: [{channel: "+channel+", template: "+channel+"-t}]\n")
	}
	repo := load(t, withFiles(map[string]string{
		"alerting/channels/env-mail.yaml": doc("NotifyChannel", "env-mail", `  email:
    from: alerts@example.com
    password: {env: GITFLEET_SECRET_SMTP_PASSWORD}
    smtpHost: smtp.example.com
`),
		"alerting/channels/file-mail.yaml": doc("NotifyChannel", "file-mail", `  email:
    from: alerts@example.com
    password: {file: etc/gitfleet/smtp-password}
    smtpHost: smtp.example.com
`),
		"alerting/templates/mail.yaml": doc("NotifyTemplate", "env-mail-t", "  channel: env-mail\n  header: h\n  body: b\n") +
			"---\n" + doc("NotifyTemplate", "file-mail-t", "  channel: file-mail\n  header: h\n  body: b\n"),
		"alerting/policies/env-1.yaml": policy("env-1", "env-mail"),
		"alerting/policies/env-2.yaml": policy("env-2", "env-mail"),
		"alerting/policies/file.yaml":  policy("file-1", "file-mail"),
	}))
	objs, err := Render(repo, repo.Cluster("dev"))
	if objs != nil {
		t.Errorf("Render returned %d objects with its error; a failed render returns none", len(objs))
	}
	var list schema.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v, want a schema.ErrorList", err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Error())
	}
	want := []string{
		`alerting/channels/env-mail.yaml:8:21: spec.email.password.env: channel "env-mail" is sent by the Alertmanager of cluster "dev" (policy "env-1"), which reads the SMTP password from a Secret in its own cluster; this is an environment variable of the gitfleet process, which gitfleet does not copy into member clusters: refer to a Secret of gitfleet's cluster instead, {secret: {name: NAME, key: KEY}}, and gitfleet copies it into kube-system of each cluster that uses the channel`,
		`alerting/channels/file-mail.yaml:8:22: spec.email.password.file: channel "file-mail" is sent by the Alertmanager of cluster "dev" (policy "file-1"), which reads the SMTP password from a Secret in its own cluster; this is a file of the gitfleet process, which gitfleet does not copy into member clusters: refer to a Secret of gitfleet's cluster instead, {secret: {name: NAME, key: KEY}}, and gitfleet copies it into kube-system of each cluster that uses the channel`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if _, _, err := RenderWithSecrets(repo, repo.Cluster("dev")); err == nil {
		t.Error("RenderWithSecrets: no error for a cluster that cannot be rendered")
	}
	// Another cluster does not use the channels and renders.
	if _, err := Render(repo, repo.Cluster("imp")); err != nil {
		t.Errorf("imp: %v", err)
	}
}

// TestSecretCopiedFromTwoPlaces checks that two Secrets of gitfleet's cluster that would
// land on the same name and key of a member cluster are reported.
func TestSecretCopiedFromTwoPlaces(t *testing.T) {
	repo := load(t, withFiles(map[string]string{
		"alerting/channels/other-mail.yaml": doc("NotifyChannel", "other-mail", `  email:
    from: other@example.com
    password: {secret: {namespace: team-b, name: smtp, key: password}}
    smtpHost: smtp.example.com
`),
		"alerting/templates/other.yaml": doc("NotifyTemplate", "other-t", "  channel: other-mail\n  header: h\n  body: b\n"),
		"alerting/policies/other.yaml":  doc("AlertPolicy", "other", "  cluster: imp\n  type: node\n  rules: [{metric: node_ready}]\n  receiverGroups: [ops]\n  notify: [{channel: other-mail, template: other-t}]\n"),
	}))
	_, err := Render(repo, repo.Cluster("imp"))
	// imp-all-pods (channel plain-mail) is rendered before other.
	want := `alerting/channels/other-mail.yaml:8:24: spec.email.password.secret: Secret smtp key password would be copied into kube-system of cluster "imp" from two places: Secret smtp in gitfleet's namespace (channel "plain-mail") and Secret team-b/smtp; give one of the Secrets another name`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// TestRequiredSecrets lists what the reconciler must copy into each cluster.
func TestRequiredSecrets(t *testing.T) {
	repo := load(t, fleet)
	got := map[string][]SecretCopy{}
	for _, c := range repo.Clusters {
		_, s, err := RenderWithSecrets(repo, c)
		if err != nil {
			t.Fatal(err)
		}
		got[c.Metadata.Name] = s
	}
	want := map[string][]SecretCopy{
		"dev": {
			{Name: "chat-robot", Key: "url", From: schema.SecretKeyRef{Namespace: "gitfleet-system", Name: "chat-robot", Key: "url"}, Channel: "chat", Field: "spec.webhook.urlFrom"},
			{Name: "pager", Key: "token", From: schema.SecretKeyRef{Name: "pager", Key: "token"}, Channel: "pager", Field: "spec.webhook.headers[0].valueFrom"},
			{Name: "smtp", Key: "password", From: schema.SecretKeyRef{Name: "smtp", Key: "password"}, Channel: "ops-mail", Field: "spec.email.password"},
		},
		"imp": {
			{Name: "smtp", Key: "password", From: schema.SecretKeyRef{Name: "smtp", Key: "password"}, Channel: "plain-mail", Field: "spec.email.password"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("required secrets (-want +got):\n%s", diff)
	}
}
