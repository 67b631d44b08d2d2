package schema

// AlertMetric is one metric an alert rule can watch: TKEStack's alert metrics (seed FAQ
// §8.2.1, "告警"), each with a stable identifier that fleet files use and the renderer
// turns into a PromQL expression. Every metric is the average over the policy's period.
type AlertMetric struct {
	// ID is the identifier rules use ("cpu_utilization"); unique within a policy type.
	ID string
	// Type is the policy type whose rules may use the metric.
	Type AlertPolicyType
	// Unit is the unit of the metric's value and of thresholds.
	Unit AlertUnit
	// Boolean marks a state metric: its value is true or false, and rules compare it
	// with AlertRule.AlertWhen instead of a threshold.
	Boolean bool
	// StandaloneOnly marks metrics TKEStack reports only for standalone (Baremetal)
	// clusters: the health of the control-plane components, which an imported cluster's
	// platform does not run.
	StandaloneOnly bool
	// Title is the metric's name in the seed, in English and as the console shows it.
	Title, TitleZH string
	// Meaning is what is measured, from the seed.
	Meaning string
}

// AlertUnit is the unit of an alert metric.
type AlertUnit string

const (
	// AlertUnitPercent values are 0-100.
	AlertUnitPercent AlertUnit = "%"
	// AlertUnitMB is megabytes (the seed's "MB").
	AlertUnitMB AlertUnit = "MB"
	// AlertUnitCores is CPU cores. The seed leaves the unit of Pod CPU usage empty; its
	// monitoring pages show CPU usage in cores.
	AlertUnitCores AlertUnit = "cores"
	// AlertUnitCount is a plain count (restarts); the seed's unit cell is empty.
	AlertUnitCount AlertUnit = "count"
	// AlertUnitState is the unit of state metrics (the seed's "-"): true or false.
	AlertUnitState AlertUnit = ""
)

