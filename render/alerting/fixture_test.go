package alerting

import (
	"strings"
	"testing"
	"testing/fstest"

	"gitfleet.dev/gitfleet/schema"
)

// doc is a fleet document of one kind.
func doc(kind, name, spec string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// fleet is a valid repository with every alerting kind, after schema's own alerting
// fixture: a standalone and an imported cluster, two businesses with a namespace each,
// channels of every type (webhooks sent directly and through the notifier) with
// templates, receivers, groups, and cluster, node, platform pod and business pod
// policies.
var fleet = map[string]string{
	"clusters/dev.yaml": doc("Cluster", "dev", `  type: Baremetal
  version: "1.18.3"
  capacity: {cpu: "64", memory: 256Gi}
  machines:
  - ip: 10.0.0.10
    role: master
    privateKey: {env: GITFLEET_SECRET_DEV_SSH_KEY}
`),
	"clusters/imp.yaml":                          doc("Cluster", "imp", "  type: Imported\n"),
	"addons/monitoring.yaml":                     doc("Addon", "monitoring", "  type: Monitoring\n  clusters: [dev, imp]\n"),
	"businesses/shop.yaml":                       doc("Business", "shop", "  displayName: Shop\n  quota:\n    dev: {cpu: \"8\", memory: 16Gi}\n"),
	"businesses/other.yaml":                      doc("Business", "other", "  quota:\n    dev: {cpu: \"4\", memory: 8Gi}\n"),
	"businesses/shop/namespaces/shop-prod.yaml":  doc("Namespace", "shop-prod", "  business: shop\n  cluster: dev\n  quota: {cpu: \"4\", memory: 8Gi}\n"),
	"businesses/other/namespaces/other-web.yaml": doc("Namespace", "other-web", "  business: other\n  cluster: dev\n"),

	"alerting/channels/ops-mail.yaml": doc("NotifyChannel", "ops-mail", `  email:
    from: "Fleet Alerts <alerts@example.com>"
    password: {secret: {name: smtp, key: password}}
    smtpHost: smtp.example.com
    tls: true
`),
	"alerting/channels/ops-sms.yaml": doc("NotifyChannel", "ops-sms", `  sms:
    appKey: {env: GITFLEET_SECRET_SMS_APP_KEY}
    sdkAppID: 1400000000
    extend: "12"
`),
	"alerting/channels/ops-wechat.yaml": doc("NotifyChannel", "ops-wechat", `  wechat:
    appID: wx1234567890abcdef
    appSecret: {file: etc/gitfleet/wechat-secret}
`),
	// ops-hook has a header Alertmanager cannot send: the notifier relays it.
	"alerting/channels/ops-hook.yaml": doc("NotifyChannel", "ops-hook", `  webhook:
    url: https://hooks.example.com/alerts?team=ops
    headers:
    - {name: X-Team, value: ops}
    - name: Authorization
      valueFrom: {secret: {name: hook, key: bearer}}
`),
	// robot's URL is in an environment variable of gitfleet: the notifier relays it.
	"alerting/channels/robot.yaml": doc("NotifyChannel", "robot", `  webhook:
    urlFrom: {env: GITFLEET_SECRET_ROBOT_WEBHOOK_URL}
`),
	// pager and chat are sent by Alertmanager itself.
	"alerting/channels/pager.yaml": doc("NotifyChannel", "pager", `  webhook:
    url: https://pager.example.com/v1/events
    headers:
    - name: Authorization
      valueFrom: {secret: {name: pager, key: token}}
`),
	"alerting/channels/chat.yaml": doc("NotifyChannel", "chat", `  webhook:
    urlFrom: {secret: {namespace: gitfleet-system, name: chat-robot, key: url}}
`),
	"alerting/channels/plain-mail.yaml": doc("NotifyChannel", "plain-mail", `  email:
    from: alerts@example.com
    password: {secret: {name: smtp, key: password}}
    smtpHost: "fd00::25"
`),
	"alerting/templates.yaml": doc("NotifyTemplate", "ops-mail-default", `  channel: ops-mail
  header: "[{{.Status}}] {{.PolicyName}} on {{.Cluster}}"
  body: |
    {{.MetricName}} is {{.Value}}{{.Unit}} ({{.Operator}} {{.Threshold}} for {{.Duration}} x {{.Period}} min) since {{.StartsAt}}.
    {{if .Pod}}Pod {{.Namespace}}/{{.Pod}} ({{.WorkloadKind}} {{.Workload}}) on node {{.Node}}.{{end}}
    {{with .Business}}Business: {{.}}{{end}} {{- if eq $.PolicyType "pod"}} (pod policy){{end}}
`) + "---\n" + doc("NotifyTemplate", "ops-sms-short", `  channel: ops-sms
  body: "{{.PolicyName}}: {{.Metric}} {{.Value}}{{.Unit}}"
`) + "---\n" + doc("NotifyTemplate", "ops-wechat-card", `  channel: ops-wechat
  header: "{{.PolicyName}}"
  body: "{{printf \"%s %s %s\" .MetricName .Operator .Threshold}}"
`) + "---\n" + doc("NotifyTemplate", "ops-hook-json", `  channel: ops-hook
  body: '{"policy": {{printf "%q" .PolicyName}}, "cluster": {{printf "%q" .Cluster}}, "value": {{printf "%q" .Value}}}'
`) + "---\n" + doc("NotifyTemplate", "robot-text", `  channel: robot
  body: "{{.PolicyName}} fired"
`) + "---\n" + doc("NotifyTemplate", "pager-event", `  channel: pager
  body: "{{.PolicyName}} {{.Status}}"
`) + "---\n" + doc("NotifyTemplate", "chat-text", `  channel: chat
  body: "{{.PolicyName}}: {{.MetricName}} {{.Value}}{{.Unit}}"
`) + "---\n" + doc("NotifyTemplate", "plain-mail-default", `  channel: plain-mail
  header: "{{.PolicyName}}"
  body: "{{.MetricName}} {{.Value}}"
`),
	"alerting/receivers.yaml": doc("Receiver", "alice", `  displayName: Alice
  username: alice
  mobile: "+8613800000000"
  email: alice@example.com
  wechatOpenID: oAbCdEfGhIjKlMnOpQrStUvWxYz0
`) + "---\n" + doc("Receiver", "bob", "  email: bob@example.com\n") +
		"---\n" + doc("Receiver", "carol", "  mobile: \"13800000001\"\n"),
	"alerting/groups.yaml": doc("ReceiverGroup", "ops", "  displayName: Operations\n  receivers: [alice, bob]\n") +
		"---\n" + doc("ReceiverGroup", "shop-oncall", "  receivers: [carol, bob]\n"),
	"alerting/policies/dev-cluster.yaml": doc("AlertPolicy", "dev-cluster", `  cluster: dev
  type: cluster
  period: 5
  rules:
  - {metric: cpu_utilization, operator: ">", threshold: 80, duration: 3}
  - {metric: memory_utilization, operator: ">", threshold: 85}
  - {metric: cpu_allocation_rate, operator: ">", threshold: 90}
  - {metric: memory_allocation_rate, operator: ">", threshold: 95}
  - {metric: apiserver_healthy}
  - {metric: etcd_healthy, alertWhen: false}
  - {metric: scheduler_healthy}
  - {metric: controller_manager_healthy, duration: 2}
  receiverGroups: [ops]
  notify:
  - {channel: ops-mail, template: ops-mail-default}
  - {channel: ops-hook, template: ops-hook-json}
  - {channel: pager, template: pager-event}
`),
	"alerting/policies/imp-nodes.yaml": doc("AlertPolicy", "imp-nodes", `  cluster: imp
  type: node
  rules:
  - {metric: node_ready}
  - {metric: cpu_utilization, operator: ">", threshold: 90}
  - {metric: pod_restarts, operator: ">", threshold: 5, duration: 10}
  - {metric: memory_utilization, operator: ">", threshold: 90}
  - {metric: memory_utilization, operator: "<", threshold: 1}
  receiverGroups: [ops]
  notify:
  - {channel: ops-sms, template: ops-sms-short}
  - {channel: ops-wechat, template: ops-wechat-card}
`),
	"alerting/policies/dev-pods.yaml": doc("AlertPolicy", "dev-pods", `  cluster: dev
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
  - {metric: memory_utilization_node, operator: ">", threshold: 50}
  - {metric: memory_no_cache_utilization_node, operator: ">", threshold: 50}
  - {metric: cpu_utilization_limit, operator: ">", threshold: 95}
  - {metric: memory_utilization_limit, operator: ">", threshold: 95}
  - {metric: memory_no_cache_utilization_limit, operator: ">", threshold: 95}
  - {metric: memory_usage, operator: ">", threshold: 4096}
  receiverGroups: [ops, shop-oncall]
  notify:
  - {channel: robot, template: robot-text}
  - {channel: ops-sms, template: ops-sms-short}
`),
	"alerting/policies/imp-all-pods.yaml": doc("AlertPolicy", "imp-all-pods", `  cluster: imp
  type: pod
  targets: {allNamespaces: true}
  rules:
  - {metric: memory_utilization_node, operator: ">", threshold: 30}
  - {metric: pod_restarts, operator: ">", threshold: 0, duration: 2}
  receiverGroups: [ops]
  notify: [{channel: plain-mail, template: plain-mail-default}]
`),
	"alerting/policies/shop-pods.yaml": doc("AlertPolicy", "shop-pods", `  business: shop
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
  - {channel: chat, template: chat-text}
`),
	"alerting/policies/shop-quiet.yaml": doc("AlertPolicy", "shop-quiet", `  business: shop
  namespace: shop-prod
  type: pod
  rules:
  - {metric: pod_ready, alertWhen: true, duration: 3}
  receiverGroups: [shop-oncall]
  notify: [{channel: ops-sms, template: ops-sms-short}]
`),
}

// withFiles is the fixture with some files added or replaced.
func withFiles(files map[string]string) map[string]string {
	out := make(map[string]string, len(fleet)+len(files))
	for k, v := range fleet {
		out[k] = v
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// load loads a repository the way schema's tests do. Only the alerting files must be
// valid: rules added to other kinds later must not break these tests.
func load(t *testing.T, files map[string]string) *schema.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	// The operator lets fleet files name team-b's Secrets, which
	// TestSecretCopiedFromTwoPlaces copies next to gitfleet's own.
	opts := schema.DefaultLoadOptions()
	opts.Secrets.Namespaces = []string{"team-b"}
	repo, err := schema.LoadWithOptions(t.Context(), fsys, opts)
	for _, e := range schema.AsErrorList(err) {
		if strings.HasPrefix(e.File, "alerting/") {
			t.Fatalf("fixture error: %v", e)
		}
		t.Logf("error in another area's file: %v", e)
	}
	if repo == nil {
		t.Fatalf("Load: %v", err)
	}
	return repo
}
