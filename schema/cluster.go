package schema

// Cluster is one member cluster that gitfleet applies to: either an existing cluster it
// was given access to (Imported) or a standalone cluster whose machines the repository
// also declares (Baremetal), as in TKEStack.
type Cluster struct {
	Object `yaml:",inline" json:",inline"`
	Spec   ClusterSpec `yaml:"spec" json:"spec"`
}

// ClusterSpec describes how to reach a member cluster and what it is.
type ClusterSpec struct {
	// DisplayName is the name people see; TKEStack allows fewer than 60 characters.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Type is Imported or Baremetal (default Imported).
	Type ClusterType `yaml:"type,omitempty" json:"type,omitempty"`
	// Credentials say where gitfleet finds the cluster's credentials; never the
	// credentials themselves.
	Credentials Credentials `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	// APIServer is the address of an imported cluster's API server, as TKEStack's import
	// form asks for it: a host without https:// and a port.
	APIServer *APIServer `yaml:"apiServer,omitempty" json:"apiServer,omitempty"`
	// Version is the cluster's Kubernetes version, for example 1.18.3. Changes follow
	// TKEStack's upgrade rules: one minor step or patch steps up, never down.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// APIVersions are API groups/versions the cluster serves beyond the built-in ones of
	// its version (custom resources, say: "monitoring.coreos.com/v1"). Helm charts see
	// them in .Capabilities.APIVersions.
	APIVersions []string `yaml:"apiVersions,omitempty" json:"apiVersions,omitempty"`
	// NetworkDevice is the nodes' network interface (default eth0); cross-node traffic
	// breaks when it is wrong.
	NetworkDevice string `yaml:"networkDevice,omitempty" json:"networkDevice,omitempty"`
	// HA is how the API server is made highly available.
	HA *HA `yaml:"ha,omitempty" json:"ha,omitempty"`
	// GPUType is none, vGPU (GPU-Manager, fractional tencent.com/vcuda-*) or pGPU (the
	// NVIDIA device plugin, whole nvidia.com/gpu).
	GPUType GPUType `yaml:"gpuType,omitempty" json:"gpuType,omitempty"`
	// Network is the container network.
	Network ContainerNetwork `yaml:"network,omitempty" json:"network,omitempty"`
	// Features are TKEStack's cluster feature switches.
	Features ClusterFeatures `yaml:"features,omitempty" json:"features,omitempty"`
	// DNSDomain is the cluster's DNS domain (default cluster.local).
	DNSDomain string `yaml:"dnsDomain,omitempty" json:"dnsDomain,omitempty"`
	// Capacity is what the cluster offers to businesses (cpu, memory, ...). Business
	// quotas on the cluster must fit in Capacity times Overcommit.
	Capacity ResourceList `yaml:"capacity,omitempty" json:"capacity,omitempty"`
	// CapacityMeasured says Capacity was not declared but summed from the facts that the
	// machine checks found (see Repo.CapacityProblems); it is never read from a file.
	CapacityMeasured bool `yaml:"-" json:"-"`
	// Overcommit scales Capacity for quota checks (TKEStack's 超售比); default 1.
	Overcommit float64 `yaml:"overcommit,omitempty" json:"overcommit,omitempty"`
	// Upgrade says how version changes are rolled out.
	Upgrade UpgradePolicy `yaml:"upgrade,omitempty" json:"upgrade,omitempty"`
	// ExtraArgs are extra flags for the node and control-plane components.
	ExtraArgs ExtraArgs `yaml:"extraArgs,omitempty" json:"extraArgs,omitempty"`
	// Machines are the nodes of a Baremetal cluster.
	Machines []Machine `yaml:"machines,omitempty" json:"machines,omitempty"`
}

// ClusterType is how the platform came to manage a cluster.
type ClusterType string

const (
	ClusterImported  ClusterType = "Imported"
	ClusterBaremetal ClusterType = "Baremetal"
)

// Credentials point at a cluster's credentials outside the repository.
type Credentials struct {
	// KubeconfigContext is the context, in the kubeconfig given to gitfleet, that reaches
	// this cluster. Defaults to the cluster's name.
	KubeconfigContext string `yaml:"kubeconfigContext,omitempty" json:"kubeconfigContext,omitempty"`
	// Token is an imported cluster's bearer token, by reference.
	Token *SecretRef `yaml:"token,omitempty" json:"token,omitempty"`
	// CAData is the cluster CA (kubeconfig certificate-authority-data), by reference.
	CAData *SecretRef `yaml:"caData,omitempty" json:"caData,omitempty"`
}

// APIServer is an imported cluster's API server address.
type APIServer struct {
	// Host is a domain or IP, without https:// (TKEStack's rule).
	Host string `yaml:"host" json:"host"`
	// Port defaults to 443, as in TKEStack's import form.
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
}

// HA is the API server's high availability.
type HA struct {
	// Type is tke (keepalived VIP on the masters) or thirdParty (an existing load
	// balancer that forwards 80, 443, 6443 and 31138 to every master).
	Type HAType `yaml:"type" json:"type"`
	// VIP is the virtual IP.
	VIP string `yaml:"vip" json:"vip"`
	// VPort is the third-party load balancer's API server port (default 6443).
	VPort int `yaml:"vport,omitempty" json:"vport,omitempty"`
}

// HAType names an HA mode.
type HAType string

const (
	HATKE        HAType = "tke"
	HAThirdParty HAType = "thirdParty"
)

// GPUType is the kind of GPU support of a cluster.
type GPUType string

const (
	GPUNone     GPUType = "none"
	GPUVirtual  GPUType = "vGPU"
	GPUPhysical GPUType = "pGPU"
)

// ContainerNetwork is the pod and service network of a cluster.
type ContainerNetwork struct {
	// Mode is the default Galaxy network mode of pods: overlay (default), floatingIP,
	// nat or host.
	Mode NetworkMode `yaml:"mode,omitempty" json:"mode,omitempty"`
	// ClusterCIDR is the pod network; it must be in a private range and must not overlap
	// the machines' IPs.
	ClusterCIDR string `yaml:"clusterCIDR,omitempty" json:"clusterCIDR,omitempty"`
	// MaxNodePodNum sizes each node's pod CIDR (a power of two, 16 to 256).
	MaxNodePodNum int `yaml:"maxNodePodNum,omitempty" json:"maxNodePodNum,omitempty"`
	// MaxClusterServiceNum sizes the service CIDR (a power of two, 32 to 32768).
	MaxClusterServiceNum int `yaml:"maxClusterServiceNum,omitempty" json:"maxClusterServiceNum,omitempty"`
}

// NetworkMode is a Galaxy network mode.
type NetworkMode string

const (
	NetworkOverlay    NetworkMode = "overlay"
	NetworkFloatingIP NetworkMode = "floatingIP"
	NetworkNAT        NetworkMode = "nat"
	NetworkHost       NetworkMode = "host"
)

// ClusterFeatures are TKEStack's spec.features switches.
type ClusterFeatures struct {
	IPVS                 bool `yaml:"ipvs,omitempty" json:"ipvs,omitempty"`
	EnableMasterSchedule bool `yaml:"enableMasterSchedule,omitempty" json:"enableMasterSchedule,omitempty"`
}

// UpgradePolicy is how a version change rolls through the cluster.
type UpgradePolicy struct {
	// Mode is Auto (masters, then workers) or Manual (masters only; workers when asked).
	Mode UpgradeMode `yaml:"mode,omitempty" json:"mode,omitempty"`
	// DrainNodeBeforeUpgrade evicts pods from each node before it is upgraded.
	DrainNodeBeforeUpgrade bool `yaml:"drainNodeBeforeUpgrade,omitempty" json:"drainNodeBeforeUpgrade,omitempty"`
	// MaxUnready is the percentage of not-ready pods above which the upgrade stalls
	// (0-100, default 0).
	MaxUnready int `yaml:"maxUnready,omitempty" json:"maxUnready,omitempty"`
	// Pause holds an upgrade in progress.
	Pause bool `yaml:"pause,omitempty" json:"pause,omitempty"`
}

// UpgradeMode names an upgrade mode.
type UpgradeMode string

const (
	UpgradeAuto   UpgradeMode = "Auto"
	UpgradeManual UpgradeMode = "Manual"
)

// ExtraArgs are extra command-line flags per component, name -> value.
type ExtraArgs struct {
	Docker            map[string]string `yaml:"docker,omitempty" json:"docker,omitempty"`
	Kubelet           map[string]string `yaml:"kubelet,omitempty" json:"kubelet,omitempty"`
	APIServer         map[string]string `yaml:"apiServer,omitempty" json:"apiServer,omitempty"`
	ControllerManager map[string]string `yaml:"controllerManager,omitempty" json:"controllerManager,omitempty"`
	Scheduler         map[string]string `yaml:"scheduler,omitempty" json:"scheduler,omitempty"`
}

// Machine is a node of a Baremetal cluster, reached over SSH.
type Machine struct {
	// IP is the machine's private IP address.
	IP string `yaml:"ip" json:"ip"`
	// Port is the SSH port (default 22).
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// Username is the SSH user (default root).
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	// Password is the SSH password, by reference.
	Password *SecretRef `yaml:"password,omitempty" json:"password,omitempty"`
	// PrivateKey is the SSH private key, by reference; Passphrase unlocks it.
	PrivateKey *SecretRef `yaml:"privateKey,omitempty" json:"privateKey,omitempty"`
	Passphrase *SecretRef `yaml:"passphrase,omitempty" json:"passphrase,omitempty"`
	// Role is master or worker (default worker).
	Role MachineRole `yaml:"role,omitempty" json:"role,omitempty"`
	// GPU says the machine has GPUs (the platform installs the driver).
	GPU bool `yaml:"gpu,omitempty" json:"gpu,omitempty"`
	// Labels and Taints are kept on the machine's Node.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Taints []Taint           `yaml:"taints,omitempty" json:"taints,omitempty"`
}

// MachineRole is a machine's role in its cluster.
type MachineRole string

const (
	RoleMaster MachineRole = "master"
	RoleWorker MachineRole = "worker"
)

// Taint is a Kubernetes node taint.
type Taint struct {
	Key    string `yaml:"key" json:"key"`
	Value  string `yaml:"value,omitempty" json:"value,omitempty"`
	Effect string `yaml:"effect" json:"effect"`
}
