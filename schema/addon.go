package schema

import "slices"

// Addon is one installation of a cluster extension component (TKEStack's 扩展组件) on the
// clusters it targets: a type from the catalog (AddonCatalog), the clusters, and the
// parameters of that type.
//
//	apiVersion: gitfleet.dev/v1alpha1
//	kind: Addon
//	metadata: {name: gpu-manager}
//	spec:
//	  type: GPUManager
//	  clusters: [gz-gpu]
//	  selector: {matchLabels: {gpu: "true"}}
//	  gpuManager: {metricsPort: 5678}
//
// Each type's parameters have their own block (spec.gpuManager, spec.galaxyIPAM, ...);
// only the block of the addon's own type may be set. Types without parameters (TApp,
// CronHPA, LogAgent, NvidiaDevicePlugin, MetricsServer) have no block.
type Addon struct {
	Object `yaml:",inline" json:",inline"`
	Spec   AddonSpec `yaml:"spec" json:"spec"`
}

// AddonSpec is the specification of an Addon.
type AddonSpec struct {
	// Type is the catalog name of the component (TApp, CronHPA, Monitoring, LogAgent,
	// GPUManager, NvidiaDevicePlugin, CSIOperator, LBCF, Galaxy, GalaxyIPAM,
	// PersistentEvent, Audit, MetricsServer).
	Type AddonType `yaml:"type" json:"type"`
	// Clusters names the clusters the addon is installed on.
	Clusters []string `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	// Selector selects clusters by label, as an App's spec.targets.selector does; a cluster
	// named in Clusters or matched by Selector is a target.
	Selector *LabelSelector `yaml:"selector,omitempty" json:"selector,omitempty"`
	// Version is the version of the addon's main images (those marked Primary in the
	// catalog). Defaults to the version TKEStack v1.5.0 pins.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Registry replaces the default registry (DefaultAddonRegistry) for every image of the
	// addon, for example registry.example.com/library for a private mirror.
	Registry string `yaml:"registry,omitempty" json:"registry,omitempty"`
	// Images overrides the registry or tag of single images, keyed by the catalog's image
	// names (gpu-manager, gpu-quota-admission, ...).
	Images map[string]AddonImageOverride `yaml:"images,omitempty" json:"images,omitempty"`
	// Resources replaces the catalog's default resources of a workload, keyed by the
	// workload's name (tapp-controller, gpu-manager-daemonset, ...). An entry is used as
	// written; it is not merged with the default. Workloads without an entry get the
	// catalog's values as both requests and limits.
	Resources map[string]AddonResources `yaml:"resources,omitempty" json:"resources,omitempty"`

	// One block per type with parameters; only the block of spec.type may be set.
	Monitoring      *MonitoringParams      `yaml:"monitoring,omitempty" json:"monitoring,omitempty"`
	GPUManager      *GPUManagerParams      `yaml:"gpuManager,omitempty" json:"gpuManager,omitempty"`
	CSIOperator     *CSIOperatorParams     `yaml:"csiOperator,omitempty" json:"csiOperator,omitempty"`
	LBCF            *LBCFParams            `yaml:"lbcf,omitempty" json:"lbcf,omitempty"`
	Galaxy          *GalaxyParams          `yaml:"galaxy,omitempty" json:"galaxy,omitempty"`
	GalaxyIPAM      *GalaxyIPAMParams      `yaml:"galaxyIPAM,omitempty" json:"galaxyIPAM,omitempty"`
	PersistentEvent *PersistentEventParams `yaml:"persistentEvent,omitempty" json:"persistentEvent,omitempty"`
	Audit           *AuditParams           `yaml:"audit,omitempty" json:"audit,omitempty"`
}

// AddonImageOverride changes where one image of an addon comes from.
type AddonImageOverride struct {
	// Registry is a registry host with an optional port and path, without a scheme, for
	// example registry.example.com:5000/library.
	Registry string `yaml:"registry,omitempty" json:"registry,omitempty"`
	// Tag replaces the image's tag.
	Tag string `yaml:"tag,omitempty" json:"tag,omitempty"`
}

// AddonResources are a workload's container requests and limits (cpu, memory,
// ephemeral-storage).
type AddonResources struct {
	Requests ResourceList `yaml:"requests,omitempty" json:"requests,omitempty"`
	Limits   ResourceList `yaml:"limits,omitempty" json:"limits,omitempty"`
}

// MonitoringParams configure the Prometheus monitoring addon.
type MonitoringParams struct {
	// Storage is where monitoring data goes (the installer's 监控存储类型): influxdb
	// (default; TKEStack's own InfluxDB, or an external one when influxdb.address is set),
	// elasticsearch (an external ES) or none (Prometheus keeps its data locally only).
	Storage MonitoringStorage `yaml:"storage,omitempty" json:"storage,omitempty"`
	// InfluxDB is an external InfluxDB; only with storage influxdb.
	InfluxDB *InfluxDBOutput `yaml:"influxdb,omitempty" json:"influxdb,omitempty"`
	// Elasticsearch is the external ES; required with storage elasticsearch.
	Elasticsearch *Elasticsearch `yaml:"elasticsearch,omitempty" json:"elasticsearch,omitempty"`
	// Thanos deploys the Thanos architecture for highly available, scalable monitoring.
	Thanos bool `yaml:"thanos,omitempty" json:"thanos,omitempty"`
	// Retention is how long Prometheus keeps data (default 360h, Prometheus's own 15
	// days); at least 1h.
	Retention Duration `yaml:"retention,omitempty" json:"retention,omitempty"`
}

// MonitoringStorage names a monitoring storage backend.
type MonitoringStorage string

const (
	MonitoringInfluxDB      MonitoringStorage = "influxdb"
	MonitoringElasticsearch MonitoringStorage = "elasticsearch"
	MonitoringNone          MonitoringStorage = "none"
)

// InfluxDBOutput is an external InfluxDB.
type InfluxDBOutput struct {
	// Address is the http or https URL of the InfluxDB, for example http://10.0.0.5:8086.
	Address  string     `yaml:"address" json:"address"`
	Username *SecretRef `yaml:"username,omitempty" json:"username,omitempty"`
	Password *SecretRef `yaml:"password,omitempty" json:"password,omitempty"`
}

// Elasticsearch is an Elasticsearch cluster that an addon writes to. TKEStack supports
// ES 5 without authentication and, from v1.5, ES 7.5.1 with a username and password.
type Elasticsearch struct {
	// Address is the http or https URL of the ES cluster, for example
	// http://190.0.0.1:200 (the seed's example).
	Address string `yaml:"address" json:"address"`
	// Index is the ES index: at most 60 characters, lowercase letters, digits, '-', '_'
	// and '+', starting with a lowercase letter.
	Index string `yaml:"index,omitempty" json:"index,omitempty"`
	// ESVersion is 5 (default; no authentication) or 7.5.1; a string (esVersion: 5 is
	// read as "5", but editors checking the JSON Schema want it quoted).
	ESVersion string `yaml:"esVersion,omitempty" json:"esVersion,omitempty"`
	// Username and Password authenticate to ES 7.5.1, by reference; both or neither.
	Username *SecretRef `yaml:"username,omitempty" json:"username,omitempty"`
	Password *SecretRef `yaml:"password,omitempty" json:"password,omitempty"`
}

// Elasticsearch versions TKEStack supports.
const (
	ESVersion5  = "5"
	ESVersion75 = "7.5.1"
)

// GPUManagerParams configure GPU-Manager (vGPU clusters).
type GPUManagerParams struct {
	// MetricsPort is the host port of the /metrics and /usage endpoints (default 5678).
	MetricsPort int `yaml:"metricsPort,omitempty" json:"metricsPort,omitempty"`
}

// DefaultGPUManagerMetricsPort is GPU-Manager's metrics port in the seed.
const DefaultGPUManagerMetricsPort = 5678

// CSIOperatorParams configure the CSI operator and the CSI drivers it deploys.
type CSIOperatorParams struct {
	// Drivers are the CSI drivers to deploy, at most one of each type. Without drivers
	// only the operator is installed (CSI objects may then come from an App).
	Drivers []CSIDriver `yaml:"drivers,omitempty" json:"drivers,omitempty"`
}

// CSIDriver is one storage plugin deployed by the CSI operator (a CSI object).
type CSIDriver struct {
	// Type is RBD, CephFS (IDC clusters), TencentCBS or TencentCFS (Tencent Cloud).
	Type CSIDriverType `yaml:"type" json:"type"`
	// SecretID and SecretKey are the Tencent Cloud API key, by reference; required for
	// TencentCBS and TencentCFS, not allowed for the others.
	SecretID  *SecretRef `yaml:"secretID,omitempty" json:"secretID,omitempty"`
	SecretKey *SecretRef `yaml:"secretKey,omitempty" json:"secretKey,omitempty"`
	// StorageClasses are the TencentCBS StorageClasses to create; default one,
	// cbs-basic-prepaid with diskType CLOUD_BASIC, as the operator creates it.
	StorageClasses []CBSStorageClass `yaml:"storageClasses,omitempty" json:"storageClasses,omitempty"`
}

// CSIDriverType names a storage plugin of the CSI operator.
type CSIDriverType string

const (
	CSIRBD        CSIDriverType = "RBD"
	CSICephFS     CSIDriverType = "CephFS"
	CSITencentCBS CSIDriverType = "TencentCBS"
	CSITencentCFS CSIDriverType = "TencentCFS"
)

// CBSStorageClass is a StorageClass of the TencentCBS driver.
type CBSStorageClass struct {
	Name string `yaml:"name" json:"name"`
	// DiskType is CLOUD_BASIC (default), CLOUD_PREMIUM or CLOUD_SSD.
	DiskType CBSDiskType `yaml:"diskType,omitempty" json:"diskType,omitempty"`
}

// LBCFParams configure the Load Balancer Controlling Framework.
type LBCFParams struct {
	// Drivers are LoadBalancerDriver webhook servers to register.
	Drivers []LBCFDriver `yaml:"drivers,omitempty" json:"drivers,omitempty"`
}

// LBCFDriver is a LoadBalancerDriver (driverType Webhook) in kube-system.
type LBCFDriver struct {
	// Name is the driver's name, which LoadBalancers refer to in spec.lbDriver.
	Name string `yaml:"name" json:"name"`
	// URL is the driver's webhook server, for example
	// http://lbcf-clb-driver.kube-system.svc.
	URL string `yaml:"url" json:"url"`
}

// GalaxyParams configure the Galaxy network DaemonSet. The default network mode of pods
// is each cluster's spec.network.mode.
type GalaxyParams struct {
	// FlannelBackend is how the overlay crosses nodes: ipip (default; TKEStack's IPIP
	// between nodes with host routes on a node), host-gw or vxlan.
	FlannelBackend FlannelBackend `yaml:"flannelBackend,omitempty" json:"flannelBackend,omitempty"`
}

// FlannelBackend names a flannel backend.
type FlannelBackend string

const (
	FlannelIPIP   FlannelBackend = "ipip"
	FlannelHostGW FlannelBackend = "host-gw"
	FlannelVXLAN  FlannelBackend = "vxlan"
)

// GalaxyIPAMParams configure Galaxy-IPAM: the floating IP pools it allocates from (the
// kube-system/floatingip-config ConfigMap).
type GalaxyIPAMParams struct {
	Pools []FloatingIPPool `yaml:"pools" json:"pools"`
}

// FloatingIPPool is one entry of floatingip-config.
type FloatingIPPool struct {
	// RoutableSubnet is the node subnet (CIDR) from which these IPs can be used.
	RoutableSubnet string `yaml:"routableSubnet" json:"routableSubnet"`
	// IPs are the pod IPs to hand out: single IPs or ranges written "first~last".
	IPs []string `yaml:"ips" json:"ips"`
	// Subnet is the pod IPs' network (CIDR); every IP and the gateway are in it.
	Subnet string `yaml:"subnet" json:"subnet"`
	// Gateway is the pods' default gateway.
	Gateway string `yaml:"gateway" json:"gateway"`
	// Vlan is the VLAN ID of the pods' network, 0 (none, default) to 4094.
	Vlan int `yaml:"vlan,omitempty" json:"vlan,omitempty"`
}

// PersistentEventParams say where PersistentEvent writes the cluster's events.
type PersistentEventParams struct {
	Elasticsearch `yaml:",inline" json:",inline"`
}

// AuditParams say where the audit component writes the audit records.
type AuditParams struct {
	Elasticsearch `yaml:",inline" json:",inline"`
}

// Addon returns the addon with the given name, or nil.
func (r *Repo) Addon(name string) *Addon { return byName(r.Addons, name) }

// Targets reports whether the addon is installed on the cluster: the cluster is named in
// spec.clusters or its labels match spec.selector, with the same rules as an App's
// targets (an empty selector matches every cluster).
func (a *Addon) Targets(c *Cluster) bool {
	app := App{Spec: AppSpec{Targets: Targets{Clusters: a.Spec.Clusters, Selector: a.Spec.Selector}}}
	return app.Targets(c)
}

// AddonsFor returns the Addons installed on the cluster, sorted by name.
func (r *Repo) AddonsFor(c *Cluster) []*Addon {
	var out []*Addon
	for _, a := range r.Addons {
		if a.Targets(c) {
			out = append(out, a)
		}
	}
	return out
}

// HasAddon reports whether an Addon of the given type is installed on the cluster.
func (r *Repo) HasAddon(c *Cluster, t AddonType) bool {
	return slices.ContainsFunc(r.Addons, func(a *Addon) bool { return a.Spec.Type == t && a.Targets(c) })
}

// ImageRef returns the full reference (registry/name:tag) of one of the addon's images,
// after defaults: spec.images overrides, then spec.registry and spec.version, then the
// catalog. arch (amd64 or arm64; empty means amd64) picks the variant of images that
// TKEStack publishes per architecture. It reports false for an image the type does not
// have.
func (a *Addon) ImageRef(name, arch string) (string, bool) {
	info, ok := AddonCatalog[a.Spec.Type]
	if !ok {
		return "", false
	}
	i := slices.IndexFunc(info.Images, func(img AddonImage) bool { return img.Name == name })
	if i < 0 {
		return "", false
	}
	img := info.Images[i]
	registry, tag := DefaultAddonRegistry, img.Tag
	if a.Spec.Registry != "" {
		registry = a.Spec.Registry
	}
	if img.Primary && a.Spec.Version != "" {
		tag = a.Spec.Version
	}
	if o, ok := a.Spec.Images[name]; ok {
		if o.Registry != "" {
			registry = o.Registry
		}
		if o.Tag != "" {
			tag = o.Tag
		}
	}
	repo := img.Name
	if img.PerArch {
		if arch == "" {
			arch = "amd64"
		}
		repo += "-" + arch
	}
	return registry + "/" + repo + ":" + tag, true
}
