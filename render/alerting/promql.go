package alerting

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gitfleet.dev/gitfleet/schema"
)

// Scrape jobs of the control-plane components, whose `up` series say whether each
// instance answers. The Monitoring addon's Prometheus must scrape the components under
// these job names (they are kube-prometheus's).
const (
	JobAPIServer         = "apiserver"
	JobEtcd              = "etcd"
	JobScheduler         = "kube-scheduler"
	JobControllerManager = "kube-controller-manager"
)

// containers selects the series of a pod's containers in cAdvisor's output: the pod's own
// cgroup (container="") would count every container twice, and "POD" is the pause
// container of Docker-based nodes.
const containers = `container!="",container!="POD"`

// bytesPerMB turns bytes into the catalog's MB (2^20 bytes, as the TKEStack console counts).
const bytesPerMB = "1048576"

// queryArgs is what a metric's PromQL depends on besides the metric itself.
type queryArgs struct {
	// window is the statistics period as a PromQL range, "5m".
	window string
	// namespaces restricts pod metrics' selectors to the targets' namespaces, for cost:
	// `namespace="shop-prod"` or `namespace=~"a|b"`; nil for every namespace.
	namespaces []string
	// targets is the vector of the pods a pod policy watches (see targetVector): one
	// series of value 1 per pod, labelled namespace, pod, node and, for workload targets,
	// owner_kind and owner_name.
	targets string
}

// valueQuery returns the PromQL whose value a rule compares with its threshold (or, for a
// state metric, with 0 and 1), and whether the metric has one. Every metric of the catalog
// (schema.AlertMetrics) must have one: TestEveryCatalogMetricHasPromQL fails otherwise.
//
// Counters are turned into the average rate (or the increase) over the period; gauges
// that measure something are averaged over it with avg_over_time. Configured levels
// (requests, limits, capacity, allocatable) are read at the evaluation instant: they do
// not move within a period. State metrics are averaged too: the average of a 0/1 state is
// 0 exactly when the state was false throughout the period, 1 when true throughout.
func valueQuery(typ schema.AlertPolicyType, metric string, a queryArgs) (string, bool) {
	w := a.window
	switch typ {
	case schema.AlertTypeCluster:
		switch metric {
		case "cpu_utilization":
			return fmt.Sprintf(`100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[%s])))`, w), true
		case "memory_utilization":
			return fmt.Sprintf(`100 * (1 - sum(avg_over_time(node_memory_MemAvailable_bytes[%s])) / sum(node_memory_MemTotal_bytes))`, w), true
		case "cpu_allocation_rate":
			return allocationRate("cpu"), true
		case "memory_allocation_rate":
			return allocationRate("memory"), true
		case "apiserver_healthy", "etcd_healthy", "scheduler_healthy", "controller_manager_healthy":
			return componentUp(metric, w), true
		}
	case schema.AlertTypeNode:
		switch metric {
		case "cpu_utilization":
			return "100 * " + podsOnNode(podCPU(w, nil)) + " / " + nodeCapacity("cpu"), true
		case "memory_utilization":
			return "100 * " + podsOnNode(podGauge("container_memory_working_set_bytes", w, nil)) + " / " + nodeCapacity("memory"), true
		case "pod_restarts":
			return podsOnNode(podRestarts(w, nil)), true
		case "node_ready":
			return fmt.Sprintf(`max by (node) (avg_over_time(kube_node_status_condition{condition="Ready",status="true"}[%s]))`, w), true
		}
	case schema.AlertTypePod:
		ns, t := a.namespaces, a.targets
		usage := podGauge("container_memory_usage_bytes", w, ns)
		noCache := podGauge("container_memory_working_set_bytes", w, ns)
		switch metric {
		case "cpu_utilization_node":
			return ofNode("100 * "+podCPU(w, ns), t, "cpu"), true
		case "memory_utilization_node":
			return ofNode("100 * "+usage, t, "memory"), true
		case "memory_no_cache_utilization_node":
			return ofNode("100 * "+noCache, t, "memory"), true
		case "cpu_utilization_limit":
			return onTargets("100 * "+podCPU(w, ns)+" / "+podLimit("cpu", ns), t), true
		case "memory_utilization_limit":
			return onTargets("100 * "+usage+" / "+podLimit("memory", ns), t), true
		case "memory_no_cache_utilization_limit":
			return onTargets("100 * "+noCache+" / "+podLimit("memory", ns), t), true
		case "pod_restarts":
			return onTargets(podRestarts(w, ns), t), true
		case "pod_ready":
			// Pods that have finished (Succeeded, or Failed such as evicted pods) are never
			// Ready again and would alert until someone deletes them.
			ready := fmt.Sprintf(`(max by (namespace, pod) (avg_over_time(%s[%s])) unless on (namespace, pod) (%s == 1))`,
				selector("kube_pod_status_ready", append([]string{`condition="true"`}, ns...)...), w,
				selector("kube_pod_status_phase", append([]string{`phase=~"Succeeded|Failed"`}, ns...)...))
			return onTargets(ready, t), true
		case "cpu_usage":
			return onTargets(podCPU(w, ns), t), true
		case "memory_usage":
			return onTargets(usage+" / "+bytesPerMB, t), true
		case "memory_no_cache_usage":
			return onTargets(noCache+" / "+bytesPerMB, t), true
		}
	}
	return "", false
}

