package schema

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// alertDoc is a fleet document with metadata.name at line 4, column 9 and the first line
// of spec on line 6, so that expected positions can be read off the spec text: spec line
// k is file line 5+k.
func alertDoc(kind, name, spec string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// alertBase is a valid repository with every alerting kind: a standalone and an imported
// cluster, two businesses with a namespace each, channels of every type with templates,
// receivers, groups, and cluster, node, platform pod and business pod policies.
var alertBase = map[string]string{
	"clusters/dev.yaml": alertDoc("Cluster", "dev", `  type: Baremetal
  version: "1.18.3"
  capacity: {cpu: "64", memory: 256Gi}
  machines:
  - ip: 10.0.0.10
    role: master
    privateKey: {env: GITFLEET_SECRET_DEV_SSH_KEY}
`),
	"clusters/imp.yaml":                          alertDoc("Cluster", "imp", "  type: Imported\n"),
	"addons/monitoring.yaml":                     alertDoc("Addon", "monitoring", "  type: Monitoring\n  clusters: [dev, imp]\n"),
	"businesses/shop.yaml":                       alertDoc("Business", "shop", "  displayName: Shop\n  quota:\n    dev: {cpu: \"8\", memory: 16Gi}\n"),
	"businesses/other.yaml":                      alertDoc("Business", "other", "  quota:\n    dev: {cpu: \"4\", memory: 8Gi}\n"),
	"businesses/shop/namespaces/shop-prod.yaml":  alertDoc("Namespace", "shop-prod", "  business: shop\n  cluster: dev\n  quota: {cpu: \"4\", memory: 8Gi}\n"),
	"businesses/other/namespaces/other-web.yaml": alertDoc("Namespace", "other-web", "  business: other\n  cluster: dev\n"),

	"alerting/channels/ops-mail.yaml": alertDoc("NotifyChannel", "ops-mail", `  email:
    from: "Fleet Alerts <alerts@example.com>"
    password: {secret: {name: smtp, key: password}}
    smtpHost: smtp.example.com
    tls: true
`),
	"alerting/channels/ops-sms.yaml": alertDoc("NotifyChannel", "ops-sms", `  sms:
    appKey: {env: GITFLEET_SECRET_SMS_APP_KEY}
    sdkAppID: 1400000000
    extend: "12"
`),
	"alerting/channels/ops-wechat.yaml": alertDoc("NotifyChannel", "ops-wechat", `  wechat:
    appID: wx1234567890abcdef
    appSecret: {file: etc/gitfleet/wechat-secret}
`),
	"alerting/channels/ops-hook.yaml": alertDoc("NotifyChannel", "ops-hook", `  webhook:
    url: https://hooks.example.com/alerts?team=ops
    headers:
    - {name: X-Team, value: ops}
    - name: Authorization
      valueFrom: {secret: {name: hook, key: bearer}}
`),
	"alerting/channels/robot.yaml": alertDoc("NotifyChannel", "robot", `  webhook:
    urlFrom: {env: GITFLEET_SECRET_ROBOT_WEBHOOK_URL}
`),
	"alerting/templates.yaml": alertDoc("NotifyTemplate", "ops-mail-default", `  channel: ops-mail
  header: "[{{.Status}}] {{.PolicyName}} on {{.Cluster}}"
  body: |
    {{.MetricName}} is {{.Value}}{{.Unit}} ({{.Operator}} {{.Threshold}} for {{.Duration}} x {{.Period}} min) since {{.StartsAt}}.
    {{if .Pod}}Pod {{.Namespace}}/{{.Pod}} ({{.WorkloadKind}} {{.Workload}}) on node {{.Node}}.{{end}}
    {{with .Business}}Business: {{.}}{{end}} {{- if eq $.PolicyType "pod"}} (pod policy){{end}}
`) + "---\n" + alertDoc("NotifyTemplate", "ops-sms-short", `  channel: ops-sms
  body: "{{.PolicyName}}: {{.Metric}} {{.Value}}{{.Unit}}"
`) + "---\n" + alertDoc("NotifyTemplate", "ops-wechat-card", `  channel: ops-wechat
  header: "{{.PolicyName}}"
  body: "{{printf \"%s %s %s\" .MetricName .Operator .Threshold}}"
`) + "---\n" + alertDoc("NotifyTemplate", "ops-hook-json", `  channel: ops-hook
  body: '{"policy": {{printf "%q" .PolicyName}}, "cluster": {{printf "%q" .Cluster}}, "value": {{printf "%q" .Value}}}'
`) + "---\n" + alertDoc("NotifyTemplate", "robot-text", `  channel: robot
  body: "{{.PolicyName}} fired"
`),
	"alerting/receivers.yaml": alertDoc("Receiver", "alice", `  displayName: Alice
  username: alice
  mobile: "+8613800000000"
  email: alice@example.com
  wechatOpenID: oAbCdEfGhIjKlMnOpQrStUvWxYz0
`) + "---\n" + alertDoc("Receiver", "bob", "  email: bob@example.com\n") +
		"---\n" + alertDoc("Receiver", "carol", "  mobile: \"13800000001\"\n"),
	"alerting/groups.yaml": alertDoc("ReceiverGroup", "ops", "  displayName: Operations\n  receivers: [alice, bob]\n") +
		"---\n" + alertDoc("ReceiverGroup", "shop-oncall", "  receivers: [carol, bob]\n"),
	"alerting/policies/dev-cluster.yaml": alertDoc("AlertPolicy", "dev-cluster", `  cluster: dev
  type: cluster
  period: 5
  rules:
  - {metric: cpu_utilization, operator: ">", threshold: 80, duration: 3}
  - {metric: memory_allocation_rate, operator: ">", threshold: 95}
  - {metric: apiserver_healthy}
  - {metric: etcd_healthy, alertWhen: false}
  - {metric: scheduler_healthy}
  - {metric: controller_manager_healthy, duration: 2}
  receiverGroups: [ops]
  notify:
  - {channel: ops-mail, template: ops-mail-default}
  - {channel: ops-hook, template: ops-hook-json}
`),
	"alerting/policies/imp-nodes.yaml": alertDoc("AlertPolicy", "imp-nodes", `  cluster: imp
  type: node
  rules:
  - {metric: node_ready}
  - {metric: pod_restarts, operator: ">", threshold: 5, duration: 10}
  - {metric: memory_utilization, operator: ">", threshold: 90}
  - {metric: memory_utilization, operator: "<", threshold: 1}
  receiverGroups: [ops]
  notify:
  - {channel: ops-sms, template: ops-sms-short}
  - {channel: ops-wechat, template: ops-wechat-card}
`),
	"alerting/policies/dev-pods.yaml": alertDoc("AlertPolicy", "dev-pods", `  cluster: dev
  type: pod
  period: 3
  targets:
    workloads:
    - {namespace: kube-system, kind: DaemonSet}
    - {namespace: kube-system, kind: Deployment, name: coredns}
    - {namespace: shop-prod, kind: TApp, name: cart}
    - {namespace: monitoring}
  rules:
  - {metric: pod_ready}
  - {metric: cpu_utilization_node, operator: ">", threshold: 50}
  - {metric: memory_no_cache_utilization_node, operator: ">", threshold: 50}
  - {metric: cpu_utilization_limit, operator: ">", threshold: 95}
  - {metric: memory_no_cache_utilization_limit, operator: ">", threshold: 95}
  - {metric: memory_usage, operator: ">", threshold: 4096}
  receiverGroups: [ops, shop-oncall]
  notify:
  - {channel: robot, template: robot-text}
`),
	"alerting/policies/imp-all-pods.yaml": alertDoc("AlertPolicy", "imp-all-pods", `  cluster: imp
  type: pod
  targets: {allNamespaces: true}
  rules:
  - {metric: memory_utilization_node, operator: ">", threshold: 30}
  receiverGroups: [ops]
  notify: [{channel: ops-mail, template: ops-mail-default}]
`),
	"alerting/policies/shop-pods.yaml": alertDoc("AlertPolicy", "shop-pods", `  business: shop
  namespace: shop-prod
  type: pod
  period: 2
  targets:
    workloads:
    - {kind: Deployment, name: web}
    - {namespace: shop-prod, kind: StatefulSet}
  rules:
  - {metric: memory_utilization_limit, operator: ">", threshold: 90, duration: 5}
  - {metric: cpu_usage, operator: ">", threshold: 1.5}
  - {metric: memory_no_cache_usage, operator: ">", threshold: 2048}
  - {metric: pod_restarts, operator: ">", threshold: 3}
  - {metric: pod_ready, alertWhen: false}
  receiverGroups: [shop-oncall]
  notify:
  - {channel: ops-mail, template: ops-mail-default}
  - {channel: ops-sms, template: ops-sms-short}
`),
	"alerting/policies/shop-quiet.yaml": alertDoc("AlertPolicy", "shop-quiet", `  business: shop
  namespace: shop-prod
  type: pod
  rules:
  - {metric: pod_ready}
  receiverGroups: [shop-oncall]
  notify: [{channel: ops-sms, template: ops-sms-short}]
`),
}

// alertFiles is the base repository with some files added or replaced.
func alertFiles(files map[string]string) map[string]string {
	return withFiles(alertBase, files)
}

// TestAlertingValid loads the valid alerting repository and checks the defaults and the
// lookups the renderer uses.
func TestAlertingValid(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(alertBase))
	// Only this area's files are checked, so that rules added to other kinds cannot break
	// this test; the other kinds' files are written to be valid too.
	for _, e := range AsErrorList(err) {
		if strings.HasPrefix(e.File, "alerting/") {
			t.Errorf("unexpected error: %v", e)
		} else {
			t.Logf("error in another area's file: %v", e)
		}
	}
	if repo == nil {
		t.Fatal("no repository")
	}
	if got := []int{len(repo.NotifyChannels), len(repo.NotifyTemplates), len(repo.Receivers), len(repo.ReceiverGroups), len(repo.AlertPolicies)}; !cmp.Equal(got, []int{5, 5, 3, 2, 6}) {
		t.Fatalf("loaded channels, templates, receivers, groups, policies = %v, want [5 5 3 2 6]", got)
	}

	types := map[string]ChannelType{}
	for _, c := range repo.NotifyChannels {
		types[c.Metadata.Name] = c.Type()
	}
	if diff := cmp.Diff(map[string]ChannelType{"ops-mail": ChannelEmail, "ops-sms": ChannelSMS, "ops-wechat": ChannelWeChat, "ops-hook": ChannelWebhook, "robot": ChannelWebhook}, types); diff != "" {
		t.Errorf("channel types (-want +got):\n%s", diff)
	}
	if got := repo.NotifyChannel("ops-mail").Spec.Email.SMTPPort; got != 465 {
		t.Errorf("default SMTP port with tls = %d, want 465", got)
	}

	nodes := repo.AlertPolicy("imp-nodes")
	if nodes.Spec.Period != 1 {
		t.Errorf("default period %d, want 1", nodes.Spec.Period)
	}
	wantRules := []AlertRule{
		{Metric: "node_ready", AlertWhen: ptr(false), Duration: 1},
		{Metric: "pod_restarts", Operator: AlertGreater, Threshold: ptr(5.0), Duration: 10},
		{Metric: "memory_utilization", Operator: AlertGreater, Threshold: ptr(90.0), Duration: 1},
		{Metric: "memory_utilization", Operator: AlertLess, Threshold: ptr(1.0), Duration: 1},
	}
	if diff := cmp.Diff(wantRules, nodes.Spec.Rules); diff != "" {
		t.Errorf("imp-nodes rules with defaults (-want +got):\n%s", diff)
	}

	wantTargets := map[string]AlertTargets{
		"shop-quiet": {Workloads: []WorkloadTarget{{Namespace: "shop-prod"}}},
		"shop-pods":  {Workloads: []WorkloadTarget{{Namespace: "shop-prod", Kind: AlertWorkloadDeployment, Name: "web"}, {Namespace: "shop-prod", Kind: AlertWorkloadStatefulSet}}},
	}
	for name, want := range wantTargets {
		if diff := cmp.Diff(want, repo.AlertPolicy(name).Spec.Targets); diff != "" {
			t.Errorf("%s targets with defaults (-want +got):\n%s", name, diff)
		}
	}

	onCluster := map[string][]string{}
	for _, c := range repo.Clusters {
		for _, p := range repo.AlertPoliciesFor(c) {
			onCluster[c.Metadata.Name] = append(onCluster[c.Metadata.Name], p.Metadata.Name)
		}
	}
	if diff := cmp.Diff(map[string][]string{"dev": {"dev-cluster", "dev-pods", "shop-pods", "shop-quiet"}, "imp": {"imp-all-pods", "imp-nodes"}}, onCluster); diff != "" {
		t.Errorf("AlertPoliciesFor (-want +got):\n%s", diff)
	}
}

