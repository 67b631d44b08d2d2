package alerting

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

// exprs renders a policy's PrometheusRule and returns each rule's expression by alert
// name (by "record:<name>" for recording rules), and each alert's for.
func exprs(t *testing.T, repo *schema.Repo, policy string) (map[string]string, map[string]string) {
	t.Helper()
	p := repo.AlertPolicy(policy)
	pr, err := policyRules(p, repo.AlertPolicyCluster(p))
	if err != nil {
		t.Fatal(err)
	}
	got, forTime := map[string]string{}, map[string]string{}
	for _, r := range pr.Spec.Groups[0].Rules {
		if r.Record != "" {
			got["record:"+r.Record] = r.Expr
			continue
		}
		got[r.Alert] = r.Expr
		forTime[r.Alert] = r.For
	}
	return got, forTime
}

func TestClusterPolicyPromQL(t *testing.T) {
	got, forTime := exprs(t, load(t, fleet), "dev-cluster")
	want := map[string]string{
		"ClusterCPUUtilizationHigh":            `100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 80`,
		"ClusterMemoryUtilizationHigh":         `100 * (1 - sum(avg_over_time(node_memory_MemAvailable_bytes[5m])) / sum(node_memory_MemTotal_bytes)) > 85`,
		"ClusterCPUAllocationRateHigh":         `100 * sum(kube_pod_container_resource_requests{resource="cpu"} and on (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)) / sum(kube_node_status_allocatable{resource="cpu"}) > 90`,
		"ClusterMemoryAllocationRateHigh":      `100 * sum(kube_pod_container_resource_requests{resource="memory"} and on (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)) / sum(kube_node_status_allocatable{resource="memory"}) > 95`,
		"ClusterAPIServerHealthyFalse":         `avg_over_time(up{job="apiserver"}[5m]) == 0 or absent_over_time(up{job="apiserver"}[5m])`,
		"ClusterEtcdHealthyFalse":              `avg_over_time(up{job="etcd"}[5m]) == 0 or absent_over_time(up{job="etcd"}[5m])`,
		"ClusterSchedulerHealthyFalse":         `avg_over_time(up{job="kube-scheduler"}[5m]) == 0 or absent_over_time(up{job="kube-scheduler"}[5m])`,
		"ClusterControllerManagerHealthyFalse": `avg_over_time(up{job="kube-controller-manager"}[5m]) == 0 or absent_over_time(up{job="kube-controller-manager"}[5m])`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expressions (-want +got):\n%s", diff)
	}
	// for is duration x period: 3 x 5 min, 1 x 5 min, 2 x 5 min.
	for alert, want := range map[string]string{"ClusterCPUUtilizationHigh": "15m", "ClusterMemoryUtilizationHigh": "5m", "ClusterControllerManagerHealthyFalse": "10m"} {
		if forTime[alert] != want {
			t.Errorf("%s for %q, want %q", alert, forTime[alert], want)
		}
	}
}

func TestNodePolicyPromQL(t *testing.T) {
	got, forTime := exprs(t, load(t, fleet), "imp-nodes")
	podsOn := func(v string) string {
		return `sum by (node) (` + v + ` * on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info{node!=""}))`
	}
	want := map[string]string{
		"NodeReadyFalse":            `max by (node) (avg_over_time(kube_node_status_condition{condition="Ready",status="true"}[1m])) == 0`,
		"NodeCPUUtilizationHigh":    `100 * ` + podsOn(`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[1m]))`) + ` / max by (node) (kube_node_status_capacity{resource="cpu"}) > 90`,
		"NodePodRestartsHigh":       podsOn(`sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[1m]))`) + ` > 5`,
		"NodeMemoryUtilizationHigh": `100 * ` + podsOn(`sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[1m]))`) + ` / max by (node) (kube_node_status_capacity{resource="memory"}) > 90`,
		"NodeMemoryUtilizationLow":  `100 * ` + podsOn(`sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[1m]))`) + ` / max by (node) (kube_node_status_capacity{resource="memory"}) < 1`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expressions (-want +got):\n%s", diff)
	}
	if forTime["NodePodRestartsHigh"] != "10m" {
		t.Errorf("NodePodRestartsHigh for %q, want 10m (10 periods of 1 min)", forTime["NodePodRestartsHigh"])
	}
}

