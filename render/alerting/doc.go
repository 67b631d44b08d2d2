// Package alerting renders the fleet's alert policies (TKEStack's 告警设置) into the objects
// that a member cluster's monitoring evaluates and routes: prometheus-operator
// PrometheusRules for Prometheus and AlertmanagerConfigs for Alertmanager. Render gives
// the objects of one cluster; RenderWithSecrets also the Secret keys they read.
//
// # What a policy becomes
//
// Every AlertPolicy that runs on the cluster (its spec.cluster, or the cluster of its
// business namespace) gives two objects named gitfleet-alert-<policy> in kube-system, the
// Monitoring addon's namespace, labelled gitfleet.dev/alerting: "true" (Prometheus and
// Alertmanager select them by it) and gitfleet.dev/alert-policy: <policy>:
//
//   - A PrometheusRule with one rule group, gitfleet.<policy>. A pod policy's group starts
//     with a recording rule that records the pods it watches in
//     gitfleet:alert_policy_pods{policy="<policy>"} (see Targets below). Then one alerting
//     rule per rule of the policy: the metric's value (table below) compared with the
//     threshold (value > 80), or for a state metric with the state that fires (value == 0
//     for alertWhen false, the default; value == 1 for alertWhen true); for: duration ×
//     period minutes. The alert is named after what fires it: ClusterCPUUtilizationHigh,
//     NodeMemoryUtilizationLow, PodReadyFalse.
//   - An AlertmanagerConfig whose route matches the policy's alerts (policy="<policy>"),
//     groups by every label ("...", so that each notification carries one alert, which is
//     what a NotifyTemplate describes), and hands every alert to each of its receivers
//     through child routes with continue: true.
//
// # Statistics period
//
// "Every metric is the average over the statistics period": counters become their
// average rate over the period (rate(x[5m])) or, for restarts, their increase during it;
// gauges that measure something are averaged with avg_over_time(x[5m]). Configured levels
// (requests, limits, capacity, allocatable) are read at the evaluation instant, as they do
// not move within a period. A state is 1 (true) or 0 (false) and is averaged too: its
// average is 0 exactly when it was false throughout the period and 1 when it was true
// throughout, so one flap does not fire a state alert. When every instance of a
// control-plane component is gone its `up` series vanish instead of reading 0 (an API
// server that is down cannot list its own endpoints), so the health rules also fire on
// absent_over_time(up{job=...}[period]).
//
// # Alert labels and annotations
//
// Labels: severity (always "warning": TKEStack's policies have no severity), policy,
// policy_type, cluster, metric, and business on business-side policies; plus the labels
// of the series: namespace, pod, node, owner_kind and owner_name on pod alerts, node on
// node alerts, instance and job on control-plane health alerts.
//
// Annotations carry schema.NotifyData, one annotation per field with the field's name
// (PolicyName, PolicyType, Cluster, Business, Namespace, WorkloadKind, Workload, Pod, Node,
// Metric, MetricName, Unit, Operator, Value, Threshold, Duration, Period), filled by
// Prometheus from the rule and the series' labels; a field that does not apply is left out
// and reads as empty. Status (firing or resolved) and StartsAt are the alert's own
// properties in Alertmanager. So whoever sends a notification can fill a NotifyTemplate
// from the alert alone. summary and description are for people reading Prometheus or
// Alertmanager directly.
//
// # Receivers
//
// A policy's receivers are its notification methods (channel, template) crossed with its
// receiver groups, for the channels that reach people; a group without an address on the
// channel (no email, no mobile) is passed over. A webhook reaches an endpoint, not people,
// so each webhook method gives one receiver whatever the groups. Receivers are named
// <group>.<channel>.<template>, or <channel>.<template> for webhooks.
//
//   - Email: Alertmanager sends it. to is the group's receivers' addresses, from and
//     authUsername the channel's sender, smarthost smtpHost:smtpPort, requireTLS the
//     channel's tls, authPassword the channel's password Secret. The template's header
//     becomes the Subject and its body the text (and, in a <pre> block, the HTML part,
//     which Alertmanager always sends). The NotifyTemplate is translated into an
//     Alertmanager template that reads the NotifyData annotations of the notification's
//     alert (.PolicyName becomes (index $gitfleetData "PolicyName"), .Status the alert's
//     status, .StartsAt its start in RFC 3339), so it prints what gitfleet's notifier
//     would.
//   - Webhook: Alertmanager posts its own webhook JSON (version 4) straight to the channel
//     when it can express all of the channel: a literal url or a urlFrom Secret, and at
//     most an Authorization header from a Secret, which becomes httpConfig.authorization
//     with type Bearer, so the Secret holds the token alone, without "Bearer ". The body
//     is Alertmanager's JSON, not the NotifyTemplate: each alert in it carries the
//     NotifyData annotations, and the template is not applied. Any other header (which
//     AlertmanagerConfig webhooks cannot send), or a URL or Authorization from an
//     environment variable or a file, makes the notifier relay the channel instead, as
//     for SMS.
//   - SMS and WeChat official accounts: Alertmanager has no such receivers, so it posts
//     the alert to gitfleet's notifier, NotifierURL + <channel>, with the query
//     template=<NotifyTemplate>&group=<ReceiverGroup>&to=<mobile or OpenID>... (one to per
//     receiver, in the group's order). The notifier reads the channel (its keys by
//     reference) and the template from the repository, fills the template from the
//     alert's annotations and sends the message. Relayed webhooks get only template=.
//     The notifier receives Alertmanager's webhook JSON (version 4), sendResolved true.
//
// # Secrets
//
// Alertmanager reads credentials from Secrets in the AlertmanagerConfig's namespace. A
// fleet file's {secret: {namespace, name, key}} names a Secret of the cluster gitfleet
// runs in; the AlertmanagerConfig refers to a Secret of the same name and key in
// kube-system of the member cluster, and RenderWithSecrets lists these keys, with their
// source, for the reconciler to copy there before applying. Two different sources for
// one name and key are an error. An {env: ...} or {file: ...} reference names a value of
// the gitfleet process, which gitfleet does not copy into member clusters: for an email
// password that Alertmanager must read, Render reports it as an error at the channel's
// file, line and field (webhooks are relayed instead, and the notifier reads SMS and
// WeChat keys itself).
//
// # What the Monitoring addon must provide
//
//   - Prometheus selects PrometheusRules labelled gitfleet.dev/alerting: "true" in
//     kube-system, and scrapes kube-state-metrics keeping its own namespace, pod and node
//     labels (honor_labels), the kubelets' cAdvisor (container, pod and namespace labels:
//     Kubernetes 1.16 and later), node-exporter, and the control plane under the jobs
//     JobAPIServer, JobEtcd, JobScheduler and JobControllerManager.
//   - Alertmanager selects AlertmanagerConfigs labelled gitfleet.dev/alerting: "true" in
//     kube-system with alertmanagerConfigMatcherStrategy type None: by default
//     prometheus-operator adds a namespace="kube-system" matcher to each config's route,
//     which pod alerts (labelled with their pod's namespace) and cluster and node alerts
//     (no namespace label) would never match.
//   - Versions: AlertmanagerConfig v1alpha1 needs prometheus-operator v0.43 or later; route
//     matchers and httpConfig.authorization need Alertmanager 0.22 or later;
//     absent_over_time needs Prometheus 2.16 or later. The resource-labelled
//     kube_pod_container_resource_requests/limits and kube_node_status_capacity/allocatable
//     are in kube-state-metrics 1.9 (beside the deprecated *_cpu_cores names) and 2.x.
//
// # Targets
//
// A pod policy watches all pods (allNamespaces), or a list of workload targets, each the
// pods of one namespace, of every workload of one kind there, or of one workload. Pods are
// mapped to workloads through kube-state-metrics' owner metrics: a Deployment owns
// ReplicaSets (kube_replicaset_owner) which own its pods (kube_pod_owner); StatefulSet,
// DaemonSet and TApp pods are owned by the workload itself. The recorded vector has one
// series per pod, with its node (from kube_pod_info) and, for workload targets, owner_kind
// and owner_name; every rule of the policy joins with it, which keeps only the watched
// pods and labels the alerts. Each metric's selectors are also narrowed to the targets'
// namespaces (namespace="shop-prod", or namespace=~"a|b"); the table leaves that out.
//
// # Choices behind the PromQL
//
//   - Cluster CPU and memory utilisation are the whole machines' (node-exporter: the
//     cluster's idle CPU, MemAvailable over MemTotal); node utilisation is what the pods on
//     the node use over the node's capacity, as the seed defines it.
//   - "Without cache" memory is container_memory_working_set_bytes: usage less the
//     inactive page cache, which the kernel reclaims first. It is what the kubelet evicts
//     on and what kubectl top shows; RSS would also leave out the active cache a process
//     needs. Node memory utilisation uses it too: with the cache, every busy node reads
//     full. MB are 2^20 bytes.
//   - Utilisation of limit is the pod's use over the sum of its containers' limits: a pod
//     that sets no limit has no value and never fires.
//   - Allocation rates count the requests of Pending and Running pods: finished pods keep
//     their request series until they are deleted.
//   - Restarts are the increase of the restart counters during the period; Prometheus
//     extrapolates it, so one restart may read 1.2.
//   - Pod Ready leaves out finished pods (Succeeded, or Failed such as evicted ones),
//     which are never Ready again.
//
// # PromQL of every metric
//
// The tables below are generated from the code; `go test ./render/alerting/ -update`
// rewrites them. The values are for a 5-minute period and, for pod metrics, a policy
// named p; the rule compares the value as described above.
//
//	policy   metric                             unit   value
//	------   ------                             ----   -----
//	cluster  cpu_utilization                    %      100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m])))
//	cluster  memory_utilization                 %      100 * (1 - sum(avg_over_time(node_memory_MemAvailable_bytes[5m])) / sum(node_memory_MemTotal_bytes))
//	cluster  cpu_allocation_rate                %      100 * sum(kube_pod_container_resource_requests{resource="cpu"} and on (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)) / sum(kube_node_status_allocatable{resource="cpu"})
//	cluster  memory_allocation_rate             %      100 * sum(kube_pod_container_resource_requests{resource="memory"} and on (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)) / sum(kube_node_status_allocatable{resource="memory"})
//	cluster  apiserver_healthy                  state  avg_over_time(up{job="apiserver"}[5m])
//	cluster  etcd_healthy                       state  avg_over_time(up{job="etcd"}[5m])
//	cluster  scheduler_healthy                  state  avg_over_time(up{job="kube-scheduler"}[5m])
//	cluster  controller_manager_healthy         state  avg_over_time(up{job="kube-controller-manager"}[5m])
//	node     cpu_utilization                    %      100 * sum by (node) (sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m])) * on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info{node!=""})) / max by (node) (kube_node_status_capacity{resource="cpu"})
//	node     memory_utilization                 %      100 * sum by (node) (sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[5m])) * on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info{node!=""})) / max by (node) (kube_node_status_capacity{resource="memory"})
//	node     pod_restarts                       count  sum by (node) (sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[5m])) * on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info{node!=""}))
//	node     node_ready                         state  max by (node) (avg_over_time(kube_node_status_condition{condition="Ready",status="true"}[5m]))
//	pod      cpu_utilization_node               %      100 * sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m])) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"} / on (node) group_left () max by (node) (kube_node_status_capacity{resource="cpu"})
//	pod      memory_utilization_node            %      100 * sum by (namespace, pod) (avg_over_time(container_memory_usage_bytes{container!="",container!="POD"}[5m])) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"} / on (node) group_left () max by (node) (kube_node_status_capacity{resource="memory"})
//	pod      memory_no_cache_utilization_node   %      100 * sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[5m])) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"} / on (node) group_left () max by (node) (kube_node_status_capacity{resource="memory"})
//	pod      cpu_utilization_limit              %      100 * sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m])) / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="cpu"}) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      memory_utilization_limit           %      100 * sum by (namespace, pod) (avg_over_time(container_memory_usage_bytes{container!="",container!="POD"}[5m])) / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="memory"}) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      memory_no_cache_utilization_limit  %      100 * sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[5m])) / sum by (namespace, pod) (kube_pod_container_resource_limits{resource="memory"}) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      pod_restarts                       count  sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[5m])) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      pod_ready                          state  (max by (namespace, pod) (avg_over_time(kube_pod_status_ready{condition="true"}[5m])) unless on (namespace, pod) (kube_pod_status_phase{phase=~"Succeeded|Failed"} == 1)) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      cpu_usage                          cores  sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m])) * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      memory_usage                       MB     sum by (namespace, pod) (avg_over_time(container_memory_usage_bytes{container!="",container!="POD"}[5m])) / 1048576 * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//	pod      memory_no_cache_usage              MB     sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[5m])) / 1048576 * on (namespace, pod) group_left (node, owner_kind, owner_name) gitfleet:alert_policy_pods{policy="p"}
//
//	target                                        recorded in gitfleet:alert_policy_pods{policy="p"}
//	------                                        --------------------------------------------------
//	allNamespaces: true                           max by (namespace, pod, node) (kube_pod_info)
//	{namespace: ns}                               max by (namespace, pod, node) (kube_pod_info{namespace="ns"})
//	{namespace: ns, kind: Deployment}             max by (namespace, pod, node, owner_kind, owner_name) (label_replace(kube_pod_owner{namespace="ns",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) kube_replicaset_owner{namespace="ns",owner_kind="Deployment"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="ns"})
//	{namespace: ns, kind: Deployment, name: web}  max by (namespace, pod, node, owner_kind, owner_name) (label_replace(kube_pod_owner{namespace="ns",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) group_left (owner_kind, owner_name) kube_replicaset_owner{namespace="ns",owner_kind="Deployment",owner_name="web"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="ns"})
//	{namespace: ns, kind: StatefulSet, name: db}  max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="ns",owner_kind="StatefulSet",owner_name="db"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="ns"})
//	{namespace: ns, kind: DaemonSet}              max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="ns",owner_kind="DaemonSet"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="ns"})
//	{namespace: ns, kind: TApp, name: cart}       max by (namespace, pod, node, owner_kind, owner_name) (kube_pod_owner{namespace="ns",owner_kind="TApp",owner_name="cart"} * on (namespace, pod) group_left (node) kube_pod_info{namespace="ns"})
//	several workloads                             (T1 or T2 ...)
package alerting
