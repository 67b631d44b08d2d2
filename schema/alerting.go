package schema

// The alerting kinds model TKEStack's 监控&告警 pages: notification channels, message
// templates, receivers and receiver groups (通知设置), and alert policies (告警设置) on the
// platform side (one cluster) and the business side (one business namespace).
//
// The seed leaves the shape of these objects open (seed-extract §11 gap 5); the choices
// made here, and why, are in the field comments. Validation is in alerting_policy.go and
// alerting_notify.go, the metric catalog in alerting_metrics.go and the template
// variables in alerting_template.go.

// AlertPolicy watches metrics of one cluster (platform side) or of the pods of one
// business namespace (business side) and notifies receiver groups through channels.
//
//	apiVersion: gitfleet.dev/v1alpha1
//	kind: AlertPolicy
//	metadata:
//	  name: dev-nodes
//	spec:
//	  cluster: dev
//	  type: node
//	  period: 2
//	  rules:
//	  - {metric: cpu_utilization, operator: ">", threshold: 90, duration: 3}
//	  - {metric: node_ready}
//	  receiverGroups: [ops]
//	  notify:
//	  - {channel: ops-mail, template: ops-mail-default}
type AlertPolicy struct {
	Object `yaml:",inline" json:",inline"`
	Spec   AlertPolicySpec `yaml:"spec" json:"spec"`
}

// AlertPolicySpec is the specification of an AlertPolicy. Its metadata.name is the
// policy name: TKEStack allows at most 60 characters.
type AlertPolicySpec struct {
	// Cluster makes this a platform-side policy (平台管理 -> 告警设置) on the named Cluster.
	// Set either Cluster, or Business and Namespace.
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	// Business and Namespace make this a business-side policy (业务管理 -> 告警设置): the
	// Namespace (a Namespace object of the repository) must belong to the Business, and
	// the policy runs on the namespace's cluster. Business-side policies are of type pod
	// and only see the pods of that namespace: cluster and node metrics are not a
	// tenant's to watch, and a tenant must not see other tenants' pods.
	Business  string `yaml:"business,omitempty" json:"business,omitempty"`
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Type is cluster (集群), node (节点) or pod (Pod): which metrics the rules may use.
	Type AlertPolicyType `yaml:"type" json:"type"`
	// Targets select the pods a pod policy watches. A platform pod policy must set them;
	// a business pod policy defaults to every pod of its namespace. Cluster and node
	// policies have no targets (they watch the cluster, or every node of it).
	Targets AlertTargets `yaml:"targets,omitempty" json:"targets,omitempty"`
	// Period is the statistics period (统计周期) in minutes: 1, 2, 3, 4 or 5 (default 1).
	// Every metric is the average over one period.
	Period int `yaml:"period,omitempty" json:"period,omitempty"`
	// Rules are the conditions (指标), at least one; any rule that holds fires an alert.
	Rules []AlertRule `yaml:"rules" json:"rules"`
	// ReceiverGroups are the ReceiverGroup names that are notified, at least one.
	ReceiverGroups []string `yaml:"receiverGroups" json:"receiverGroups"`
	// Notify lists the notification methods (通知方式): channel and template pairs, at
	// least one.
	Notify []NotifyMethod `yaml:"notify" json:"notify"`
}

// AlertPolicyType is what an alert policy watches.
type AlertPolicyType string

const (
	AlertTypeCluster AlertPolicyType = "cluster"
	AlertTypeNode    AlertPolicyType = "node"
	AlertTypePod     AlertPolicyType = "pod"
)

// AlertTargets select the pods of a pod policy: either every pod of the cluster
// (AllNamespaces, TKEStack's 全部选择) or the listed workload selections.
type AlertTargets struct {
	// AllNamespaces watches every pod in every namespace of the cluster (platform side
	// only).
	AllNamespaces bool `yaml:"allNamespaces,omitempty" json:"allNamespaces,omitempty"`
	// Workloads are selections of pods (按工作负载选择), each in one namespace.
	Workloads []WorkloadTarget `yaml:"workloads,omitempty" json:"workloads,omitempty"`
}

// WorkloadTarget selects pods in one namespace: all of them (only Namespace set), those
// of every workload of one kind (Namespace and Kind), or those of one workload
// (Namespace, Kind and Name). The first two are TKEStack v1.3's namespace-wide and
// workload-kind targets.
type WorkloadTarget struct {
	// Namespace is the Kubernetes namespace. On a business policy it defaults to, and
	// must be, the policy's namespace.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Kind is Deployment, StatefulSet, DaemonSet or TApp.
	Kind AlertWorkloadKind `yaml:"kind,omitempty" json:"kind,omitempty"`
	// Name is the workload's name; it needs Kind.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
}

// AlertWorkloadKind is a kind of workload whose pods an alert policy can watch.
type AlertWorkloadKind string

