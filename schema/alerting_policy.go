package schema

import (
	"fmt"
	"slices"
	"strings"
)

// setDefaults fills in the period, each rule's duration and state value, and a business
// pod policy's targets (its whole namespace). Values written in the file are kept, even
// invalid ones, for validation to report.
func (p *AlertPolicy) setDefaults() {
	s := &p.Spec
	if !alertFieldWritten(p.Origin, "spec.period") {
		s.Period = MinAlertPeriod
	}
	for i := range s.Rules {
		rule := &s.Rules[i]
		if !alertFieldWritten(p.Origin, fmt.Sprintf("spec.rules[%d].duration", i)) {
			rule.Duration = 1
		}
		m, ok := LookupAlertMetric(s.Type, rule.Metric)
		if ok && m.Boolean && rule.AlertWhen == nil && rule.Operator == "" && rule.Threshold == nil {
			rule.AlertWhen = ptr(false)
		}
	}
	if p.scope() == alertScopeBusiness && s.Namespace != "" && s.Type == AlertTypePod {
		if !s.Targets.AllNamespaces && len(s.Targets.Workloads) == 0 {
			s.Targets.Workloads = []WorkloadTarget{{Namespace: s.Namespace}}
		}
		for i := range s.Targets.Workloads {
			if s.Targets.Workloads[i].Namespace == "" {
				s.Targets.Workloads[i].Namespace = s.Namespace
			}
		}
	}
}

// validate checks an AlertPolicy and its references.
func (p *AlertPolicy) validate(r *Repo) ErrorList {
	o := p.Origin
	errs := validateName(o, p.Metadata.Name)
	if n := len(p.Metadata.Name); len(errs) == 0 && n > MaxAlertPolicyName {
		errs = append(errs, o.Errorf("metadata.name", "an alert policy name has at most %d characters (TKEStack's limit), found %d", MaxAlertPolicyName, n))
	}
	cluster, scopeErrs := p.validateScope(r)
	errs = append(errs, scopeErrs...)
	if cluster != nil && !r.HasAddon(cluster, AddonMonitoring) {
		errs = append(errs, p.noMonitoring(cluster))
	}
	errs = append(errs, p.validateType()...)
	errs = append(errs, p.validateTargets()...)
	if p.Spec.Period < MinAlertPeriod || p.Spec.Period > MaxAlertPeriod {
		errs = append(errs, o.Errorf("spec.period", "period is the statistics period in minutes: 1, 2, 3, 4 or 5, found %d", p.Spec.Period))
	}
	errs = append(errs, p.validateRules(cluster)...)
	errs = append(errs, p.validateReceiverGroups(r)...)
	errs = append(errs, p.validateNotify(r)...)
	return errs
}

// alertScope is which side of TKEStack a policy belongs to, as far as its fields say.
type alertScope int

const (
	alertScopeNone     alertScope = iota // neither cluster nor business and namespace
	alertScopePlatform                   // cluster
	alertScopeBusiness                   // business and namespace, possibly one of them missing
	alertScopeConflict                   // cluster and business or namespace
)

func (p *AlertPolicy) scope() alertScope {
	platform := p.Spec.Cluster != ""
	business := p.Spec.Business != "" || p.Spec.Namespace != ""
	switch {
	case platform && business:
		return alertScopeConflict
	case platform:
		return alertScopePlatform
	case business:
		return alertScopeBusiness
	}
	return alertScopeNone
}

func (p *AlertPolicy) isBusiness() bool { return p.scope() == alertScopeBusiness }

