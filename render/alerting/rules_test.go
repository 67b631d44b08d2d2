package alerting

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

func TestAlertName(t *testing.T) {
	metric := func(typ schema.AlertPolicyType, id string) schema.AlertMetric {
		m, ok := schema.LookupAlertMetric(typ, id)
		if !ok {
			t.Fatalf("no %s metric %s", typ, id)
		}
		return m
	}
	gt := schema.AlertRule{Operator: schema.AlertGreater}
	lt := schema.AlertRule{Operator: schema.AlertLess}
	cases := []struct {
		typ  schema.AlertPolicyType
		id   string
		rule schema.AlertRule
		want string
	}{
		{schema.AlertTypeCluster, "cpu_utilization", gt, "ClusterCPUUtilizationHigh"},
		{schema.AlertTypeCluster, "apiserver_healthy", schema.AlertRule{}, "ClusterAPIServerHealthyFalse"},
		{schema.AlertTypeCluster, "controller_manager_healthy", schema.AlertRule{AlertWhen: ptr(true)}, "ClusterControllerManagerHealthyTrue"},
		{schema.AlertTypeNode, "memory_utilization", lt, "NodeMemoryUtilizationLow"},
		{schema.AlertTypeNode, "node_ready", schema.AlertRule{AlertWhen: ptr(false)}, "NodeReadyFalse"},
		{schema.AlertTypeNode, "pod_restarts", gt, "NodePodRestartsHigh"},
		{schema.AlertTypePod, "pod_restarts", gt, "PodRestartsHigh"},
		{schema.AlertTypePod, "memory_no_cache_utilization_limit", gt, "PodMemoryNoCacheUtilizationLimitHigh"},
	}
	for _, c := range cases {
		if got := alertName(c.typ, metric(c.typ, c.id), c.rule); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.typ, c.id, got, c.want)
		}
	}
}

// TestAlertLabelsAndAnnotations checks what a pod alert carries for Alertmanager and for
// the notifier: every NotifyData field that applies, named like the field.
func TestAlertLabelsAndAnnotations(t *testing.T) {
	repo := load(t, fleet)
	pr, err := policyRules(repo.AlertPolicy("shop-pods"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	rules := pr.Spec.Groups[0].Rules
	if rules[0].Record != TargetsRecord || rules[1].Alert != "PodMemoryUtilizationLimitHigh" {
		t.Fatalf("rules start %q %q, want the targets record then PodMemoryUtilizationLimitHigh", rules[0].Record, rules[1].Alert)
	}
	r := rules[1]
	wantLabels := map[string]string{
		"severity": "warning", "policy": "shop-pods", "policy_type": "pod", "cluster": "dev",
		"metric": "memory_utilization_limit", "business": "shop",
	}
	if diff := cmp.Diff(wantLabels, r.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	wantAnnotations := map[string]string{
		"PolicyName":   "shop-pods",
		"PolicyType":   "pod",
		"Cluster":      "dev",
		"Business":     "shop",
		"Namespace":    `{{ index $labels "namespace" }}`,
		"Pod":          `{{ index $labels "pod" }}`,
		"Node":         `{{ index $labels "node" }}`,
		"WorkloadKind": `{{ index $labels "owner_kind" }}`,
		"Workload":     `{{ index $labels "owner_name" }}`,
		"Metric":       "memory_utilization_limit",
		"MetricName":   "Memory utilisation (of limit)",
		"Unit":         "%",
		"Operator":     ">",
		"Value":        `{{ printf "%.2f" $value }}`,
		"Threshold":    "90",
		"Duration":     "5",
		"Period":       "2",
		"summary":      `Memory utilisation (of limit): pod {{ index $labels "namespace" }}/{{ index $labels "pod" }} of cluster dev above 90%`,
		"description":  `Memory utilisation (of limit) of pod {{ index $labels "namespace" }}/{{ index $labels "pod" }} of cluster dev is {{ printf "%.2f" $value }}% over the last 2 min, above 90% for 5 period(s) (policy shop-pods).`,
	}
	if diff := cmp.Diff(wantAnnotations, r.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if r.For != "10m" {
		t.Errorf("for %q, want 10m (5 periods of 2 min)", r.For)
	}
	// Every annotation that is not summary or description is a NotifyData field.
	fields := map[string]bool{}
	for _, f := range schema.NotifyVariables() {
		fields[f] = true
	}
	for name := range r.Annotations {
		if !fields[name] && name != "summary" && name != "description" {
			t.Errorf("annotation %s is not a NotifyData field", name)
		}
	}
}