const (
	AlertWorkloadDeployment  AlertWorkloadKind = "Deployment"
	AlertWorkloadStatefulSet AlertWorkloadKind = "StatefulSet"
	AlertWorkloadDaemonSet   AlertWorkloadKind = "DaemonSet"
	AlertWorkloadTApp        AlertWorkloadKind = "TApp"
)

// AlertRule is one condition of a policy: a metric of the catalog (AlertMetrics)
// compared with a threshold, persisting for a number of periods.
//
// A numeric metric takes Operator and Threshold ("cpu_utilization > 80"). A state
// metric (apiserver_healthy, node_ready, pod_ready, ...) takes neither: it fires when the
// state equals AlertWhen, which defaults to false as in TKEStack ("alerts on False by
// default"; v1.3 made false the Pod Ready default).
type AlertRule struct {
	// Metric is a metric identifier of the catalog for the policy's type.
	Metric string `yaml:"metric" json:"metric"`
	// Operator is > or < (TKEStack's 大于/小于); numeric metrics only.
	Operator AlertOperator `yaml:"operator,omitempty" json:"operator,omitempty"`
	// Threshold is compared with the metric's average over the period, in the metric's
	// unit: 0-100 for percentages, at least 0 otherwise. Numeric metrics only.
	Threshold *float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// AlertWhen is the state that fires a state metric's rule (default false). State
	// metrics only.
	AlertWhen *bool `yaml:"alertWhen,omitempty" json:"alertWhen,omitempty"`
	// Duration is how many consecutive periods the condition must hold (持续周期) before
	// the alert fires: 1 to MaxAlertDuration, default 1. It counts periods, not minutes:
	// period 2 and duration 3 wait 6 minutes.
	Duration int `yaml:"duration,omitempty" json:"duration,omitempty"`
}

// AlertOperator compares a metric with its threshold.
type AlertOperator string

const (
	AlertGreater AlertOperator = ">"
	AlertLess    AlertOperator = "<"
)

// Alert policy limits. The seed gives the period choices and the name length; the allowed
// durations are only in a screenshot, so MaxAlertDuration is ours: ten periods, at most
// 50 minutes with 5-minute periods, long enough to ride out a rolling update.
const (
	MaxAlertPolicyName = 60
	MinAlertPeriod     = 1
	MaxAlertPeriod     = 5
	MaxAlertDuration   = 10
)

// NotifyMethod is a notification method of a policy: a channel and one of its templates.
type NotifyMethod struct {
	// Channel is a NotifyChannel name.
	Channel string `yaml:"channel" json:"channel"`
	// Template is a NotifyTemplate name; the template's channel must be Channel.
	Template string `yaml:"template" json:"template"`
}

// NotifyChannel is how notifications are sent (通知渠道): exactly one of email, SMS,
// WeChat official account or webhook. Passwords, keys and tokens are given by reference
// (SecretRef), never written into the repository. Channels are shared by platform and
// business policies (TKEStack's business notification settings are "identical").
//
//	apiVersion: gitfleet.dev/v1alpha1
//	kind: NotifyChannel
//	metadata:
//	  name: ops-mail
//	spec:
//	  email:
//	    from: alerts@example.com
//	    password: {secret: {name: smtp, key: password}}
//	    smtpHost: smtp.example.com
//	    smtpPort: 465
//	    tls: true
type NotifyChannel struct {
	Object `yaml:",inline" json:",inline"`
	Spec   NotifyChannelSpec `yaml:"spec" json:"spec"`
}

// NotifyChannelSpec is the specification of a NotifyChannel: exactly one field is set.
type NotifyChannelSpec struct {
	Email   *EmailChannel   `yaml:"email,omitempty" json:"email,omitempty"`
	SMS     *SMSChannel     `yaml:"sms,omitempty" json:"sms,omitempty"`
	WeChat  *WeChatChannel  `yaml:"wechat,omitempty" json:"wechat,omitempty"`
	Webhook *WebhookChannel `yaml:"webhook,omitempty" json:"webhook,omitempty"`
}

// ChannelType names the type of a NotifyChannel.
type ChannelType string

const (
	ChannelEmail   ChannelType = "email"
	ChannelSMS     ChannelType = "sms"
	ChannelWeChat  ChannelType = "wechat"
	ChannelWebhook ChannelType = "webhook"
)

// Type is the channel's type, or "" when none or several are set (a validation error).
func (c *NotifyChannel) Type() ChannelType {
	types := c.Spec.types()
	if len(types) != 1 {
		return ""
	}
	return types[0]
}

func (s *NotifyChannelSpec) types() []ChannelType {
	var out []ChannelType
	if s.Email != nil {
		out = append(out, ChannelEmail)
	}
	if s.SMS != nil {
		out = append(out, ChannelSMS)
	}
	if s.WeChat != nil {
		out = append(out, ChannelWeChat)
	}
	if s.Webhook != nil {
		out = append(out, ChannelWebhook)
	}
	return out
}