// validateScope checks the cluster, or the business and namespace, and returns the
// cluster the policy runs on when it is known.
func (p *AlertPolicy) validateScope(r *Repo) (*Cluster, ErrorList) {
	o, s := p.Origin, p.Spec
	switch {
	case s.Cluster != "" && s.Business != "":
		return nil, ErrorList{o.Errorf("spec.business", "set either cluster (a platform policy) or business and namespace (a business policy), not both")}
	case s.Cluster != "" && s.Namespace != "":
		return nil, ErrorList{o.Errorf("spec.namespace", "namespace makes a business policy, which takes business instead of cluster; a platform policy selects namespaces in targets.workloads")}
	case s.Cluster != "":
		c := r.Cluster(s.Cluster)
		if c == nil {
			return nil, ErrorList{o.Errorf("spec.cluster", "no Cluster named %q in the repository%s", s.Cluster, knownNames(r.Clusters, (*Cluster).Name))}
		}
		return c, nil
	case p.scope() == alertScopeNone:
		return nil, ErrorList{o.Errorf("spec", "an AlertPolicy needs a scope: cluster for a platform policy, or business and namespace for a business policy")}
	}
	var errs ErrorList
	if s.Business == "" {
		errs = append(errs, o.Errorf("spec.business", "a business policy needs business: the Business that owns namespace %q", s.Namespace))
	} else if byName(r.Businesses, s.Business) == nil {
		errs = append(errs, o.Errorf("spec.business", "no Business named %q in the repository%s", s.Business, knownNames(r.Businesses, (*Business).Name)))
	}
	if s.Namespace == "" {
		return nil, append(errs, o.Errorf("spec.namespace", "a business policy needs namespace: the Namespace of business %q it watches%s", s.Business, knownNames(p.businessNamespaces(r), (*Namespace).Name)))
	}
	ns := byName(r.Namespaces, s.Namespace)
	switch {
	case ns == nil:
		return nil, append(errs, o.Errorf("spec.namespace", "no Namespace named %q in the repository%s", s.Namespace, knownNames(p.businessNamespaces(r), (*Namespace).Name)))
	case s.Business != "" && ns.Spec.Business != s.Business:
		return nil, append(errs, o.Errorf("spec.namespace", "Namespace %q belongs to Business %q, not %q: a business watches only its own namespaces", s.Namespace, ns.Spec.Business, s.Business))
	}
	return r.Cluster(ns.Spec.Cluster), errs
}

// noMonitoring reports the seed's prerequisite: alerts are evaluated by the cluster's
// monitoring (TKEStack: 监控告警 enabled on the cluster, or the Prometheus addon for a
// business namespace), which the repository installs as the Monitoring addon.
func (p *AlertPolicy) noMonitoring(c *Cluster) *FieldError {
	fix := fmt.Sprintf("add an Addon of type %s whose spec.clusters lists %s", AddonMonitoring, c.Metadata.Name)
	if p.Spec.Cluster == "" {
		return p.Origin.Errorf("spec.namespace", "namespace %q is on cluster %q, which has no Monitoring addon to evaluate alert policies: %s", p.Spec.Namespace, c.Metadata.Name, fix)
	}
	return p.Origin.Errorf("spec.cluster", "cluster %q has no Monitoring addon to evaluate alert policies: %s", c.Metadata.Name, fix)
}

// businessNamespaces are the namespaces of the policy's business, or all of them when the
// business is not given: the names worth suggesting.
func (p *AlertPolicy) businessNamespaces(r *Repo) []*Namespace {
	if p.Spec.Business == "" {
		return r.Namespaces
	}
	var out []*Namespace
	for _, ns := range r.Namespaces {
		if ns.Spec.Business == p.Spec.Business {
			out = append(out, ns)
		}
	}
	return out
}

func (p *AlertPolicy) validateType() ErrorList {
	o, t := p.Origin, p.Spec.Type
	switch {
	case t == "":
		return ErrorList{o.Errorf("spec.type", "type is required: cluster, node or pod")}
	case !slices.Contains(alertPolicyTypes, t):
		valid := make([]string, len(alertPolicyTypes))
		for i, v := range alertPolicyTypes {
			valid[i] = string(v)
		}
		return ErrorList{o.Errorf("spec.type", "%s", unknownName("policy type", string(t), valid))}
	case p.isBusiness() && t != AlertTypePod:
		return ErrorList{o.Errorf("spec.type", "a business policy watches the pods of its namespace, so its type is pod; %s alerts are set on the platform side, with spec.cluster", t)}
	}
	return nil
}

