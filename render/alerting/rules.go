package alerting

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"gitfleet.dev/gitfleet/schema"
)

// Labels of every alert gitfleet's rules fire. Alertmanager routes on Policy; the others
// say what fired where, for people and for the notifier. Series labels come on top:
// namespace, pod, node, owner_kind and owner_name on pod alerts, node on node alerts,
// instance and job on control-plane health alerts.
const (
	AlertLabelSeverity   = "severity"
	AlertLabelPolicy     = "policy"
	AlertLabelPolicyType = "policy_type"
	AlertLabelCluster    = "cluster"
	AlertLabelMetric     = "metric"
	AlertLabelBusiness   = "business"
)

// TargetsRecord is the series a pod policy records its pods in, labelled with the policy:
// one series per pod, with the labels namespace, pod, node and, for workload targets,
// owner_kind and owner_name.
const TargetsRecord = "gitfleet:alert_policy_pods"

// Severity is the severity label of every alert. TKEStack's policies have no severity;
// "warning" is what Alertmanager setups route on by default.
const Severity = "warning"

// policyRules builds the PrometheusRule of one policy: one alerting rule per rule of
// the policy, in the policy's order, after the recording rule of a pod policy's targets.
func policyRules(p *schema.AlertPolicy, cluster string) (*prometheusRule, error) {
	s := p.Spec
	args := queryArgs{window: fmt.Sprintf("%dm", s.Period)}
	var errs schema.ErrorList
	var rules []rule
	if s.Type == schema.AlertTypePod {
		// The pods a policy watches are recorded once per evaluation, and every rule of
		// the policy joins with the recorded series: rules read shorter, and Prometheus
		// maps pods to workloads once instead of once per rule. Rules of a group run in
		// order at the same timestamp, so the alerts see this evaluation's pods.
		var targets string
		targets, args.namespaces = targetVector(s.Targets)
		rules = append(rules, rule{Record: TargetsRecord, Expr: targets, Labels: map[string]string{AlertLabelPolicy: p.Metadata.Name}})
		args.targets = selector(TargetsRecord, fmt.Sprintf("%s=%q", AlertLabelPolicy, p.Metadata.Name))
	}
	for i, r := range s.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		m, ok := schema.LookupAlertMetric(s.Type, r.Metric)
		if !ok {
			errs = append(errs, p.Origin.Errorf(field+".metric", "no %s metric %q in the catalog", s.Type, r.Metric))
			continue
		}
		expr, err := ruleExpr(s.Type, m, r, args)
		if err != nil {
			errs = append(errs, p.Origin.Errorf(field, "%v", err))
			continue
		}
		rules = append(rules, rule{
			Alert:       alertName(s.Type, m, r),
			Expr:        expr,
			For:         fmt.Sprintf("%dm", r.Duration*s.Period),
			Labels:      alertLabels(p, cluster, m),
			Annotations: alertAnnotations(p, cluster, m, r),
		})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &prometheusRule{
		APIVersion: "monitoring.coreos.com/v1",
		Kind:       "PrometheusRule",
		Metadata:   objectMeta{Name: objectName(p), Namespace: Namespace, Labels: objectLabels(p)},
		Spec:       prometheusRuleSpec{Groups: []ruleGroup{{Name: "gitfleet." + p.Metadata.Name, Rules: rules}}},
	}, nil
}

// alertName names a rule after what fires it: ClusterCPUUtilizationHigh, NodeReadyFalse,
// PodMemoryUsageHigh. A policy compares a metric at most once per operator, so the name
// is unique within the policy.
func alertName(typ schema.AlertPolicyType, m schema.AlertMetric, r schema.AlertRule) string {
	words := strings.Split(m.ID, "_")
	if words[0] != string(typ) {
		words = append([]string{string(typ)}, words...)
	}
	switch {
	case m.Boolean && alertWhen(r):
		words = append(words, "true")
	case m.Boolean:
		words = append(words, "false")
	case r.Operator == schema.AlertLess:
		words = append(words, "low")
	default:
		words = append(words, "high")
	}
	var b strings.Builder
	for _, w := range words {
		switch w {
		case "cpu":
			b.WriteString("CPU")
		case "apiserver":
			b.WriteString("APIServer")
		default:
			r := []rune(w)
			b.WriteString(string(unicode.ToUpper(r[0])) + string(r[1:]))
		}
	}
	return b.String()
}

