package schema

import "k8s.io/apimachinery/pkg/api/resource"

// AddonType names a component of the addon catalog.
type AddonType string

// The addon types of TKEStack v1.5.0 that gitfleet installs.
const (
	AddonTApp               AddonType = "TApp"
	AddonCronHPA            AddonType = "CronHPA"
	AddonMonitoring         AddonType = "Monitoring"
	AddonLogAgent           AddonType = "LogAgent"
	AddonGPUManager         AddonType = "GPUManager"
	AddonNvidiaDevicePlugin AddonType = "NvidiaDevicePlugin"
	AddonCSIOperator        AddonType = "CSIOperator"
	AddonLBCF               AddonType = "LBCF"
	AddonGalaxy             AddonType = "Galaxy"
	AddonGalaxyIPAM         AddonType = "GalaxyIPAM"
	AddonPersistentEvent    AddonType = "PersistentEvent"
	AddonAudit              AddonType = "Audit"
	AddonMetricsServer      AddonType = "MetricsServer"
)

// DefaultAddonRegistry is where addon images come from unless an Addon says otherwise
// (spec.registry, spec.images): TKEStack's public images.
const DefaultAddonRegistry = "docker.io/tkestack"

// AddonInfo is what gitfleet knows about one addon type: what it puts into a cluster,
// with which images and resources, and where it may run. The values are the seed's
// (TKEStack v1.5.0 documentation and release notes).
type AddonInfo struct {
	Type AddonType
	// Description says in one line what the component does.
	Description string
	// Version is the default spec.version: the tag of the Primary images in v1.5.0.
	Version string
	// Objects are the in-cluster objects the component consists of, as the seed lists
	// them. Workloads (Deployment, DaemonSet) carry their default resources.
	Objects []AddonObject
	// CRDs are the names of the CustomResourceDefinitions the component installs.
	CRDs []string
	// Images are the component's images, pinned as in TKEStack v1.5.0.
	Images []AddonImage
	// MinKubernetes is the lowest Kubernetes minor version the component runs on, as
	// MAJOR.MINOR ("" when the seed states none). The seed writes these as "newer than
	// 1.10" (GPUManager) and "newer than 1.8" (PersistentEvent), read here as 1.11 and
	// 1.9.
	MinKubernetes string
	// GlobalOnly components run only on the Global cluster (see isGlobalCluster).
	GlobalOnly bool
	// Params is the spec field that holds the type's parameters ("" when it has none),
	// and ParamsRequired says whether an Addon must set it.
	Params         string
	ParamsRequired bool
}

// AddonObject is one Kubernetes object an addon consists of.
type AddonObject struct {
	Kind string
	Name string
	// Namespace is empty for cluster-scoped objects.
	Namespace string
	// Resources are a workload's default container resources (used as requests and
	// limits); nil when the seed gives none.
	Resources ResourceList
}

// IsWorkload reports whether the object runs pods, so that its resources can be set.
func (o AddonObject) IsWorkload() bool {
	return o.Kind == "Deployment" || o.Kind == "DaemonSet" || o.Kind == "StatefulSet"
}

// AddonImage is one image of an addon.
type AddonImage struct {
	// Name is the image's repository name under the registry, and the key of
	// spec.images.
	Name string
	Tag  string
	// Primary images follow spec.version.
	Primary bool
	// PerArch images are published as NAME-amd64 and NAME-arm64.
	PerArch bool
}