// ruleExpr is the alerting expression of one rule: the metric's value compared with the
// threshold, or with the state that fires.
func ruleExpr(typ schema.AlertPolicyType, m schema.AlertMetric, rule schema.AlertRule, a queryArgs) (string, error) {
	v, ok := valueQuery(typ, m.ID, a)
	if !ok {
		return "", fmt.Errorf("no PromQL for %s metric %s", typ, m.ID)
	}
	if !m.Boolean {
		if rule.Threshold == nil || (rule.Operator != schema.AlertGreater && rule.Operator != schema.AlertLess) {
			return "", fmt.Errorf("%s needs an operator (> or <) and a threshold", m.ID)
		}
		return fmt.Sprintf("%s %s %s", v, rule.Operator, formatNumber(*rule.Threshold)), nil
	}
	if alertWhen(rule) {
		return v + " == 1", nil
	}
	expr := v + " == 0"
	if job := componentJob(m.ID); job != "" {
		// When every instance is gone, Prometheus loses their `up` series instead of
		// reporting 0 (an API server that is down cannot list its own endpoints).
		expr += fmt.Sprintf(` or absent_over_time(up{job=%q}[%s])`, job, a.window)
	}
	return expr, nil
}

// alertWhen is the state that fires a state rule: false unless the rule says otherwise
// (schema fills in the default; a rule built by hand may leave it nil).
func alertWhen(rule schema.AlertRule) bool { return rule.AlertWhen != nil && *rule.AlertWhen }

// componentJob is the scrape job of a control-plane health metric, or "".
func componentJob(metric string) string {
	switch metric {
	case "apiserver_healthy":
		return JobAPIServer
	case "etcd_healthy":
		return JobEtcd
	case "scheduler_healthy":
		return JobScheduler
	case "controller_manager_healthy":
		return JobControllerManager
	}
	return ""
}

// componentUp is the share of the period each instance of a control-plane component
// answered its scrape: one series per instance, so that an alert names the master.
func componentUp(metric, w string) string {
	return fmt.Sprintf(`avg_over_time(up{job=%q}[%s])`, componentJob(metric), w)
}

// allocationRate is the requests of the pods that hold resources (Pending and Running:
// finished pods keep their request series until deleted) over what the nodes offer.
func allocationRate(resource string) string {
	return fmt.Sprintf(`100 * sum(kube_pod_container_resource_requests{resource=%q} and on (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)) / sum(kube_node_status_allocatable{resource=%q})`, resource, resource)
}

// podCPU is each pod's CPU use in cores, averaged over the period.
func podCPU(w string, ns []string) string {
	return fmt.Sprintf("sum by (namespace, pod) (rate(%s[%s]))", selector("container_cpu_usage_seconds_total", append([]string{containers}, ns...)...), w)
}

// podGauge is a cAdvisor gauge summed over each pod's containers, averaged over the period.
func podGauge(metric, w string, ns []string) string {
	return fmt.Sprintf("sum by (namespace, pod) (avg_over_time(%s[%s]))", selector(metric, append([]string{containers}, ns...)...), w)
}