// TestAlertingErrors checks every rule of the alerting kinds: each bad input is reported
// at its file, line and column, with the field and an actionable message. Only the errors
// of each case's own files are compared.
func TestAlertingErrors(t *testing.T) {
	policy := func(name, spec string) map[string]string {
		return map[string]string{"alerting/policies/bad.yaml": alertDoc("AlertPolicy", name, spec)}
	}
	// tail completes a policy spec after its rules.
	const tail = "  receiverGroups: [ops]\n  notify: [{channel: ops-mail, template: ops-mail-default}]\n"
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "channel without a type",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "nothing", "  {}\n")},
			want:  []string{`alerting/bad.yaml:6:3: spec: a NotifyChannel needs one of email, sms, wechat or webhook`},
		},
		{
			name: "channel with two types",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "two", `  wechat: {appID: wx1, appSecret: {env: GITFLEET_SECRET_WX}}
  sms: {appKey: {env: GITFLEET_SECRET_KEY}, sdkAppID: "1400000000"}
`)},
			want: []string{`alerting/bad.yaml:6:11: spec.wechat: a NotifyChannel has one type and sms is already set; declare another NotifyChannel for wechat`},
		},
		{
			name: "email channel",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "mail", `  email:
    from: alerts at example.com
    smtpHost: smtps://smtp.example.com
    smtpPort: 70000
`)},
			want: []string{
				`alerting/bad.yaml:7:5: spec.email.password: required: refer to the secret with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
				`alerting/bad.yaml:7:11: spec.email.from: "alerts at example.com" is not an email address; write it as alerts@example.com or "Alerts <alerts@example.com>"`,
				`alerting/bad.yaml:8:15: spec.email.smtpHost: write the host alone, without a scheme: "smtp.example.com"`,
				`alerting/bad.yaml:9:15: spec.email.smtpPort: port 70000 is out of range: use 1-65535 (commonly 465 with tls, 25 or 587 without)`,
			},
		},
		{
			name: "email password written into the repository, port in the host",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "mail", `  email:
    password: hunter2
    smtpHost: "smtp.example.com:587"
    smtpPort: 0
`)},
			want: []string{
				`alerting/bad.yaml:7:5: spec.email.from: from is required: the sender's address, for example alerts@example.com`,
				`alerting/bad.yaml:7:15: spec.email.password: a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
				`alerting/bad.yaml:8:15: spec.email.smtpHost: write the host alone ("smtp.example.com") and the port in smtpPort (587)`,
				`alerting/bad.yaml:9:15: spec.email.smtpPort: port 0 is out of range: use 1-65535 (commonly 465 with tls, 25 or 587 without)`,
			},
		},
		{
			name: "sms and wechat channels",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "sms", `  sms:
    appKey: {env: "1KEY"}
    sdkAppID: app-1400
    extend: ext
`) + "---\n" + alertDoc("NotifyChannel", "wx", `  wechat:
    appSecret: {secret: {name: wx}}
`)},
			want: []string{
				`alerting/bad.yaml:7:19: spec.sms.appKey.env: "1KEY" is not an environment variable name: use letters, digits and _, not starting with a digit`,
				`alerting/bad.yaml:8:15: spec.sms.sdkAppID: "app-1400" is not an SdkAppID: it is a number such as 1400000000`,
				`alerting/bad.yaml:9:13: spec.sms.extend: "ext" is not an extension code: use digits only`,
				`alerting/bad.yaml:17:5: spec.wechat.appID: appID is required: the AppID of the WeChat official account`,
				`alerting/bad.yaml:17:25: spec.wechat.appSecret.secret.key: the key of the Secret that holds the value is required`,
			},
		},
		{
			name: "webhook URL",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "a", "  webhook: {url: \"ftp://hooks.example.com/x\"}\n") +
				"---\n" + alertDoc("NotifyChannel", "b", "  webhook: {url: \"https://robot:pa55@hooks.example.com/x\"}\n") +
				"---\n" + alertDoc("NotifyChannel", "c", "  webhook: {url: \"https://oapi.dingtalk.com/robot/send?access_token=abc123\"}\n") +
				"---\n" + alertDoc("NotifyChannel", "d", "  webhook: {url: \"https://hooks.example.com/x\", urlFrom: {env: GITFLEET_SECRET_HOOK}}\n") +
				"---\n" + alertDoc("NotifyChannel", "e", "  webhook: {}\n")},
			want: []string{
				`alerting/bad.yaml:6:18: spec.webhook.url: "ftp://hooks.example.com/x" is not an http:// or https:// URL`,
				`alerting/bad.yaml:13:18: spec.webhook.url: the URL carries a user and password, which must not be written into the repository; give the whole URL by reference in urlFrom, or send the credential in a header with valueFrom`,
				`alerting/bad.yaml:20:18: spec.webhook.url: query parameter "access_token" looks like a credential, which must not be written into the repository; give the whole URL by reference in urlFrom instead`,
				`alerting/bad.yaml:27:58: spec.webhook.urlFrom: set url or urlFrom, not both`,
				`alerting/bad.yaml:34:12: spec.webhook.url: url is required: the http:// or https:// address to post to (or urlFrom, when the URL holds a credential)`,
			},
		},
		{
			name: "webhook headers",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyChannel", "hook", `  webhook:
    url: https://hooks.example.com/x
    headers:
    - {name: X-Auth-Token, value: s3cr3t}
    - {name: x-auth-token, valueFrom: {env: GITFLEET_SECRET_TOKEN}}
    - {name: "Bad Header", value: x}
    - {name: X-Api-Key, value: k, valueFrom: {env: GITFLEET_SECRET_KEY}}
    - {name: X-Empty}
    - {value: orphan}
`)},
			want: []string{
				`alerting/bad.yaml:9:35: spec.webhook.headers[0].value: header "X-Auth-Token" carries a credential, which must not be written into the repository; refer to it with valueFrom: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
				`alerting/bad.yaml:10:14: spec.webhook.headers[1].name: header "x-auth-token" is already set in headers[0]`,
				`alerting/bad.yaml:11:14: spec.webhook.headers[2].name: "Bad Header" is not an HTTP header name: use letters, digits and '-'`,
				`alerting/bad.yaml:12:46: spec.webhook.headers[3].valueFrom: set value or valueFrom, not both`,
				`alerting/bad.yaml:13:7: spec.webhook.headers[4].value: set value, or valueFrom to take it from a secret`,
				`alerting/bad.yaml:14:7: spec.webhook.headers[5].name: the header name is required`,
			},
		},
		{
			name: "template references and required fields",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyTemplate", "t1", "  channel: ops-mial\n  body: hi\n") +
				"---\n" + alertDoc("NotifyTemplate", "t2", "  header: hi\n") +
				"---\n" + alertDoc("NotifyTemplate", "t3", "  channel: ops-mail\n  body: hi\n")},
			want: []string{
				`alerting/bad.yaml:6:12: spec.channel: no NotifyChannel named "ops-mial" in the repository (known: ops-hook, ops-mail, ops-sms, ops-wechat, robot)`,
				`alerting/bad.yaml:14:3: spec.body: body is required: the message text, for example "{{.MetricName}} of {{.Cluster}} is {{.Value}}{{.Unit}}"`,
				`alerting/bad.yaml:14:3: spec.channel: channel is required: the NotifyChannel this template is for (known: ops-hook, ops-mail, ops-sms, ops-wechat, robot)`,
				`alerting/bad.yaml:21:3: spec.header: header is required for the email channel "ops-mail": it is the subject`,
			},
		},
		{
			name: "template texts",
			files: map[string]string{"alerting/bad.yaml": alertDoc("NotifyTemplate", "t1", `  channel: ops-sms
  header: "{{.Clustr}} is down"
  body: |
    {{.PolicyName}}
    {{if .Value}}{{.Value}}
`) + "---\n" + alertDoc("NotifyTemplate", "t2", `  channel: ops-sms
  header: "{{.Cluster.Name}}"
  body: "{{if gt .Value 80}}high{{end}}"
`) + "---\n" + alertDoc("NotifyTemplate", "t3", `  channel: ops-sms
  header: '{{define "x"}}x{{end}}{{template "x"}}'
  body: "{{lower .Pod}}"
`) + "---\n" + alertDoc("NotifyTemplate", "t4", `  channel: ops-sms
  header: "{{$v := .Value}}{{$v.Digits}}"
  body: "{{range 100000000000}}x{{end}}"
`)},
			want: []string{
				`alerting/bad.yaml:7:11: spec.header: unknown template variable ".Clustr"; did you mean ".Cluster"?`,
				`alerting/bad.yaml:8:9: spec.body: not a valid template: line 3: unexpected EOF`,
				`alerting/bad.yaml:18:11: spec.header: .Cluster has no field Name: every template variable is a string`,
				`alerting/bad.yaml:19:9: spec.body: the template fails on a sample alert: line 1:5: at <gt .Value 80>: error calling gt: incompatible types for comparison: string and int (every variable is a string)`,
				`alerting/bad.yaml:27:11: spec.header: {{define}} and {{block}} are not supported: a header or body is a single template`,
				`alerting/bad.yaml:28:9: spec.body: not a valid template: line 1: function "lower" not defined`,
				`alerting/bad.yaml:36:11: spec.header: $v has no fields: every template variable is a string`,
				`alerting/bad.yaml:37:9: spec.body: {{range}} over a number is not supported in notification templates`,
			},
		},
		{
			name: "receivers",
			files: map[string]string{"alerting/bad.yaml": alertDoc("Receiver", "nobody", "  displayName: Nobody\n  username: nobody\n") +
				"---\n" + alertDoc("Receiver", "typos", `  mobile: "+86 138 0000 0000"
  email: "Dave <dave@example.com>"
  wechatOpenID: "o#123"
`)},
			want: []string{
				`alerting/bad.yaml:6:3: spec: a Receiver needs at least one of mobile, email or wechatOpenID, or no channel can reach them`,
				`alerting/bad.yaml:14:11: spec.mobile: "+86 138 0000 0000" is not a phone number: write 5 to 15 digits, optionally after a +, without spaces, for example "+8613800000000"`,
				`alerting/bad.yaml:15:10: spec.email: "Dave <dave@example.com>" is not an email address; write it as name@example.com`,
				`alerting/bad.yaml:16:17: spec.wechatOpenID: "o#123" is not a WeChat OpenID: it has letters, digits, '-' and '_' only`,
			},
		},
		{
			name: "receiver groups",
			files: map[string]string{"alerting/bad.yaml": alertDoc("ReceiverGroup", "empty", "  displayName: Empty\n") +
				"---\n" + alertDoc("ReceiverGroup", "typos", "  receivers: [alice, alcie, alice]\n")},
			want: []string{
				`alerting/bad.yaml:6:3: spec.receivers: a ReceiverGroup needs at least one receiver: list Receiver names (known: alice, bob, carol)`,
				`alerting/bad.yaml:13:22: spec.receivers[1]: no Receiver named "alcie" in the repository (known: alice, bob, carol)`,
				`alerting/bad.yaml:13:29: spec.receivers[2]: receiver "alice" is listed twice (also at receivers[0])`,
			},
		},
		{
			name:  "policy name too long",
			files: map[string]string{"alerting/policies/bad.yaml": alertDoc("AlertPolicy", strings.Repeat("p", 61), "  cluster: dev\n  type: node\n  rules: [{metric: node_ready}]\n"+tail)},
			want:  []string{`alerting/policies/bad.yaml:4:9: metadata.name: an alert policy name has at most 60 characters (TKEStack's limit), found 61`},
		},
		{
			name:  "policy without a scope, a type, rules, groups or notification",
			files: policy("empty", "  period: 3\n"),
			want: []string{
				`alerting/policies/bad.yaml:6:3: spec: an AlertPolicy needs a scope: cluster for a platform policy, or business and namespace for a business policy`,
				`alerting/policies/bad.yaml:6:3: spec.notify: a policy needs at least one notification method: {channel: CHANNEL, template: TEMPLATE} (known: ops-hook, ops-mail, ops-sms, ops-wechat, robot)`,
				`alerting/policies/bad.yaml:6:3: spec.receiverGroups: a policy needs at least one receiver group to notify (known: ops, shop-oncall)`,
				`alerting/policies/bad.yaml:6:3: spec.rules: a policy needs at least one rule: a metric, and for numeric metrics an operator and a threshold`,
				`alerting/policies/bad.yaml:6:3: spec.type: type is required: cluster, node or pod`,
			},
		},
		{
			name:  "platform and business scope at once",
			files: policy("both", "  cluster: dev\n  business: shop\n  namespace: shop-prod\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail),
			want:  []string{`alerting/policies/bad.yaml:7:13: spec.business: set either cluster (a platform policy) or business and namespace (a business policy), not both`},
		},
		{
			name:  "platform policy with a namespace",
			files: policy("ns", "  cluster: dev\n  namespace: shop-prod\n  type: pod\n  targets: {allNamespaces: true}\n  rules: [{metric: pod_ready}]\n"+tail),
			want:  []string{`alerting/policies/bad.yaml:7:14: spec.namespace: namespace makes a business policy, which takes business instead of cluster; a platform policy selects namespaces in targets.workloads`},
		},
		{
			name:  "unknown cluster and unknown policy type",
			files: policy("gone", "  cluster: prod\n  type: nodes\n  rules: [{metric: node_ready}]\n"+tail),
			want: []string{
				`alerting/policies/bad.yaml:6:12: spec.cluster: no Cluster named "prod" in the repository (known: dev, imp)`,
				`alerting/policies/bad.yaml:7:9: spec.type: unknown policy type "nodes"; did you mean "node"?`,
			},
		},
		{
			name: "business scope: missing business, missing namespace, unknown ones, another business's namespace",
			files: map[string]string{"alerting/policies/bad.yaml": alertDoc("AlertPolicy", "a", "  namespace: shop-prod\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail) +
				"---\n" + alertDoc("AlertPolicy", "b", "  business: shop\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail) +
				"---\n" + alertDoc("AlertPolicy", "c", "  business: shoop\n  namespace: shop-dev\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail) +
				"---\n" + alertDoc("AlertPolicy", "d", "  business: shop\n  namespace: other-web\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail)},
			want: []string{
				`alerting/policies/bad.yaml:6:3: spec.business: a business policy needs business: the Business that owns namespace "shop-prod"`,
				`alerting/policies/bad.yaml:17:3: spec.namespace: a business policy needs namespace: the Namespace of business "shop" it watches (known: shop-prod)`,
				`alerting/policies/bad.yaml:28:13: spec.business: no Business named "shoop" in the repository (known: other, shop)`,
				`alerting/policies/bad.yaml:29:14: spec.namespace: no Namespace named "shop-dev" in the repository`,
				`alerting/policies/bad.yaml:41:14: spec.namespace: Namespace "other-web" belongs to Business "other", not "shop": a business watches only its own namespaces`,
			},
		},
		{
			name:  "business policy of type node",
			files: policy("shop-nodes", "  business: shop\n  namespace: shop-prod\n  type: node\n  rules: [{metric: node_ready}]\n"+tail),
			want:  []string{`alerting/policies/bad.yaml:8:9: spec.type: a business policy watches the pods of its namespace, so its type is pod; node alerts are set on the platform side, with spec.cluster`},
		},
		{
			name: "targets on cluster and node policies, none on a platform pod policy",
			files: map[string]string{"alerting/policies/bad.yaml": alertDoc("AlertPolicy", "a", "  cluster: dev\n  type: node\n  targets: {allNamespaces: true}\n  rules: [{metric: node_ready}]\n"+tail) +
				"---\n" + alertDoc("AlertPolicy", "b", "  cluster: dev\n  type: cluster\n  targets:\n    workloads: [{namespace: x}]\n  rules: [{metric: etcd_healthy}]\n"+tail) +
				"---\n" + alertDoc("AlertPolicy", "c", "  cluster: dev\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail)},
			want: []string{
				`alerting/policies/bad.yaml:8:12: spec.targets: targets select pods, but a node policy watches every node of the cluster: remove targets, or make it a pod policy`,
				`alerting/policies/bad.yaml:21:5: spec.targets: targets select pods, but a cluster policy watches the cluster as a whole: remove targets, or make it a pod policy`,
				`alerting/policies/bad.yaml:31:3: spec.targets: a pod policy needs targets: allNamespaces: true for every pod of the cluster, or workloads, each a namespace and optionally a kind and a name`,
			},
		},
		{
			name: "pod targets",
			files: policy("pods", `  cluster: dev
  type: pod
  targets:
    allNamespaces: true
    workloads:
    - {kind: Deployment, name: web}
    - {namespace: Shop, kind: Deploy}
    - {namespace: shop-prod, name: web}
    - {namespace: shop-prod, kind: TApp, name: Web_1}
    - {namespace: shop-prod, kind: StatefulSet, name: db}
    - {namespace: shop-prod, kind: StatefulSet, name: db}
    - {namespace: monitoring, kind: DaemonSet, name: node-exporter}
    - {namespace: monitoring}
  rules: [{metric: pod_ready}]
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:9:20: spec.targets.allNamespaces: allNamespaces already watches every pod of the cluster: remove allNamespaces or workloads`,
				`alerting/policies/bad.yaml:11:7: spec.targets.workloads[0].namespace: namespace is required: the namespace whose pods are watched`,
				`alerting/policies/bad.yaml:12:19: spec.targets.workloads[1].namespace: "Shop" is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`alerting/policies/bad.yaml:12:31: spec.targets.workloads[1].kind: unknown workload kind "Deploy"; expected one of: Deployment, StatefulSet, DaemonSet, TApp`,
				`alerting/policies/bad.yaml:13:7: spec.targets.workloads[2].kind: name needs kind: is "web" a Deployment, StatefulSet, DaemonSet or TApp?`,
				`alerting/policies/bad.yaml:14:48: spec.targets.workloads[3].name: "Web_1" is not a valid workload name: use lowercase letters, digits, '-' and '.'`,
				`alerting/policies/bad.yaml:16:7: spec.targets.workloads[5]: this target is listed twice (also at workloads[4])`,
				`alerting/policies/bad.yaml:17:7: spec.targets.workloads[6]: these pods are already watched through workloads[7] (every pod in namespace monitoring): remove one of the two`,
			},
		},
		{
			name: "business pod targets outside the namespace",
			files: policy("shop", `  business: shop
  namespace: shop-prod
  type: pod
  targets:
    allNamespaces: true
    workloads:
    - {namespace: other-web, kind: Deployment, name: web}
  rules: [{metric: pod_ready}]
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:10:20: spec.targets.allNamespaces: a business policy watches only its namespace "shop-prod": remove allNamespaces`,
				`alerting/policies/bad.yaml:12:19: spec.targets.workloads[0].namespace: a business policy watches only its namespace "shop-prod": remove namespace here, or set it to "shop-prod"`,
			},
		},
		{
			name:  "period out of range",
			files: policy("slow", "  cluster: dev\n  type: node\n  period: 10\n  rules: [{metric: node_ready}]\n"+tail),
			want:  []string{`alerting/policies/bad.yaml:8:11: spec.period: period is the statistics period in minutes: 1, 2, 3, 4 or 5, found 10`},
		},
		{
			name:  "period zero written",
			files: policy("zero", "  cluster: dev\n  type: node\n  period: 0\n  rules: [{metric: node_ready}]\n"+tail),
			want:  []string{`alerting/policies/bad.yaml:8:11: spec.period: period is the statistics period in minutes: 1, 2, 3, 4 or 5, found 0`},
		},
		{
			name: "unknown metrics",
			files: policy("metrics", `  cluster: dev
  type: pod
  targets: {allNamespaces: true}
  rules:
  - {metric: cpu_utilisation_limit, operator: ">", threshold: 90}
  - {metric: node_ready}
  - {metric: disk_usage, operator: ">", threshold: 1}
  - {operator: ">", threshold: 1}
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:10:14: spec.rules[0].metric: unknown pod metric "cpu_utilisation_limit"; did you mean "cpu_utilization_limit"?`,
				`alerting/policies/bad.yaml:11:14: spec.rules[1].metric: node_ready is a node metric, not a pod metric; pod metrics: cpu_utilization_node, memory_utilization_node, memory_no_cache_utilization_node, cpu_utilization_limit, memory_utilization_limit, memory_no_cache_utilization_limit, pod_restarts, pod_ready, cpu_usage, memory_usage, memory_no_cache_usage`,
				`alerting/policies/bad.yaml:12:14: spec.rules[2].metric: unknown pod metric "disk_usage"; expected one of: cpu_utilization_node, memory_utilization_node, memory_no_cache_utilization_node, cpu_utilization_limit, memory_utilization_limit, memory_no_cache_utilization_limit, pod_restarts, pod_ready, cpu_usage, memory_usage, memory_no_cache_usage`,
				`alerting/policies/bad.yaml:13:5: spec.rules[3].metric: metric is required; pod metrics: cpu_utilization_node, memory_utilization_node, memory_no_cache_utilization_node, cpu_utilization_limit, memory_utilization_limit, memory_no_cache_utilization_limit, pod_restarts, pod_ready, cpu_usage, memory_usage, memory_no_cache_usage`,
			},
		},
		{
			name: "operators and thresholds of numeric metrics",
			files: policy("numbers", `  cluster: dev
  type: cluster
  rules:
  - {metric: cpu_utilization, operator: ">=", threshold: 80}
  - {metric: memory_utilization, threshold: 80}
  - {metric: cpu_allocation_rate, operator: ">"}
  - {metric: memory_allocation_rate, operator: ">", threshold: 120}
  - {metric: memory_allocation_rate, operator: "<", threshold: -1}
  - {metric: cpu_allocation_rate, operator: "<", threshold: 5, alertWhen: true}
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:9:41: spec.rules[0].operator: unknown operator ">="; TKEStack compares with > or <`,
				`alerting/policies/bad.yaml:10:5: spec.rules[1].operator: operator is required: > or <`,
				`alerting/policies/bad.yaml:11:5: spec.rules[2].threshold: threshold is required: the cpu_allocation_rate value (a percentage, 0-100) to compare with`,
				`alerting/policies/bad.yaml:12:64: spec.rules[3].threshold: memory_allocation_rate is a percentage: the threshold must be 0-100, found 120`,
				`alerting/policies/bad.yaml:13:64: spec.rules[4].threshold: memory_allocation_rate is a percentage: the threshold must be 0-100, found -1`,
				`alerting/policies/bad.yaml:14:75: spec.rules[5].alertWhen: alertWhen is for state metrics; cpu_allocation_rate is a number: compare it with operator and threshold`,
			},
		},
		{
			name: "thresholds of counts and sizes",
			files: policy("sizes", `  cluster: dev
  type: pod
  targets: {allNamespaces: true}
  rules:
  - {metric: pod_restarts, operator: ">", threshold: -3}
  - {metric: memory_usage, operator: "<", threshold: 0}
  - {metric: cpu_usage, threshold: 2}
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:10:54: spec.rules[0].threshold: pod_restarts is never negative: the threshold must be at least 0, found -3`,
				`alerting/policies/bad.yaml:11:54: spec.rules[1].threshold: memory_usage is never below 0, so this rule would never fire`,
				`alerting/policies/bad.yaml:12:5: spec.rules[2].operator: operator is required: > or <`,
			},
		},
		{
			name: "state metrics take no operator or threshold",
			files: policy("states", `  cluster: dev
  type: cluster
  rules:
  - {metric: apiserver_healthy, operator: "<", threshold: 1}
  - {metric: etcd_healthy, threshold: 0}
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:9:43: spec.rules[0].operator: apiserver_healthy is a state metric (true or false): remove operator and threshold; the rule fires when the state is false, or set alertWhen: true`,
				`alerting/policies/bad.yaml:10:39: spec.rules[1].threshold: etcd_healthy is a state metric (true or false): remove operator and threshold; the rule fires when the state is false, or set alertWhen: true`,
			},
		},
		{
			name: "duration out of range and duplicate rules",
			files: policy("durations", `  cluster: dev
  type: node
  rules:
  - {metric: cpu_utilization, operator: ">", threshold: 80, duration: 0}
  - {metric: cpu_utilization, operator: ">", threshold: 90, duration: 11}
  - {metric: node_ready}
  - {metric: node_ready, alertWhen: true}
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:9:71: spec.rules[0].duration: duration is how many periods the condition must hold: 1 to 10, found 0`,
				`alerting/policies/bad.yaml:10:14: spec.rules[1].metric: rules[0] already compares cpu_utilization the same way: merge the two rules`,
				`alerting/policies/bad.yaml:10:71: spec.rules[1].duration: duration is how many periods the condition must hold: 1 to 10, found 11`,
				`alerting/policies/bad.yaml:12:14: spec.rules[3].metric: rules[2] already compares node_ready the same way: merge the two rules`,
			},
		},
		{
			name: "control-plane health on an imported cluster",
			files: policy("imp-control-plane", `  cluster: imp
  type: cluster
  rules:
  - {metric: cpu_utilization, operator: ">", threshold: 80}
  - {metric: apiserver_healthy}
  - {metric: controller_manager_healthy}
`+tail),
			want: []string{
				`alerting/policies/bad.yaml:10:14: spec.rules[1].metric: TKEStack reports apiserver_healthy only for standalone (Baremetal) clusters, and cluster "imp" is Imported`,
				`alerting/policies/bad.yaml:11:14: spec.rules[2].metric: TKEStack reports controller_manager_healthy only for standalone (Baremetal) clusters, and cluster "imp" is Imported`,
			},
		},
		{
			name: "receiver groups of a policy",
			files: policy("groups", `  cluster: dev
  type: node
  rules: [{metric: node_ready}]
  receiverGroups: [ops, oncall, ops]
  notify: [{channel: ops-mail, template: ops-mail-default}]
`),
			want: []string{
				`alerting/policies/bad.yaml:9:25: spec.receiverGroups[1]: no ReceiverGroup named "oncall" in the repository (known: ops, shop-oncall)`,
				`alerting/policies/bad.yaml:9:33: spec.receiverGroups[2]: receiver group "ops" is listed twice (also at receiverGroups[0])`,
			},
		},
		{
			name: "notification methods",
			files: policy("notify", `  cluster: dev
  type: node
  rules: [{metric: node_ready}]
  receiverGroups: [ops]
  notify:
  - {channel: ops-mail, template: ops-sms-short}
  - {channel: pager, template: ops-mail-default}
  - {channel: ops-hook, template: ops-hook-text}
  - {template: ops-mail-default}
  - {channel: ops-wechat}
  - {channel: ops-hook, template: ops-hook-json}
  - {channel: ops-hook, template: ops-hook-json}
`),
			want: []string{
				`alerting/policies/bad.yaml:11:35: spec.notify[0].template: template "ops-sms-short" is for channel "ops-sms", not "ops-mail" (templates of channel "ops-mail": ops-mail-default)`,
				`alerting/policies/bad.yaml:12:15: spec.notify[1].channel: no NotifyChannel named "pager" in the repository (known: ops-hook, ops-mail, ops-sms, ops-wechat, robot)`,
				`alerting/policies/bad.yaml:12:32: spec.notify[1].template: template "ops-mail-default" is for channel "ops-mail", not "pager" (channel "pager" has no NotifyTemplate yet)`,
				`alerting/policies/bad.yaml:13:35: spec.notify[2].template: no NotifyTemplate named "ops-hook-text" in the repository (templates of channel "ops-hook": ops-hook-json)`,
				`alerting/policies/bad.yaml:14:5: spec.notify[3].channel: channel is required: a NotifyChannel name (known: ops-hook, ops-mail, ops-sms, ops-wechat, robot)`,
				`alerting/policies/bad.yaml:15:5: spec.notify[4].template: template is required: a NotifyTemplate of channel "ops-wechat" (templates of channel "ops-wechat": ops-wechat-card)`,
				`alerting/policies/bad.yaml:17:5: spec.notify[6]: channel "ops-hook" with template "ops-hook-json" is listed twice (also at notify[5])`,
			},
		},
		{
			name: "channel that reaches none of the receivers",
			files: policy("unreachable", `  business: shop
  namespace: shop-prod
  type: pod
  rules: [{metric: pod_ready}]
  receiverGroups: [shop-oncall]
  notify:
  - {channel: ops-mail, template: ops-mail-default}
  - {channel: ops-wechat, template: ops-wechat-card}
  - {channel: robot, template: robot-text}
`),
			want: []string{
				`alerting/policies/bad.yaml:13:15: spec.notify[1].channel: channel "ops-wechat" sends WeChat messages, but no receiver in receiver groups shop-oncall has wechatOpenID set: add it to a receiver, or notify through another channel`,
			},
		},
		{
			name: "cluster without monitoring",
			files: map[string]string{
				"clusters/edge.yaml":                        alertDoc("Cluster", "edge", "  type: Imported\n  capacity: {cpu: \"16\", memory: 64Gi}\n"),
				"businesses/shop.yaml":                      alertDoc("Business", "shop", "  quota:\n    dev: {cpu: \"8\", memory: 16Gi}\n    edge: {cpu: \"8\", memory: 16Gi}\n"),
				"businesses/shop/namespaces/shop-edge.yaml": alertDoc("Namespace", "shop-edge", "  business: shop\n  cluster: edge\n"),
				"alerting/policies/bad.yaml":                alertDoc("AlertPolicy", "edge-nodes", "  cluster: edge\n  type: node\n  rules: [{metric: node_ready}]\n"+tail),
				"alerting/policies/bad-business.yaml":       alertDoc("AlertPolicy", "shop-edge", "  business: shop\n  namespace: shop-edge\n  type: pod\n  rules: [{metric: pod_ready}]\n"+tail),
			},
			want: []string{
				`alerting/policies/bad-business.yaml:7:14: spec.namespace: namespace "shop-edge" is on cluster "edge", which has no Monitoring addon to evaluate alert policies: add an Addon of type Monitoring whose spec.clusters lists edge`,
				`alerting/policies/bad.yaml:6:12: spec.cluster: cluster "edge" has no Monitoring addon to evaluate alert policies: add an Addon of type Monitoring whose spec.clusters lists edge`,
			},
		},
		{
			name: "names of the alerting kinds",
			files: map[string]string{"alerting/receivers-extra.yaml": alertDoc("Receiver", "Alice", "  email: alice@example.com\n") +
				"---\n" + alertDoc("ReceiverGroup", "ops", "  receivers: [alice]\n")},
			want: []string{
				`alerting/receivers-extra.yaml:4:9: metadata.name: "Alice" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`alerting/receivers-extra.yaml:11:9: metadata.name: another ReceiverGroup named "ops" is declared at alerting/groups.yaml:4:9`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.Context(), repoFS(alertFiles(tc.files)))
			var got []string
			for _, e := range AsErrorList(err) {
				if _, ok := tc.files[e.File]; ok {
					got = append(got, e.Error())
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAlertMetricCatalog checks the catalog against the seed's lists: 8 cluster, 4 node
// and 11 pod metrics, identifiers unique per type, state metrics without a unit.
func TestAlertMetricCatalog(t *testing.T) {
	counts := map[AlertPolicyType]int{}
	seen := map[string]bool{}
	for _, m := range AlertMetrics() {
		counts[m.Type]++
		key := string(m.Type) + "/" + m.ID
		if seen[key] {
			t.Errorf("metric %s is in the catalog twice", key)
		}
		seen[key] = true
		if m.Boolean != (m.Unit == AlertUnitState) {
			t.Errorf("metric %s: boolean %v but unit %q", key, m.Boolean, m.Unit)
		}
		if m.StandaloneOnly && (m.Type != AlertTypeCluster || !m.Boolean) {
			t.Errorf("metric %s: only the cluster's control-plane states are standalone-only", key)
		}
		if m.Title == "" || m.TitleZH == "" || m.Meaning == "" {
			t.Errorf("metric %s is not described", key)
		}
	}
	if diff := cmp.Diff(map[AlertPolicyType]int{AlertTypeCluster: 8, AlertTypeNode: 4, AlertTypePod: 11}, counts); diff != "" {
		t.Errorf("metrics per type (-want +got):\n%s", diff)
	}
	if m, ok := LookupAlertMetric(AlertTypePod, "memory_usage"); !ok || m.Unit != AlertUnitMB {
		t.Errorf("LookupAlertMetric(pod, memory_usage) = %+v, %v; want MB", m, ok)
	}
	if _, ok := LookupAlertMetric(AlertTypeNode, "pod_ready"); ok {
		t.Error("pod_ready found as a node metric")
	}
}

// TestNotifyTemplateVariables checks that every documented variable can be used and that
// the one template using all of them passes.
func TestNotifyTemplateVariables(t *testing.T) {
	var b strings.Builder
	for _, v := range NotifyVariables() {
		b.WriteString("{{." + v + "}} ")
	}
	if msg := checkNotifyTemplate(b.String()); msg != "" {
		t.Errorf("a template with every variable: %s", msg)
	}
	if got := len(NotifyVariables()); got != 19 {
		t.Errorf("%d template variables, want 19 (update the documentation when adding one)", got)
	}
	for _, ok := range []string{"", "plain text", "{{.Value | printf \"%s\"}}", "{{if eq .Status \"firing\"}}!{{else}}ok{{end}}", "{{len .Pod}} {{slice .Pod 0 3}}", "{{- /* a comment */ -}}"} {
		if msg := checkNotifyTemplate(ok); msg != "" {
			t.Errorf("checkNotifyTemplate(%q) = %q, want no problem", ok, msg)
		}
	}
}

// FuzzNotifyTemplate feeds arbitrary headers and bodies to the template check: whatever a
// person writes, validation answers with a message, never a crash or a hang.
func FuzzNotifyTemplate(f *testing.F) {
	for _, seed := range []string{"{{.PolicyName}}", "{{if gt .Value 80}}x{{end}}", "{{range 3}}{{end}}", `{{define "x"}}{{end}}`, "{{$x := .Pod}}{{$x.Y}}", "{{with .Node}}{{.}}{{else}}-{{end}}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		_ = checkNotifyTemplate(text)
	})
}