// EmailChannel sends mail through an SMTP server (邮件).
type EmailChannel struct {
	// From is the sender's address (the seed's "email"), for example alerts@example.com.
	From string `yaml:"from" json:"from"`
	// Password is the sender's SMTP password, by reference.
	Password *SecretRef `yaml:"password" json:"password"`
	// SMTPHost is the SMTP server's host name or IP address, without a scheme or port.
	SMTPHost string `yaml:"smtpHost" json:"smtpHost"`
	// SMTPPort is the SMTP server's port, 1-65535. The seed gives no default; ours is 465
	// (SMTPS) with TLS and 25 without.
	SMTPPort int `yaml:"smtpPort,omitempty" json:"smtpPort,omitempty"`
	// TLS connects to the server over TLS.
	TLS bool `yaml:"tls,omitempty" json:"tls,omitempty"`
}

// SMSChannel sends text messages through Tencent Cloud SMS (短信).
type SMSChannel struct {
	// AppKey is the SMS application's key, by reference.
	AppKey *SecretRef `yaml:"appKey" json:"appKey"`
	// SDKAppID is the SMS application's SdkAppID, a number such as 1400000000.
	SDKAppID string `yaml:"sdkAppID" json:"sdkAppID"`
	// Extend is the optional extension code (digits) appended to the sender number.
	Extend string `yaml:"extend,omitempty" json:"extend,omitempty"`
}

// WeChatChannel sends template messages through a WeChat official account (微信公众号).
type WeChatChannel struct {
	// AppID is the official account's AppID.
	AppID string `yaml:"appID" json:"appID"`
	// AppSecret is the official account's AppSecret, by reference.
	AppSecret *SecretRef `yaml:"appSecret" json:"appSecret"`
}