// AddonCatalog is the table of addon types. It is read-only: nothing may change it.
var AddonCatalog = map[AddonType]AddonInfo{
	AddonTApp: {
		Type:        AddonTApp,
		Description: "TApp workloads (apps.tkestack.io/v1): fixed instance IDs, several versions, in-place update",
		Version:     "v1.1.1",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "tapp-controller", Namespace: "kube-system", Resources: resources("1", "512Mi")},
			{Kind: "ServiceAccount", Name: "tapp-controller", Namespace: "kube-system"},
			{Kind: "Service", Name: "tapp-controller", Namespace: "kube-system"},
			{Kind: "ClusterRoleBinding", Name: "tapp-controller"}, // to ClusterRole cluster-admin
		},
		CRDs:   []string{"tapps.apps.tkestack.io"},
		Images: []AddonImage{{Name: "tapp-controller", Tag: "v1.1.1", Primary: true}},
	},
	AddonCronHPA: {
		Type:        AddonCronHPA,
		Description: "CronHPA (extensions.tkestack.io/v1): scale workloads on crontab schedules",
		Version:     "v1.0.0",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "cron-hpa-controller", Namespace: "kube-system", Resources: resources("1", "512Mi")},
			{Kind: "ServiceAccount", Name: "cron-hpa-controller", Namespace: "kube-system"},
			{Kind: "ClusterRoleBinding", Name: "cron-hpa-controller"}, // to ClusterRole cluster-admin
		},
		CRDs:   []string{"cronhpas.extensions.tkestack.io"},
		Images: []AddonImage{{Name: "cron-hpa-controller", Tag: "v1.0.0", Primary: true}},
	},
	AddonMonitoring: {
		Type:        AddonMonitoring,
		Description: "Prometheus monitoring and alerting, with kube-state-metrics; data in InfluxDB or Elasticsearch; optional Thanos",
		Version:     "v2.16.0",
		// The seed names only kube-state-metrics among the objects (its Service is
		// annotated prometheus.io/scrape: 'true'); the namespace is TKEStack's usual one.
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "kube-state-metrics", Namespace: "kube-system"},
			{Kind: "Service", Name: "kube-state-metrics", Namespace: "kube-system"},
		},
		Images: []AddonImage{
			{Name: "prometheus", Tag: "v2.16.0", Primary: true},
			{Name: "prometheus-operator", Tag: "v0.31.1"},
			{Name: "prometheus-config-reloader", Tag: "v0.31.1"},
			{Name: "alertmanager", Tag: "v0.18.0"},
			{Name: "node-exporter", Tag: "v0.18.1"},
			{Name: "kube-state-metrics", Tag: "v1.9.5"},
			{Name: "k8s-prometheus-adapter", Tag: "4c67353"},
			{Name: "prometheusbeat", Tag: "6.4.1"},
			{Name: "configmap-reload", Tag: "v0.1"},
			{Name: "influxdb", Tag: "1.7.9", PerArch: true},
		},
		Params: "monitoring",
	},
	AddonLogAgent: {
		Type:        AddonLogAgent,
		Description: "log collection agent (replaces LogCollector): container stdout, container files and node files to Kafka or Elasticsearch, by LogRule",
		Version:     "v1.1.0",
		Objects: []AddonObject{
			{Kind: "DaemonSet", Name: "logagent", Namespace: "kube-system", Resources: resources("300m", "250Mi")},
			{Kind: "ServiceAccount", Name: "logagent", Namespace: "kube-system"},
		},
		Images: []AddonImage{
			{Name: "log-agent", Tag: "v1.1.0", Primary: true},
			// log-file serves the workloads' log directories (/data/logdir) for viewing
			// and download; it is released with log-agent.
			{Name: "log-file", Tag: "v1.1.0", Primary: true},
		},
	},
	AddonGPUManager: {
		Type:        AddonGPUManager,
		Description: "GPU-Manager for vGPU clusters: shared and topology-aware GPUs as tencent.com/vcuda-core and tencent.com/vcuda-memory",
		Version:     "v1.0.4",
		Objects: []AddonObject{
			{Kind: "DaemonSet", Name: "gpu-manager-daemonset", Namespace: "kube-system", Resources: resources("1", "1Gi")},
			{Kind: "Deployment", Name: "gpu-quota-admission", Namespace: "kube-system", Resources: resources("1", "1Gi")},
			{Kind: "Service", Name: "gpu-manager-metric", Namespace: "kube-system"}, // port 5678
		},
		Images: []AddonImage{
			{Name: "gpu-manager", Tag: "v1.0.4", Primary: true},
			{Name: "gpu-quota-admission", Tag: "v1.0.0"},
		},
		MinKubernetes: "1.11",
		Params:        "gpuManager",
	},
	AddonNvidiaDevicePlugin: {
		Type:        AddonNvidiaDevicePlugin,
		Description: "NVIDIA device plugin for pGPU clusters: whole GPUs as nvidia.com/gpu",
		Version:     "1.0.0-beta4",
		Objects: []AddonObject{
			{Kind: "DaemonSet", Name: "nvidia-device-plugin-daemonset", Namespace: "kube-system", Resources: resources("1", "1Gi")},
		},
		Images: []AddonImage{{Name: "nvidia-device-plugin", Tag: "1.0.0-beta4", Primary: true}},
	},
	AddonCSIOperator: {
		Type:        AddonCSIOperator,
		Description: "CSI operator (storage.tkestack.io/v1 CSI): deploys RBD, CephFS, TencentCBS and TencentCFS drivers",
		Version:     "v1.0.2",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "csi-operator", Namespace: "kube-system", Resources: resources("200m", "256Mi")},
		},
		// The seed shows the kind (CSI in storage.tkestack.io/v1), not the CRD's name;
		// this is its plural.
		CRDs:   []string{"csis.storage.tkestack.io"},
		Images: []AddonImage{{Name: "csi-operator", Tag: "v1.0.2", Primary: true}},
		Params: "csiOperator",
	},
	AddonLBCF: {
		Type:        AddonLBCF,
		Description: "Load Balancer Controlling Framework (lbcf.tkestack.io/v1beta1): load balancers driven by webhook drivers",
		Version:     "v1.0.0.rc.2",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "lbcf-controller", Namespace: "kube-system"},
			{Kind: "ServiceAccount", Name: "lbcf-controller", Namespace: "kube-system"},
			{Kind: "Secret", Name: "lbcf-controller", Namespace: "kube-system"},
			{Kind: "Service", Name: "lbcf-controller", Namespace: "kube-system"},
			{Kind: "ClusterRole", Name: "lbcf-controller"},
			{Kind: "ClusterRoleBinding", Name: "lbcf-controller"},
			{Kind: "MutatingWebhookConfiguration", Name: "lbcf-mutate"},
			{Kind: "ValidatingWebhookConfiguration", Name: "lbcf-validate"},
		},
		CRDs: []string{
			"backendrecords.lbcf.tkestack.io",
			"backendgroups.lbcf.tkestack.io",
			"loadbalancers.lbcf.tkestack.io",
			"loadbalancerdrivers.lbcf.tkestack.io",
		},
		Images: []AddonImage{{Name: "lbcf-controller", Tag: "v1.0.0.rc.2", Primary: true}},
		Params: "lbcf",
	},
	AddonGalaxy: {
		Type:        AddonGalaxy,
		Description: "Galaxy container networking: overlay (flannel), floating IP, NAT and host modes",
		Version:     "v1.0.6",
		// The seed says "a DaemonSet on every node" without its name.
		Objects: []AddonObject{
			{Kind: "DaemonSet", Name: "galaxy-daemonset", Namespace: "kube-system"},
		},
		Images: []AddonImage{
			{Name: "galaxy", Tag: "v1.0.6", Primary: true, PerArch: true},
			{Name: "flannel", Tag: "v0.10.0", PerArch: true},
		},
		Params: "galaxy",
	},
	AddonGalaxyIPAM: {
		Type:        AddonGalaxyIPAM,
		Description: "Galaxy-IPAM (TKEStack's IPAM addon): a kube-scheduler extender that allocates floating IPs",
		Version:     "v1.0.6",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "galaxy-ipam", Namespace: "kube-system"},
			{Kind: "ConfigMap", Name: "floatingip-config", Namespace: "kube-system"},
		},
		CRDs:           []string{"floatingips.galaxy.k8s.io"},
		Images:         []AddonImage{{Name: "galaxy-ipam", Tag: "v1.0.6", Primary: true, PerArch: true}},
		Params:         "galaxyIPAM",
		ParamsRequired: true,
	},
	AddonPersistentEvent: {
		Type:        AddonPersistentEvent,
		Description: "PersistentEvent: exports the cluster's events (kept 1 hour in etcd) to an Elasticsearch index",
		Version:     "v0.1",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "tke-persistent-event", Namespace: "kube-system", Resources: resources("200m", "100Mi")},
		},
		Images: []AddonImage{
			{Name: "tke-event-watcher", Tag: "v0.1", Primary: true},
			// Ships the watched events to Elasticsearch.
			{Name: "log-collector", Tag: "v1.1.0"},
		},
		MinKubernetes:  "1.9",
		Params:         "persistentEvent",
		ParamsRequired: true,
	},
	AddonAudit: {
		Type:        AddonAudit,
		Description: "Kubernetes audit records of the Global cluster, stored in Elasticsearch",
		Version:     "v1.5.0",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "tke-audit-api", Namespace: "tke"},
			{Kind: "ConfigMap", Name: "tke-audit-api", Namespace: "tke"},
		},
		Images:         []AddonImage{{Name: "tke-audit-api", Tag: "v1.5.0", Primary: true, PerArch: true}},
		GlobalOnly:     true,
		Params:         "audit",
		ParamsRequired: true,
	},
	AddonMetricsServer: {
		Type:        AddonMetricsServer,
		Description: "metrics-server: CPU and memory metrics for HPA (installed by default on TKEStack's Global and standalone clusters)",
		Version:     "v0.3.6",
		Objects: []AddonObject{
			{Kind: "Deployment", Name: "metrics-server", Namespace: "kube-system"},
			{Kind: "APIService", Name: "v1beta1.metrics.k8s.io"},
		},
		Images: []AddonImage{{Name: "metrics-server", Tag: "v0.3.6", Primary: true, PerArch: true}},
	},
}