func (p *AlertPolicy) validateTargets() ErrorList {
	o, s := p.Origin, p.Spec
	t := s.Targets
	has := t.AllNamespaces || len(t.Workloads) > 0
	switch s.Type {
	case AlertTypeCluster, AlertTypeNode:
		if has {
			what := map[AlertPolicyType]string{AlertTypeCluster: "the cluster as a whole", AlertTypeNode: "every node of the cluster"}[s.Type]
			return ErrorList{o.Errorf("spec.targets", "targets select pods, but a %s policy watches %s: remove targets, or make it a pod policy", s.Type, what)}
		}
		return nil
	case AlertTypePod:
	default:
		return nil
	}
	if sc := p.scope(); sc == alertScopeNone || sc == alertScopeConflict {
		return nil // which targets are allowed depends on the scope; its error comes first.
	}
	if !has && !p.isBusiness() {
		return ErrorList{o.Errorf("spec.targets", "a pod policy needs targets: allNamespaces: true for every pod of the cluster, or workloads, each a namespace and optionally a kind and a name")}
	}
	var errs ErrorList
	switch {
	case t.AllNamespaces && p.isBusiness():
		errs = append(errs, o.Errorf("spec.targets.allNamespaces", "a business policy watches only its namespace %q: remove allNamespaces", s.Namespace))
	case t.AllNamespaces && len(t.Workloads) > 0:
		errs = append(errs, o.Errorf("spec.targets.allNamespaces", "allNamespaces already watches every pod of the cluster: remove allNamespaces or workloads"))
	}
	for i, w := range t.Workloads {
		field := fmt.Sprintf("spec.targets.workloads[%d]", i)
		switch {
		case w.Namespace == "":
			errs = append(errs, o.Errorf(field+".namespace", "namespace is required: the namespace whose pods are watched"))
		case !dnsLabel.MatchString(w.Namespace) || len(w.Namespace) > 63:
			errs = append(errs, o.Errorf(field+".namespace", "%q is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", w.Namespace))
		case p.isBusiness() && s.Namespace != "" && w.Namespace != s.Namespace:
			errs = append(errs, o.Errorf(field+".namespace", "a business policy watches only its namespace %q: remove namespace here, or set it to %q", s.Namespace, s.Namespace))
		}
		switch w.Kind {
		case "", AlertWorkloadDeployment, AlertWorkloadStatefulSet, AlertWorkloadDaemonSet, AlertWorkloadTApp:
		default:
			errs = append(errs, o.Errorf(field+".kind", "%s", unknownName("workload kind", string(w.Kind), []string{string(AlertWorkloadDeployment), string(AlertWorkloadStatefulSet), string(AlertWorkloadDaemonSet), string(AlertWorkloadTApp)})))
		}
		switch {
		case w.Name != "" && w.Kind == "":
			errs = append(errs, o.Errorf(field+".kind", "name needs kind: is %q a Deployment, StatefulSet, DaemonSet or TApp?", w.Name))
		case w.Name != "" && (len(w.Name) > 253 || !dnsSubdomain.MatchString(w.Name)):
			errs = append(errs, o.Errorf(field+".name", "%q is not a valid workload name: use lowercase letters, digits, '-' and '.'", w.Name))
		}
		if j, equal := coveringAlertTarget(t.Workloads, i); j >= 0 {
			if equal {
				errs = append(errs, o.Errorf(field, "this target is listed twice (also at workloads[%d])", j))
			} else {
				errs = append(errs, o.Errorf(field, "these pods are already watched through workloads[%d] (%s): remove one of the two", j, t.Workloads[j].describe()))
			}
		}
	}
	return errs
}