// alertMetrics is the catalog, in the seed's order. It is read-only; AlertMetrics hands
// out copies.
var alertMetrics = []AlertMetric{
	{ID: "cpu_utilization", Type: AlertTypeCluster, Unit: AlertUnitPercent, Title: "CPU utilisation", TitleZH: "CPU 利用率", Meaning: "CPU utilisation of the whole cluster"},
	{ID: "memory_utilization", Type: AlertTypeCluster, Unit: AlertUnitPercent, Title: "Memory utilisation", TitleZH: "内存利用率", Meaning: "memory utilisation of the whole cluster"},
	{ID: "cpu_allocation_rate", Type: AlertTypeCluster, Unit: AlertUnitPercent, Title: "CPU allocation rate", TitleZH: "CPU 分配率", Meaning: "sum of the CPU requests of all containers / allocatable CPU of the cluster"},
	{ID: "memory_allocation_rate", Type: AlertTypeCluster, Unit: AlertUnitPercent, Title: "Memory allocation rate", TitleZH: "内存分配率", Meaning: "sum of the memory requests of all containers / allocatable memory of the cluster"},
	{ID: "apiserver_healthy", Type: AlertTypeCluster, Unit: AlertUnitState, Boolean: true, StandaloneOnly: true, Title: "Apiserver healthy", TitleZH: "Apiserver 正常", Meaning: "state of the kube-apiservers"},
	{ID: "etcd_healthy", Type: AlertTypeCluster, Unit: AlertUnitState, Boolean: true, StandaloneOnly: true, Title: "ETCD healthy", TitleZH: "ETCD 正常", Meaning: "state of etcd"},
	{ID: "scheduler_healthy", Type: AlertTypeCluster, Unit: AlertUnitState, Boolean: true, StandaloneOnly: true, Title: "Scheduler healthy", TitleZH: "Scheduler 正常", Meaning: "state of kube-scheduler"},
	{ID: "controller_manager_healthy", Type: AlertTypeCluster, Unit: AlertUnitState, Boolean: true, StandaloneOnly: true, Title: "Controller Manager healthy", TitleZH: "Controll Manager 正常", Meaning: "state of kube-controller-manager"},

	{ID: "cpu_utilization", Type: AlertTypeNode, Unit: AlertUnitPercent, Title: "CPU utilisation", TitleZH: "CPU 利用率", Meaning: "CPU used by all pods on the node / CPU of the node"},
	{ID: "memory_utilization", Type: AlertTypeNode, Unit: AlertUnitPercent, Title: "Memory utilisation", TitleZH: "内存利用率", Meaning: "memory used by all pods on the node / memory of the node"},
	{ID: "pod_restarts", Type: AlertTypeNode, Unit: AlertUnitCount, Title: "Pod restarts on node", TitleZH: "节点上 Pod 重启次数", Meaning: "sum of the restarts of all pods on the node"},
	{ID: "node_ready", Type: AlertTypeNode, Unit: AlertUnitState, Boolean: true, Title: "Node Ready", TitleZH: "Node Ready", Meaning: "the node's Ready condition"},

	{ID: "cpu_utilization_node", Type: AlertTypePod, Unit: AlertUnitPercent, Title: "CPU utilisation (of node)", TitleZH: "CPU 利用率(占节点)", Meaning: "CPU used by the pod / CPU of its node"},
	{ID: "memory_utilization_node", Type: AlertTypePod, Unit: AlertUnitPercent, Title: "Memory utilisation (of node)", TitleZH: "内存利用率(占节点)", Meaning: "memory used by the pod / memory of its node"},
	{ID: "memory_no_cache_utilization_node", Type: AlertTypePod, Unit: AlertUnitPercent, Title: "Real memory utilisation (of node, excluding cache)", TitleZH: "实际内存利用率(占节点,不包含 Cache)", Meaning: "real memory of all the pod's containers, without cache / memory of its node"},
	{ID: "cpu_utilization_limit", Type: AlertTypePod, Unit: AlertUnitPercent, Title: "CPU utilisation (of limit)", TitleZH: "CPU 利用率(占 Limit)", Meaning: "CPU used by the pod / its CPU limit"},
	{ID: "memory_utilization_limit", Type: AlertTypePod, Unit: AlertUnitPercent, Title: "Memory utilisation (of limit)", TitleZH: "内存利用率(占 Limit)", Meaning: "memory used by the pod / its memory limit"},
	{ID: "memory_no_cache_utilization_limit", Type: AlertTypePod, Unit: AlertUnitPercent, Title: "Real memory utilisation (of limit, excluding cache)", TitleZH: "实际内存利用率(占 Limit,不包含 Cache)", Meaning: "real memory of all the pod's containers, without cache / its memory limit"},
	{ID: "pod_restarts", Type: AlertTypePod, Unit: AlertUnitCount, Title: "Pod restarts", TitleZH: "Pod 重启次数", Meaning: "restarts of the pod"},
	{ID: "pod_ready", Type: AlertTypePod, Unit: AlertUnitState, Boolean: true, Title: "Pod Ready", TitleZH: "Pod Ready", Meaning: "the pod's Ready condition"},
	{ID: "cpu_usage", Type: AlertTypePod, Unit: AlertUnitCores, Title: "CPU usage", TitleZH: "CPU 使用量", Meaning: "CPU used by the pod"},
	{ID: "memory_usage", Type: AlertTypePod, Unit: AlertUnitMB, Title: "Memory usage", TitleZH: "内存使用量", Meaning: "memory used by the pod, cache included"},
	{ID: "memory_no_cache_usage", Type: AlertTypePod, Unit: AlertUnitMB, Title: "Real memory usage", TitleZH: "实际内存使用量", Meaning: "real memory of all the pod's containers, without cache"},
}

// alertPolicyTypes are the policy types in the order the seed lists metrics.
var alertPolicyTypes = []AlertPolicyType{AlertTypeCluster, AlertTypeNode, AlertTypePod}

// AlertMetrics returns the whole catalog, in the seed's order.
func AlertMetrics() []AlertMetric {
	return append([]AlertMetric(nil), alertMetrics...)
}

// AlertMetricsFor returns the metrics that rules of a policy type may use.
func AlertMetricsFor(t AlertPolicyType) []AlertMetric {
	var out []AlertMetric
	for _, m := range alertMetrics {
		if m.Type == t {
			out = append(out, m)
		}
	}
	return out
}

// LookupAlertMetric finds a metric of a policy type by identifier.
func LookupAlertMetric(t AlertPolicyType, id string) (AlertMetric, bool) {
	for _, m := range alertMetrics {
		if m.Type == t && m.ID == id {
			return m, true
		}
	}
	return AlertMetric{}, false
}

func alertMetricIDs(t AlertPolicyType) []string {
	var ids []string
	for _, m := range AlertMetricsFor(t) {
		ids = append(ids, m.ID)
	}
	return ids
}