// WebhookChannel posts notifications to an HTTP(S) endpoint (TKEStack v1.3).
type WebhookChannel struct {
	// URL is the endpoint, http:// or https://. A URL that carries a credential (user
	// information, or a query parameter such as access_token, key or sign, as chat-robot
	// webhooks do) must be given by reference in URLFrom instead.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// URLFrom is the endpoint by reference, for URLs that embed a credential.
	URLFrom *SecretRef `yaml:"urlFrom,omitempty" json:"urlFrom,omitempty"`
	// Headers are extra HTTP headers. A header that carries a credential
	// (Authorization, Cookie, X-Auth-Token, X-Api-Key, ...) takes its value by reference.
	Headers []WebhookHeader `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// WebhookHeader is one HTTP header of a webhook: a literal Value or, for credentials,
// ValueFrom (exactly one).
type WebhookHeader struct {
	Name      string     `yaml:"name" json:"name"`
	Value     string     `yaml:"value,omitempty" json:"value,omitempty"`
	ValueFrom *SecretRef `yaml:"valueFrom,omitempty" json:"valueFrom,omitempty"`
}

// NotifyTemplate is a message template (通知模板) of one channel. Header (the title; an
// email's subject) and Body are Go text/template texts over the variables of NotifyData,
// for example "{{.PolicyName}}: {{.MetricName}} on {{.Cluster}} is {{.Value}}{{.Unit}}".
//
//	apiVersion: gitfleet.dev/v1alpha1
//	kind: NotifyTemplate
//	metadata:
//	  name: ops-mail-default
//	spec:
//	  channel: ops-mail
//	  header: "[{{.Status}}] {{.PolicyName}} on {{.Cluster}}"
//	  body: |
//	    {{.MetricName}} is {{.Value}}{{.Unit}} ({{.Operator}} {{.Threshold}}) since {{.StartsAt}}.
type NotifyTemplate struct {
	Object `yaml:",inline" json:",inline"`
	Spec   NotifyTemplateSpec `yaml:"spec" json:"spec"`
}

// NotifyTemplateSpec is the specification of a NotifyTemplate.
type NotifyTemplateSpec struct {
	// Channel is the NotifyChannel the template is for.
	Channel string `yaml:"channel" json:"channel"`
	// Header is the message title; required for email channels (the subject).
	Header string `yaml:"header,omitempty" json:"header,omitempty"`
	// Body is the message text; required.
	Body string `yaml:"body" json:"body"`
}

// Receiver is a person who receives notifications (接收人): at least one of Mobile,
// Email and WeChatOpenID.
//
//	apiVersion: gitfleet.dev/v1alpha1
//	kind: Receiver
//	metadata:
//	  name: alice
//	spec:
//	  displayName: Alice
//	  username: alice
//	  mobile: "+8613800000000"
//	  email: alice@example.com
//	  wechatOpenID: oAbCdEfGhIjKlMnOpQrStUvWxYz0
type Receiver struct {
	Object `yaml:",inline" json:",inline"`
	Spec   ReceiverSpec `yaml:"spec" json:"spec"`
}

// ReceiverSpec is the specification of a Receiver.
type ReceiverSpec struct {
	// DisplayName is the name people see (显示名称).
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Username is the receiver's platform account (用户名).
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	// Mobile is the phone number for SMS (移动电话): digits, optionally after a +.
	Mobile string `yaml:"mobile,omitempty" json:"mobile,omitempty"`
	// Email is the address for email channels (电子邮件).
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	// WeChatOpenID is the receiver's OpenID for the WeChat official account (微信OpenID).
	WeChatOpenID string `yaml:"wechatOpenID,omitempty" json:"wechatOpenID,omitempty"`
}

// ReceiverGroup is a named set of receivers (接收组) that policies notify.
//
//	apiVersion: gitfleet.dev/v1alpha1
//	kind: ReceiverGroup
//	metadata:
//	  name: ops
//	spec:
//	  displayName: Operations
//	  receivers: [alice, bob]
type ReceiverGroup struct {
	Object `yaml:",inline" json:",inline"`
	Spec   ReceiverGroupSpec `yaml:"spec" json:"spec"`
}

// ReceiverGroupSpec is the specification of a ReceiverGroup.
type ReceiverGroupSpec struct {
	// DisplayName is the name people see.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Receivers are Receiver names, at least one, each once.
	Receivers []string `yaml:"receivers" json:"receivers"`
}

// AlertPolicy returns the alert policy with the given name, or nil.
func (r *Repo) AlertPolicy(name string) *AlertPolicy { return byName(r.AlertPolicies, name) }

// NotifyChannel returns the notification channel with the given name, or nil.
func (r *Repo) NotifyChannel(name string) *NotifyChannel { return byName(r.NotifyChannels, name) }

// NotifyTemplate returns the notification template with the given name, or nil.
func (r *Repo) NotifyTemplate(name string) *NotifyTemplate {
	return byName(r.NotifyTemplates, name)
}

// Receiver returns the receiver with the given name, or nil.
func (r *Repo) Receiver(name string) *Receiver { return byName(r.Receivers, name) }

// ReceiverGroup returns the receiver group with the given name, or nil.
func (r *Repo) ReceiverGroup(name string) *ReceiverGroup { return byName(r.ReceiverGroups, name) }

// AlertPolicyCluster is the name of the cluster a policy runs on: its cluster, or the
// cluster of its business namespace. It is "" when the namespace is unknown.
func (r *Repo) AlertPolicyCluster(p *AlertPolicy) string {
	if p.Spec.Cluster != "" {
		return p.Spec.Cluster
	}
	if ns := byName(r.Namespaces, p.Spec.Namespace); ns != nil && p.Spec.Namespace != "" {
		return ns.Spec.Cluster
	}
	return ""
}

// AlertPoliciesFor returns the alert policies that run on the cluster, sorted by name.
func (r *Repo) AlertPoliciesFor(c *Cluster) []*AlertPolicy {
	var out []*AlertPolicy
	for _, p := range r.AlertPolicies {
		if r.AlertPolicyCluster(p) == c.Metadata.Name {
			out = append(out, p)
		}
	}
	return out
}

// defaultsAlerting fills in the defaults of the alerting kinds. A value written in the
// file is kept even when it is invalid (period: 0), so that validation reports it.
func (r *Repo) defaultsAlerting() {
	for _, c := range r.NotifyChannels {
		if e := c.Spec.Email; e != nil && !alertFieldWritten(c.Origin, "spec.email.smtpPort") {
			e.SMTPPort = 25
			if e.TLS {
				e.SMTPPort = 465
			}
		}
	}
	for _, p := range r.AlertPolicies {
		p.setDefaults()
	}
}

// validateAlerting checks the alerting kinds and the references between them and to
// clusters, businesses and namespaces.
func (r *Repo) validateAlerting() ErrorList {
	var errs ErrorList
	for _, c := range r.NotifyChannels {
		errs = append(errs, c.validate()...)
	}
	for _, t := range r.NotifyTemplates {
		errs = append(errs, t.validate(r)...)
	}
	for _, rc := range r.Receivers {
		errs = append(errs, rc.validate()...)
	}
	for _, g := range r.ReceiverGroups {
		errs = append(errs, g.validate(r)...)
	}
	for _, p := range r.AlertPolicies {
		errs = append(errs, p.validate(r)...)
	}
	return errs
}

// alertFieldWritten reports whether a field path appears in the object's file, so that
// defaults are applied only to fields that were left out.
func alertFieldWritten(o Origin, field string) bool {
	_, ok := o.fields[field]
	return ok
}