// podRestarts is how often each pod's containers restarted during the period.
func podRestarts(w string, ns []string) string {
	return fmt.Sprintf("sum by (namespace, pod) (increase(%s[%s]))", selector("kube_pod_container_status_restarts_total", ns...), w)
}

// podLimit is the sum of the limits the pod's containers set. A pod without any limit has
// no series, so it has no "utilisation of limit".
func podLimit(resource string, ns []string) string {
	return fmt.Sprintf("sum by (namespace, pod) (%s)", selector("kube_pod_container_resource_limits", append([]string{fmt.Sprintf("resource=%q", resource)}, ns...)...))
}

// podsOnNode sums a per-pod value over the pods of each node.
func podsOnNode(v string) string {
	return fmt.Sprintf(`sum by (node) (%s * on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info{node!=""}))`, v)
}

// nodeCapacity is each node's capacity of a resource.
func nodeCapacity(resource string) string {
	return fmt.Sprintf("max by (node) (kube_node_status_capacity{resource=%q})", resource)
}

// onTargets keeps the pods a policy watches and labels them with their node and workload.
func onTargets(v, targets string) string {
	return v + " * on (namespace, pod) group_left (node, owner_kind, owner_name) " + targets
}

// ofNode is a per-pod value over the capacity of the pod's node: the node comes from the
// target join, so it is divided after it.
func ofNode(v, targets, resource string) string {
	return onTargets(v, targets) + " / on (node) group_left () " + nodeCapacity(resource)
}

// targetVector is the PromQL vector of the pods a pod policy watches, and the namespace
// matchers that narrow the metrics' selectors to the targets' namespaces. Pods are mapped
// to their workloads through kube-state-metrics' owner metrics: a Deployment's pods are
// owned by its ReplicaSets (kube_pod_owner, then kube_replicaset_owner); StatefulSet,
// DaemonSet and TApp pods are owned by the workload itself.
func targetVector(t schema.AlertTargets) (string, []string) {
	if t.AllNamespaces || len(t.Workloads) == 0 {
		return "max by (namespace, pod, node) (kube_pod_info)", nil
	}
	var parts, names []string
	for _, w := range t.Workloads {
		parts = append(parts, workloadPods(w))
		if !slices.Contains(names, w.Namespace) {
			names = append(names, w.Namespace)
		}
	}
	slices.Sort(names)
	ns := []string{fmt.Sprintf("namespace=%q", names[0])}
	if len(names) > 1 {
		ns = []string{fmt.Sprintf("namespace=~%q", strings.Join(names, "|"))}
	}
	if len(parts) == 1 {
		return parts[0], ns
	}
	return "(" + strings.Join(parts, " or ") + ")", ns
}

// workloadPods is the vector of the pods of one target. Targets never overlap (schema
// rejects a target covered by another), so the union has one series per pod, which the
// group_left joins need.
func workloadPods(w schema.WorkloadTarget) string {
	inNS := fmt.Sprintf("namespace=%q", w.Namespace)
	podInfo := selector("kube_pod_info", inNS)
	if w.Kind == "" {
		return fmt.Sprintf("max by (namespace, pod, node) (%s)", podInfo)
	}
	owner := []string{inNS, fmt.Sprintf("owner_kind=%q", string(w.Kind))}
	if w.Name != "" {
		owner = append(owner, fmt.Sprintf("owner_name=%q", w.Name))
	}
	if w.Kind == schema.AlertWorkloadDeployment {
		return fmt.Sprintf(`max by (namespace, pod, node, owner_kind, owner_name) (label_replace(%s, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) %s * on (namespace, pod) group_left (node) %s)`,
			selector("kube_pod_owner", inNS, `owner_kind="ReplicaSet"`), selector("kube_replicaset_owner", owner...), podInfo)
	}
	return fmt.Sprintf("max by (namespace, pod, node, owner_kind, owner_name) (%s * on (namespace, pod) group_left (node) %s)",
		selector("kube_pod_owner", owner...), podInfo)
}

// selector writes a series selector: name{m1,m2}.
func selector(name string, matchers ...string) string {
	if len(matchers) == 0 {
		return name
	}
	return name + "{" + strings.Join(matchers, ",") + "}"
}

// formatNumber writes a threshold the way people write it: 80, 1.5.
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