func alertLabels(p *schema.AlertPolicy, cluster string, m schema.AlertMetric) map[string]string {
	l := map[string]string{
		AlertLabelSeverity:   Severity,
		AlertLabelPolicy:     p.Metadata.Name,
		AlertLabelPolicyType: string(p.Spec.Type),
		AlertLabelCluster:    cluster,
		AlertLabelMetric:     m.ID,
	}
	if p.Spec.Business != "" {
		l[AlertLabelBusiness] = p.Spec.Business
	}
	return l
}

// alertAnnotations carry schema.NotifyData: one annotation per field, named like the
// field, so that the notifier (and the email templates, see template.go) can fill a
// NotifyTemplate from an alert alone. Status and StartsAt are properties of the alert in
// Alertmanager and are not annotations. Fields that do not apply to the policy are left
// out; a reader treats a missing field as empty. summary and description are for people
// reading Alertmanager and Prometheus directly.
func alertAnnotations(p *schema.AlertPolicy, cluster string, m schema.AlertMetric, r schema.AlertRule) map[string]string {
	s := p.Spec
	a := map[string]string{
		"PolicyName": p.Metadata.Name,
		"PolicyType": string(s.Type),
		"Cluster":    cluster,
		"Metric":     m.ID,
		"MetricName": m.Title,
		"Duration":   strconv.Itoa(r.Duration),
		"Period":     strconv.Itoa(s.Period),
	}
	if s.Business != "" {
		a["Business"] = s.Business
	}
	if m.Unit != schema.AlertUnitState {
		a["Unit"] = string(m.Unit)
	}
	// Label values are read with index: a label a series lacks (the workload of a pod
	// that has none) prints as nothing instead of "<no value>".
	label := func(name string) string { return fmt.Sprintf(`{{ index $labels %q }}`, name) }
	var subject string
	switch s.Type {
	case schema.AlertTypeCluster:
		subject = "cluster " + cluster
		if job := componentJob(m.ID); job != "" {
			subject = fmt.Sprintf("%s %s of cluster %s", job, label("instance"), cluster)
		}
	case schema.AlertTypeNode:
		a["Node"] = label("node")
		subject = "node " + label("node") + " of cluster " + cluster
	case schema.AlertTypePod:
		a["Namespace"] = label("namespace")
		a["Pod"] = label("pod")
		a["Node"] = label("node")
		a["WorkloadKind"] = label("owner_kind")
		a["Workload"] = label("owner_name")
		subject = "pod " + label("namespace") + "/" + label("pod") + " of cluster " + cluster
	}
	unit := unitSuffix(m.Unit)
	if m.Boolean {
		state := strconv.FormatBool(alertWhen(r))
		a["Operator"] = "="
		a["Threshold"] = state
		a["Value"] = state
		a["summary"] = fmt.Sprintf("%s: %s is %s", m.Title, subject, state)
		a["description"] = fmt.Sprintf("%s of %s has been %s for %d period(s) of %d min (policy %s).", m.Title, subject, state, r.Duration, s.Period, p.Metadata.Name)
		return a
	}
	threshold := formatNumber(*r.Threshold)
	a["Operator"] = string(r.Operator)
	a["Threshold"] = threshold
	a["Value"] = `{{ printf "%.2f" $value }}`
	dir := "above"
	if r.Operator == schema.AlertLess {
		dir = "below"
	}
	a["summary"] = fmt.Sprintf("%s: %s %s %s%s", m.Title, subject, dir, threshold, unit)
	a["description"] = fmt.Sprintf("%s of %s is %s%s over the last %d min, %s %s%s for %d period(s) (policy %s).",
		m.Title, subject, a["Value"], unit, s.Period, dir, threshold, unit, r.Duration, p.Metadata.Name)
	return a
}

// unitSuffix writes a unit after a number: 80%, 1.5 cores, 4096 MB, 3 (restarts).
func unitSuffix(u schema.AlertUnit) string {
	switch u {
	case schema.AlertUnitPercent, schema.AlertUnitState:
		return string(u)
	case schema.AlertUnitCount:
		return ""
	}
	return " " + string(u)
}