// coveringAlertTarget finds another target that selects every pod target i selects: an equal
// one listed earlier, or a broader one anywhere. It returns -1 when there is none.
func coveringAlertTarget(ws []WorkloadTarget, i int) (j int, equal bool) {
	w := ws[i]
	for j, v := range ws {
		if j == i || v.Namespace != w.Namespace {
			continue
		}
		if v == w {
			if j < i {
				return j, true
			}
			continue
		}
		// A name without a kind is an error of its own, not a namespace-wide target.
		if (v.Kind == "" && v.Name == "") || (v.Kind != "" && v.Kind == w.Kind && v.Name == "") {
			return j, false
		}
	}
	return -1, false
}

func (w WorkloadTarget) describe() string {
	switch {
	case w.Kind == "":
		return fmt.Sprintf("every pod in namespace %s", w.Namespace)
	case w.Name == "":
		return fmt.Sprintf("the pods of every %s in namespace %s", w.Kind, w.Namespace)
	default:
		return fmt.Sprintf("the pods of %s %s/%s", w.Kind, w.Namespace, w.Name)
	}
}

func (p *AlertPolicy) validateRules(cluster *Cluster) ErrorList {
	o, s := p.Origin, p.Spec
	typeKnown := slices.Contains(alertPolicyTypes, s.Type)
	var errs ErrorList
	if len(s.Rules) == 0 {
		msg := "a policy needs at least one rule: a metric, and for numeric metrics an operator and a threshold"
		if typeKnown {
			msg += fmt.Sprintf(" (%s metrics: %s)", s.Type, strings.Join(alertMetricIDs(s.Type), ", "))
		}
		return ErrorList{o.Errorf("spec.rules", "%s", msg)}
	}
	for i, rule := range s.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		if rule.Duration < 1 || rule.Duration > MaxAlertDuration {
			errs = append(errs, o.Errorf(field+".duration", "duration is how many periods the condition must hold: 1 to %d, found %d", MaxAlertDuration, rule.Duration))
		}
		if !typeKnown {
			continue // the type's own error says what to fix first.
		}
		m, ok := LookupAlertMetric(s.Type, rule.Metric)
		if !ok {
			errs = append(errs, o.Errorf(field+".metric", "%s", unknownAlertMetric(s.Type, rule.Metric)))
			continue
		}
		if m.StandaloneOnly && cluster != nil && cluster.Spec.Type != ClusterBaremetal {
			errs = append(errs, o.Errorf(field+".metric", "TKEStack reports %s only for standalone (Baremetal) clusters, and cluster %q is %s", m.ID, cluster.Metadata.Name, cluster.Spec.Type))
		}
		errs = append(errs, checkAlertRuleValue(o, field, rule, m)...)
		for j, prev := range s.Rules[:i] {
			if prev.Metric == rule.Metric && (m.Boolean || prev.Operator == rule.Operator) {
				errs = append(errs, o.Errorf(field+".metric", "rules[%d] already compares %s the same way: merge the two rules", j, m.ID))
				break
			}
		}
	}
	return errs
}

func unknownAlertMetric(t AlertPolicyType, id string) string {
	if id == "" {
		return fmt.Sprintf("metric is required; %s metrics: %s", t, strings.Join(alertMetricIDs(t), ", "))
	}
	for _, other := range alertPolicyTypes {
		if _, ok := LookupAlertMetric(other, id); ok && other != t {
			return fmt.Sprintf("%s is a %s metric, not a %s metric; %s metrics: %s", id, other, t, t, strings.Join(alertMetricIDs(t), ", "))
		}
	}
	return unknownName(string(t)+" metric", id, alertMetricIDs(t))
}