// TestPodTargets checks the recorded target vector and the namespace matchers for every
// form of pod target.
func TestPodTargets(t *testing.T) {
	const (
		deployment  = `max by (namespace, pod, node, owner_kind, owner_name) (label_replace(kube_pod_owner{namespace="shop",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) kube_replicaset_owner{namespace="shop",owner_kind="Deployment",owner_name="web"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop"})`
		deployments = `max by (namespace, pod, node, owner_kind, owner_name) (label_replace(kube_pod_owner{namespace="shop",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) kube_replicaset_owner{namespace="shop",owner_kind="Deployment"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop"})`
		statefulSet = `max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="shop",owner_kind="StatefulSet",owner_name="db"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop"})`
		daemonSets  = `max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="kube-system",owner_kind="DaemonSet"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="kube-system"})`
		tapp        = `max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="shop",owner_kind="TApp",owner_name="cart"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop"})`
		namespace   = `max by (namespace, pod, node) (kube_pod_info{namespace="monitoring"})`
	)
	w := func(ns string, kind schema.AlertWorkloadKind, name string) schema.WorkloadTarget {
		return schema.WorkloadTarget{Namespace: ns, Kind: kind, Name: name}
	}
	cases := []struct {
		name    string
		targets schema.AlertTargets
		vector  string
		ns      []string
	}{
		{"all namespaces", schema.AlertTargets{AllNamespaces: true}, `max by (namespace, pod, node) (kube_pod_info)`, nil},
		{"all pods of a namespace", schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("monitoring", "", "")}}, namespace, []string{`namespace="monitoring"`}},
		{"one Deployment", schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("shop", schema.AlertWorkloadDeployment, "web")}}, deployment, []string{`namespace="shop"`}},
		{"every Deployment of a namespace", schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("shop", schema.AlertWorkloadDeployment, "")}}, deployments, []string{`namespace="shop"`}},
		{"one StatefulSet", schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("shop", schema.AlertWorkloadStatefulSet, "db")}}, statefulSet, []string{`namespace="shop"`}},
		{"every DaemonSet of a namespace", schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("kube-system", schema.AlertWorkloadDaemonSet, "")}}, daemonSets, []string{`namespace="kube-system"`}},
		{"one TApp", schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("shop", schema.AlertWorkloadTApp, "cart")}}, tapp, []string{`namespace="shop"`}},
		{
			"several targets in several namespaces",
			schema.AlertTargets{Workloads: []schema.WorkloadTarget{w("shop", schema.AlertWorkloadTApp, "cart"), w("monitoring", "", ""), w("kube-system", schema.AlertWorkloadDaemonSet, "")}},
			"(" + tapp + " or " + namespace + " or " + daemonSets + ")",
			[]string{`namespace=~"kube-system|monitoring|shop"`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vector, ns := targetVector(c.targets)
			if diff := cmp.Diff(c.vector, vector); diff != "" {
				t.Errorf("vector (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.ns, ns); diff != "" {
				t.Errorf("namespace matchers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPodPolicyPromQL checks a platform pod policy: the recorded targets, and each rule
// joined with them, its selectors narrowed to the targets' namespaces.
func TestPodPolicyPromQL(t *testing.T) {
	got, forTime := exprs(t, load(t, fleet), "dev-pods")
	const (
		ns      = `namespace=~"kube-system|monitoring|shop-prod"`
		join    = ` * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="dev-pods"}`
		cpu     = `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD",` + ns + `}[3m]))`
		usage   = `sum by (namespace, pod) (avg_over_time(container_memory_usage_bytes{container!="",container!="POD",` + ns + `}[3m]))`
		noCache = `sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD",` + ns + `}[3m]))`
	)
	want := map[string]string{
		"record:gitfleet:alert_policy_pods":    `(max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="kube-system",owner_kind="DaemonSet"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="kube-system"}) or max by (namespace, pod, node, owner_kind, owner_name) (label_replace(kube_pod_owner{namespace="kube-system",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) kube_replicaset_owner{namespace="kube-system",owner_kind="Deployment",owner_name="coredns"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="kube-system"}) or max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="shop-prod",owner_kind="TApp",owner_name="cart"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop-prod"}) or max by (namespace, pod, node) (kube_pod_info{namespace="monitoring"}))`,
		"PodReadyFalse":                        `(max by (namespace, pod) (avg_over_time(kube_pod_status_ready{condition="true",` + ns + `}[3m])) unless on (namespace, pod) (kube_pod_status_phase{phase=~"Succeeded|Failed",` + ns + `} == 1))` + join + ` == 0`,
		"PodCPUUtilizationNodeHigh":            `100 * ` + cpu + join + ` / on (node) group_left () max by (node) (kube_node_status_capacity{resource="cpu"}) > 50`,
		"PodMemoryUtilizationNodeHigh":         `100 * ` + usage + join + ` / on (node) group_left () max by (node) (kube_node_status_capacity{resource="memory"}) > 50`,
		"PodMemoryNoCacheUtilizationNodeHigh":  `100 * ` + noCache + join + ` / on (node) group_left () max by (node) (kube_node_status_capacity{resource="memory"}) > 50`,
		"PodCPUUtilizationLimitHigh":           `100 * ` + cpu + ` / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="cpu",` + ns + `})` + join + ` > 95`,
		"PodMemoryUtilizationLimitHigh":        `100 * ` + usage + ` / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="memory",` + ns + `})` + join + ` > 95`,
		"PodMemoryNoCacheUtilizationLimitHigh": `100 * ` + noCache + ` / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="memory",` + ns + `})` + join + ` > 95`,
		"PodMemoryUsageHigh":                   usage + ` / 1048576` + join + ` > 4096`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expressions (-want +got):\n%s", diff)
	}
	if forTime["PodReadyFalse"] != "3m" {
		t.Errorf("PodReadyFalse for %q, want 3m (1 period of 3 min)", forTime["PodReadyFalse"])
	}
}

// TestBusinessPolicyPromQL checks business-side policies: they watch their namespace
// (every pod by default), and their alerts carry the business.
func TestBusinessPolicyPromQL(t *testing.T) {
	repo := load(t, fleet)
	got, forTime := exprs(t, repo, "shop-quiet")
	want := map[string]string{
		"record:gitfleet:alert_policy_pods": `max by (namespace, pod, node) (kube_pod_info{namespace="shop-prod"})`,
		// alertWhen: true fires when the pod was Ready throughout the period.
		"PodReadyTrue": `(max by (namespace, pod) (avg_over_time(kube_pod_status_ready{condition="true",namespace="shop-prod"}[1m])) unless on (namespace, pod) (kube_pod_status_phase{phase=~"Succeeded|Failed",namespace="shop-prod"} == 1)) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="shop-quiet"} == 1`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shop-quiet (-want +got):\n%s", diff)
	}
	if forTime["PodReadyTrue"] != "3m" {
		t.Errorf("PodReadyTrue for %q, want 3m", forTime["PodReadyTrue"])
	}

	got, _ = exprs(t, repo, "shop-pods")
	const join = ` * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="shop-pods"}`
	want = map[string]string{
		"record:gitfleet:alert_policy_pods": `(max by (namespace, pod, node, owner_kind, owner_name) (label_replace(kube_pod_owner{namespace="shop-prod",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) kube_replicaset_owner{namespace="shop-prod",owner_kind="Deployment",owner_name="web"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop-prod"}) or max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="shop-prod",owner_kind="StatefulSet"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="shop-prod"}))`,
		"PodMemoryUtilizationLimitHigh":     `100 * sum by (namespace, pod) (avg_over_time(container_memory_usage_bytes{container!="",container!="POD",namespace="shop-prod"}[2m])) / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="memory",namespace="shop-prod"})` + join + ` > 90`,
		"PodCPUUsageHigh":                   `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD",namespace="shop-prod"}[2m]))` + join + ` > 1.5`,
		"PodMemoryNoCacheUsageHigh":         `sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD",namespace="shop-prod"}[2m])) / 1048576` + join + ` > 2048`,
		"PodRestartsHigh":                   `sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace="shop-prod"}[2m]))` + join + ` > 3`,
		"PodReadyFalse":                     `(max by (namespace, pod) (avg_over_time(kube_pod_status_ready{condition="true",namespace="shop-prod"}[2m])) unless on (namespace, pod) (kube_pod_status_phase{phase=~"Succeeded|Failed",namespace="shop-prod"} == 1))` + join + ` == 0`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shop-pods (-want +got):\n%s", diff)
	}

	pr, err := policyRules(repo.AlertPolicy("shop-pods"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range pr.Spec.Groups[0].Rules {
		if r.Alert != "" && (r.Labels[AlertLabelBusiness] != "shop" || r.Annotations["Business"] != "shop") {
			t.Errorf("%s: business label %q and annotation %q, want shop", r.Alert, r.Labels[AlertLabelBusiness], r.Annotations["Business"])
		}
	}
}

// TestEveryCatalogMetricHasPromQL fails when a metric is added to schema's catalog
// without PromQL here, and checks that every expression is well formed: brackets and
// quotes balanced, ranges set to the period.
func TestEveryCatalogMetricHasPromQL(t *testing.T) {
	args := queryArgs{window: "4m", namespaces: []string{`namespace="ns"`}, targets: `gitfleet:alert_policy_pods{policy="p"}`}
	for _, m := range schema.AlertMetrics() {
		t.Run(string(m.Type)+"/"+m.ID, func(t *testing.T) {
			v, ok := valueQuery(m.Type, m.ID, args)
			if !ok {
				t.Fatalf("no PromQL for %s metric %s: add it to valueQuery and document it", m.Type, m.ID)
			}
			rule := schema.AlertRule{Metric: m.ID, Operator: schema.AlertGreater, Threshold: ptr(1.0), Duration: 1}
			if m.Boolean {
				rule = schema.AlertRule{Metric: m.ID, AlertWhen: ptr(false), Duration: 1}
			}
			expr, err := ruleExpr(m.Type, m, rule, args)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(expr, v) {
				t.Errorf("rule %q does not start with the value %q", expr, v)
			}
			if msg := checkBalanced(expr); msg != "" {
				t.Errorf("%s: %s", expr, msg)
			}
			// Allocation rates read configured levels and have no range.
			if strings.Count(expr, "[") != strings.Count(expr, "[4m]") {
				t.Errorf("%s: every range must be the period (4m)", expr)
			}
			if m.Type == schema.AlertTypePod && (!strings.Contains(expr, args.targets) || !strings.Contains(expr, `namespace="ns"`)) {
				t.Errorf("%s: a pod metric must join with the targets and select their namespaces", expr)
			}
		})
	}
	// And nothing beyond the catalog: an unknown metric has no PromQL.
	if _, ok := valueQuery(schema.AlertTypePod, "cpu_utilization", args); ok {
		t.Error("cpu_utilization is a cluster and node metric, not a pod metric")
	}
}

// checkBalanced reports unbalanced brackets or an unterminated string: the errors a
// change to the string building is most likely to make. (The expressions were checked
// with Prometheus' parser when written; the module does not depend on Prometheus.)
func checkBalanced(expr string) string {
	var stack []rune
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	inString := false
	for i, r := range expr {
		switch {
		case inString && r == '\\':
			continue
		case r == '"' && (i == 0 || expr[i-1] != '\\'):
			inString = !inString
		case inString:
		case r == '(' || r == '{' || r == '[':
			stack = append(stack, r)
		case r == ')' || r == '}' || r == ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return "unbalanced " + string(r)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inString {
		return "unterminated string"
	}
	if len(stack) > 0 {
		return "unclosed " + string(stack)
	}
	return ""
}