// addonTypes lists the catalog in the order people read it.
var addonTypes = []AddonType{
	AddonTApp, AddonCronHPA, AddonMonitoring, AddonLogAgent, AddonGPUManager, AddonNvidiaDevicePlugin,
	AddonCSIOperator, AddonLBCF, AddonGalaxy, AddonGalaxyIPAM, AddonPersistentEvent, AddonAudit, AddonMetricsServer,
}

// AddonTypes returns every addon type of the catalog.
func AddonTypes() []AddonType { return append([]AddonType(nil), addonTypes...) }

// Workloads returns the addon's objects that run pods.
func (i AddonInfo) Workloads() []AddonObject {
	var out []AddonObject
	for _, o := range i.Objects {
		if o.IsWorkload() {
			out = append(out, o)
		}
	}
	return out
}

// CBSDiskType is a Tencent Cloud block storage disk type (a StorageClass's diskType).
type CBSDiskType string

const (
	CBSCloudBasic   CBSDiskType = "CLOUD_BASIC"
	CBSCloudPremium CBSDiskType = "CLOUD_PREMIUM"
	CBSCloudSSD     CBSDiskType = "CLOUD_SSD"
)

// DefaultCBSStorageClass is the StorageClass the CSI operator creates for TencentCBS.
const DefaultCBSStorageClass = "cbs-basic-prepaid"

// SizeRangeGB returns the smallest and largest disk of the type, in GB, for checking
// volume claims: CLOUD_BASIC 100-16000, CLOUD_PREMIUM 50-16000, CLOUD_SSD 100-16000. It
// returns 0, 0 for an unknown type.
func (t CBSDiskType) SizeRangeGB() (lo, hi int) {
	switch t {
	case CBSCloudBasic, CBSCloudSSD:
		return 100, 16000
	case CBSCloudPremium:
		return 50, 16000
	}
	return 0, 0
}

// resources builds a workload's default cpu and memory. The seed writes memory as "MB";
// it is read as MiB, as Kubernetes manifests write it.
func resources(cpu, memory string) ResourceList {
	return ResourceList{"cpu": resource.MustParse(cpu), "memory": resource.MustParse(memory)}
}