// checkAlertRuleValue checks what a rule compares its metric with: a state for state metrics,
// an operator and a threshold in the metric's range for numeric ones.
func checkAlertRuleValue(o Origin, field string, rule AlertRule, m AlertMetric) ErrorList {
	if m.Boolean {
		stateHelp := fmt.Sprintf("%s is a state metric (true or false): remove operator and threshold; the rule fires when the state is false, or set alertWhen: true", m.ID)
		switch {
		case rule.Operator != "":
			return ErrorList{o.Errorf(field+".operator", "%s", stateHelp)}
		case rule.Threshold != nil:
			return ErrorList{o.Errorf(field+".threshold", "%s", stateHelp)}
		}
		return nil
	}
	var errs ErrorList
	if rule.AlertWhen != nil {
		errs = append(errs, o.Errorf(field+".alertWhen", "alertWhen is for state metrics; %s is a number: compare it with operator and threshold", m.ID))
	}
	switch rule.Operator {
	case AlertGreater, AlertLess:
	case "":
		errs = append(errs, o.Errorf(field+".operator", "operator is required: > or <"))
	default:
		errs = append(errs, o.Errorf(field+".operator", "unknown operator %q; TKEStack compares with > or <", rule.Operator))
	}
	if rule.Threshold == nil {
		return append(errs, o.Errorf(field+".threshold", "threshold is required: the %s value (%s) to compare with", m.ID, describeAlertUnit(m.Unit)))
	}
	v := *rule.Threshold
	switch {
	case m.Unit == AlertUnitPercent && (v < 0 || v > 100):
		errs = append(errs, o.Errorf(field+".threshold", "%s is a percentage: the threshold must be 0-100, found %g", m.ID, v))
	case v < 0:
		errs = append(errs, o.Errorf(field+".threshold", "%s is never negative: the threshold must be at least 0, found %g", m.ID, v))
	case v == 0 && rule.Operator == AlertLess:
		errs = append(errs, o.Errorf(field+".threshold", "%s is never below 0, so this rule would never fire", m.ID))
	}
	return errs
}

func describeAlertUnit(u AlertUnit) string {
	switch u {
	case AlertUnitPercent:
		return "a percentage, 0-100"
	case AlertUnitMB:
		return "in MB"
	case AlertUnitCores:
		return "in CPU cores"
	default:
		return "a count"
	}
}

func (p *AlertPolicy) validateReceiverGroups(r *Repo) ErrorList {
	return validateReceiverGroupRefs(r, p.Origin, "spec", "a policy", p.Spec.ReceiverGroups)
}

func (p *AlertPolicy) validateNotify(r *Repo) ErrorList {
	return validateNotifyRefs(r, p.Origin, "spec", "a policy", p.Spec.Notify, p.Spec.ReceiverGroups, p.receivers(r))
}

// validateReceiverGroupRefs checks the receiver groups a notification goes to (an
// AlertPolicy's, the Fleet's drift notifications): at least one, each declared once.
func validateReceiverGroupRefs(r *Repo, o Origin, base, subject string, groups []string) ErrorList {
	if len(groups) == 0 {
		return ErrorList{o.Errorf(base+".receiverGroups", "%s needs at least one receiver group to notify%s", subject, knownNames(r.ReceiverGroups, (*ReceiverGroup).Name))}
	}
	var errs ErrorList
	for i, name := range groups {
		field := fmt.Sprintf("%s.receiverGroups[%d]", base, i)
		switch j := slices.Index(groups, name); {
		case j < i:
			errs = append(errs, o.Errorf(field, "receiver group %q is listed twice (also at receiverGroups[%d])", name, j))
		case r.ReceiverGroup(name) == nil:
			errs = append(errs, o.Errorf(field, "no ReceiverGroup named %q in the repository%s", name, knownNames(r.ReceiverGroups, (*ReceiverGroup).Name)))
		}
	}
	return errs
}

// validateNotifyRefs checks channel and template pairs: both exist, the template is the
// channel's, the channel can reach someone in the groups, no pair twice.
func validateNotifyRefs(r *Repo, o Origin, base, subject string, methods []NotifyMethod, groups []string, receivers []*Receiver) ErrorList {
	if len(methods) == 0 {
		return ErrorList{o.Errorf(base+".notify", "%s needs at least one notification method: {channel: CHANNEL, template: TEMPLATE}%s", subject, knownNames(r.NotifyChannels, (*NotifyChannel).Name))}
	}
	var errs ErrorList
	for i, n := range methods {
		field := fmt.Sprintf("%s.notify[%d]", base, i)
		ch := r.NotifyChannel(n.Channel)
		switch {
		case n.Channel == "":
			errs = append(errs, o.Errorf(field+".channel", "channel is required: a NotifyChannel name%s", knownNames(r.NotifyChannels, (*NotifyChannel).Name)))
		case ch == nil:
			errs = append(errs, o.Errorf(field+".channel", "no NotifyChannel named %q in the repository%s", n.Channel, knownNames(r.NotifyChannels, (*NotifyChannel).Name)))
		default:
			if msg := notifyUnreachable(ch, receivers, groups); msg != "" {
				errs = append(errs, o.Errorf(field+".channel", "%s", msg))
			}
		}
		tpl := r.NotifyTemplate(n.Template)
		switch {
		case n.Template == "":
			errs = append(errs, o.Errorf(field+".template", "template is required: a NotifyTemplate of channel %q%s", n.Channel, r.notifyTemplatesOf(n.Channel)))
		case tpl == nil:
			errs = append(errs, o.Errorf(field+".template", "no NotifyTemplate named %q in the repository%s", n.Template, r.notifyTemplatesOf(n.Channel)))
		case n.Channel != "" && tpl.Spec.Channel != n.Channel:
			errs = append(errs, o.Errorf(field+".template", "template %q is for channel %q, not %q%s", n.Template, tpl.Spec.Channel, n.Channel, r.notifyTemplatesOf(n.Channel)))
		}
		if j := slices.Index(methods, n); j < i {
			errs = append(errs, o.Errorf(field, "channel %q with template %q is listed twice (also at notify[%d])", n.Channel, n.Template, j))
		}
	}
	return errs
}

// notifyTemplatesOf lists the templates of a channel, for messages.
func (r *Repo) notifyTemplatesOf(channel string) string {
	if channel == "" {
		return ""
	}
	var names []string
	for _, t := range r.NotifyTemplates {
		if t.Spec.Channel == channel {
			names = append(names, t.Metadata.Name)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf(" (channel %q has no NotifyTemplate yet)", channel)
	}
	return fmt.Sprintf(" (templates of channel %q: %s)", channel, strings.Join(names, ", "))
}

// receivers are the receivers of the policy's groups that exist.
func (p *AlertPolicy) receivers(r *Repo) []*Receiver { return r.ReceiversOf(p.Spec.ReceiverGroups) }

// ReceiversOf returns the receivers of the named groups, each once, in group order.
func (r *Repo) ReceiversOf(groups []string) []*Receiver {
	var out []*Receiver
	for _, name := range groups {
		if g := r.ReceiverGroup(name); g != nil {
			for _, rn := range g.Spec.Receivers {
				if rc := r.Receiver(rn); rc != nil && !slices.Contains(out, rc) {
					out = append(out, rc)
				}
			}
		}
	}
	return out
}

// notifyUnreachable says why a channel would reach none of the receivers: an email channel
// needs receivers with an email address, SMS a mobile number, WeChat an OpenID. A
// webhook reaches its endpoint, not people. "" when someone is reachable (or when there
// are no receivers to judge, which is reported on receiverGroups).
func notifyUnreachable(ch *NotifyChannel, receivers []*Receiver, groups []string) string {
	if len(receivers) == 0 {
		return ""
	}
	var has func(*Receiver) bool
	var what, sends string
	switch ch.Type() {
	case ChannelEmail:
		has, what, sends = func(rc *Receiver) bool { return rc.Spec.Email != "" }, "email", "email"
	case ChannelSMS:
		has, what, sends = func(rc *Receiver) bool { return rc.Spec.Mobile != "" }, "mobile", "text messages"
	case ChannelWeChat:
		has, what, sends = func(rc *Receiver) bool { return rc.Spec.WeChatOpenID != "" }, "wechatOpenID", "WeChat messages"
	default:
		return ""
	}
	if slices.ContainsFunc(receivers, has) {
		return ""
	}
	return fmt.Sprintf("channel %q sends %s, but no receiver in receiver groups %s has %s set: add it to a receiver, or notify through another channel", ch.Metadata.Name, sends, strings.Join(groups, ", "), what)
}
