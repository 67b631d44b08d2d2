package schema

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
)

// addonClusters are the clusters the addon tests install on: a plain one, a vGPU and a
// pGPU one, the Global cluster, a floating-IP one and two with old Kubernetes versions.
var addonClusters = map[string]string{
	"clusters/dev.yaml":    "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n  labels: {env: dev}\nspec:\n  version: 1.18.3\n",
	"clusters/gpu-v.yaml":  "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gpu-v\n  labels: {gpu: \"true\"}\nspec:\n  gpuType: vGPU\n",
	"clusters/gpu-p.yaml":  "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gpu-p\n  labels: {gpu: \"true\"}\nspec:\n  gpuType: pGPU\n",
	"clusters/global.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: global\n",
	"clusters/fip.yaml":    "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: fip\nspec:\n  network:\n    mode: floatingIP\n",
	"clusters/k110.yaml":   "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: k110\nspec:\n  gpuType: vGPU\n  version: 1.10.5\n",
	"clusters/k18.yaml":    "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: k18\nspec:\n  version: 1.8.15\n",
}

// addonFile is an Addon document; the lines of spec start at line 6.
func addonFile(name, spec string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: Addon\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// addonRepo is the test clusters plus the given files.
func addonRepo(files map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range addonClusters {
		out[k] = v
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

// validAddons has one valid Addon of every catalog type.
var validAddons = map[AddonType]string{
	AddonTApp: addonFile("tapp", "  type: TApp\n  clusters: [dev]\n"),
	AddonCronHPA: addonFile("cron-hpa", `  type: CronHPA
  selector: {matchLabels: {env: dev}}
  version: v1.0.0
`),
	AddonMonitoring: addonFile("monitoring", `  type: Monitoring
  clusters: [dev, gpu-v]
  monitoring:
    storage: elasticsearch
    elasticsearch:
      address: https://es.example.com:9200
      esVersion: 7.5.1
      username: {env: ES_USER}
      password: {secret: {name: es, key: password}}
    thanos: true
    retention: 720h
`),
	AddonLogAgent: addonFile("logagent", `  type: LogAgent
  selector: {}
  resources:
    logagent:
      requests: {cpu: 300m, memory: 250Mi}
      limits: {cpu: "1", memory: 512Mi}
`),
	AddonGPUManager: addonFile("gpu-manager", `  type: GPUManager
  clusters: [gpu-v]
  images:
    gpu-quota-admission: {tag: v1.0.1}
  gpuManager: {metricsPort: 5679}
`),
	AddonNvidiaDevicePlugin: addonFile("nvidia", `  type: NvidiaDevicePlugin
  clusters: [gpu-p]
  registry: registry.example.com:5000/library
`),
	AddonCSIOperator: addonFile("csi", `  type: CSIOperator
  clusters: [dev]
  csiOperator:
    drivers:
    - type: TencentCBS
      secretID: {secret: {name: tencent-cloud, key: secretID}}
      secretKey: {secret: {name: tencent-cloud, key: secretKey}}
      storageClasses:
      - name: cbs-basic-prepaid
      - name: cbs-ssd
        diskType: CLOUD_SSD
    - type: RBD
`),
	AddonLBCF: addonFile("lbcf", `  type: LBCF
  clusters: [dev]
  lbcf:
    drivers:
    - name: lbcf-clb-driver
      url: http://lbcf-clb-driver.kube-system.svc
`),
	AddonGalaxy: addonFile("galaxy", `  type: Galaxy
  clusters: [dev, fip]
  galaxy: {flannelBackend: vxlan}
`),
	AddonGalaxyIPAM: addonFile("galaxy-ipam", `  type: GalaxyIPAM
  clusters: [fip]
  galaxyIPAM:
    pools:
    - routableSubnet: 172.21.64.0/20
      ips: ["192.168.64.200~192.168.64.251", 192.168.64.10]
      subnet: 192.168.64.0/24
      gateway: 192.168.64.1
    - routableSubnet: 172.21.80.0/20
      ips: ["192.168.65.2~192.168.65.100"]
      subnet: 192.168.65.0/24
      gateway: 192.168.65.1
      vlan: 2
`),
	AddonPersistentEvent: addonFile("persistent-event", `  type: PersistentEvent
  clusters: [dev]
  persistentEvent:
    address: http://190.0.0.1:200
    index: k8s-events
`),
	AddonAudit: addonFile("audit", `  type: Audit
  clusters: [global]
  audit:
    address: http://190.0.0.1:200
    index: tke-audit+2020
    esVersion: 7.5.1
    username: {env: ES_USER}
    password: {file: /etc/es/password}
`),
	AddonMetricsServer: addonFile("metrics-server", "  type: MetricsServer\n  clusters: [global, dev]\n"),
}

// TestAddonValid loads one valid Addon of every type together, and checks the defaults
// and the lookups the renderer relies on.
func TestAddonValid(t *testing.T) {
	files := map[string]string{}
	for typ, f := range validAddons {
		files["addons/"+strings.ToLower(string(typ))+".yaml"] = f
	}
	if len(files) != len(addonTypes) {
		t.Fatalf("validAddons has %d types, the catalog %d", len(files), len(addonTypes))
	}
	repo, err := Load(t.Context(), repoFS(addonRepo(files)))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, typ := range addonTypes {
		n := 0
		for _, a := range repo.Addons {
			if a.Spec.Type == typ {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d Addons of type %s loaded, want 1", n, typ)
		}
	}

	// Defaults.
	tapp := repo.Addon("tapp")
	if tapp.Spec.Version != "v1.1.1" {
		t.Errorf("TApp version %q, want the catalog's v1.1.1", tapp.Spec.Version)
	}
	wantTApp := AddonResources{
		Requests: ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("512Mi")},
		Limits:   ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("512Mi")},
	}
	if got := tapp.Spec.Resources["tapp-controller"]; !resourcesEqual(got, wantTApp) {
		t.Errorf("TApp resources %v, want %v", got, wantTApp)
	}
	if got := repo.Addon("logagent").Spec.Resources["logagent"].Limits["memory"]; got.String() != "512Mi" {
		t.Errorf("LogAgent memory limit %s, want the written 512Mi", got.String())
	}
	if got := repo.Addon("gpu-manager").Spec.Resources; len(got) != 2 {
		t.Errorf("GPUManager resources %v, want defaults for both workloads", got)
	}
	if got := repo.Addon("persistent-event").Spec.PersistentEvent.ESVersion; got != ESVersion5 {
		t.Errorf("PersistentEvent esVersion %q, want 5", got)
	}
	if got := repo.Addon("monitoring").Spec.Monitoring.Retention.Duration; got != 720*time.Hour {
		t.Errorf("Monitoring retention %s, want the written 720h", got)
	}
	if got := repo.Addon("gpu-manager").Spec.GPUManager.MetricsPort; got != 5679 {
		t.Errorf("GPUManager metricsPort %d, want 5679", got)
	}
	if got := repo.Addon("galaxy").Spec.Galaxy.FlannelBackend; got != FlannelVXLAN {
		t.Errorf("Galaxy flannelBackend %q, want vxlan", got)
	}
	wantSC := []CBSStorageClass{{Name: "cbs-basic-prepaid", DiskType: CBSCloudBasic}, {Name: "cbs-ssd", DiskType: CBSCloudSSD}}
	if diff := cmp.Diff(wantSC, repo.Addon("csi").Spec.CSIOperator.Drivers[0].StorageClasses); diff != "" {
		t.Errorf("CBS StorageClasses (-want +got):\n%s", diff)
	}

	// Lookups.
	var names []string
	for _, a := range repo.AddonsFor(repo.Cluster("dev")) {
		names = append(names, a.Metadata.Name)
	}
	want := []string{"cron-hpa", "csi", "galaxy", "lbcf", "logagent", "metrics-server", "monitoring", "persistent-event", "tapp"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("AddonsFor(dev) (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		cluster string
		typ     AddonType
		want    bool
	}{
		{"gpu-v", AddonGPUManager, true},
		{"gpu-p", AddonGPUManager, false},
		{"gpu-p", AddonNvidiaDevicePlugin, true},
		{"gpu-p", AddonLogAgent, true}, // by the empty selector
		{"fip", AddonGalaxyIPAM, true},
		{"dev", AddonGalaxyIPAM, false},
		{"global", AddonAudit, true},
	} {
		if got := repo.HasAddon(repo.Cluster(tc.cluster), tc.typ); got != tc.want {
			t.Errorf("HasAddon(%s, %s) = %v, want %v", tc.cluster, tc.typ, got, tc.want)
		}
	}
	for _, tc := range []struct {
		addon, image, arch, want string
	}{
		{"gpu-manager", "gpu-manager", "", "docker.io/tkestack/gpu-manager:v1.0.4"},
		{"gpu-manager", "gpu-quota-admission", "", "docker.io/tkestack/gpu-quota-admission:v1.0.1"},
		{"nvidia", "nvidia-device-plugin", "", "registry.example.com:5000/library/nvidia-device-plugin:1.0.0-beta4"},
		{"galaxy", "galaxy", "arm64", "docker.io/tkestack/galaxy-arm64:v1.0.6"},
		{"galaxy", "flannel", "", "docker.io/tkestack/flannel-amd64:v0.10.0"},
		{"galaxy", "gpu-manager", "", ""},
	} {
		got, _ := repo.Addon(tc.addon).ImageRef(tc.image, tc.arch)
		if got != tc.want {
			t.Errorf("%s ImageRef(%s, %q) = %q, want %q", tc.addon, tc.image, tc.arch, got, tc.want)
		}
	}
}

// TestAddonDefaults checks the defaults of a type's parameters when the Addon leaves
// them out.
func TestAddonDefaults(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(addonRepo(map[string]string{
		"addons/monitoring.yaml": addonFile("monitoring", "  type: Monitoring\n  clusters: [dev]\n  version: v2.17.0\n"),
		"addons/gpu.yaml":        addonFile("gpu", "  type: GPUManager\n  clusters: [gpu-v]\n"),
		"addons/galaxy.yaml":     addonFile("galaxy", "  type: Galaxy\n  clusters: [dev]\n"),
		"addons/csi.yaml":        addonFile("csi", "  type: CSIOperator\n  clusters: [dev]\n  csiOperator:\n    drivers:\n    - type: TencentCBS\n      secretID: {env: TC_ID}\n      secretKey: {env: TC_KEY}\n"),
	})))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	m := repo.Addon("monitoring").Spec.Monitoring
	if m.Storage != MonitoringInfluxDB || m.Retention.Duration != DefaultMonitoringRetention || m.Thanos {
		t.Errorf("Monitoring defaults %+v, want storage influxdb, retention 360h, no Thanos", m)
	}
	if got, _ := repo.Addon("monitoring").ImageRef("prometheus", ""); got != "docker.io/tkestack/prometheus:v2.17.0" {
		t.Errorf("spec.version does not reach the primary image: %s", got)
	}
	if got, _ := repo.Addon("monitoring").ImageRef("alertmanager", ""); got != "docker.io/tkestack/alertmanager:v0.18.0" {
		t.Errorf("spec.version reached a secondary image: %s", got)
	}
	if got := repo.Addon("gpu").Spec.GPUManager.MetricsPort; got != DefaultGPUManagerMetricsPort {
		t.Errorf("GPUManager metricsPort %d, want 5678", got)
	}
	if got := repo.Addon("galaxy").Spec.Galaxy.FlannelBackend; got != FlannelIPIP {
		t.Errorf("Galaxy flannelBackend %q, want ipip", got)
	}
	want := []CBSStorageClass{{Name: DefaultCBSStorageClass, DiskType: CBSCloudBasic}}
	if diff := cmp.Diff(want, repo.Addon("csi").Spec.CSIOperator.Drivers[0].StorageClasses); diff != "" {
		t.Errorf("default CBS StorageClass (-want +got):\n%s", diff)
	}
}

func resourcesEqual(a, b AddonResources) bool {
	eq := func(x, y ResourceList) bool {
		if len(x) != len(y) {
			return false
		}
		for k, q := range x {
			if q2, ok := y[k]; !ok || q.Cmp(q2) != 0 {
				return false
			}
		}
		return true
	}
	return eq(a.Requests, b.Requests) && eq(a.Limits, b.Limits)
}

// TestAddonCatalog checks the catalog against itself and against the spec's fields.
func TestAddonCatalog(t *testing.T) {
	params := map[string]bool{}
	for _, b := range (&AddonSpec{}).paramBlocks() {
		params[b.field] = true
	}
	if len(AddonCatalog) != len(addonTypes) {
		t.Errorf("catalog has %d entries, addonTypes %d", len(AddonCatalog), len(addonTypes))
	}
	for _, typ := range addonTypes {
		info, ok := AddonCatalog[typ]
		if !ok || info.Type != typ {
			t.Errorf("catalog entry for %s missing or misnamed (%q)", typ, info.Type)
			continue
		}
		if !slices.ContainsFunc(info.Images, func(img AddonImage) bool { return img.Primary && img.Tag == info.Version }) {
			t.Errorf("%s: version %s is not the tag of a primary image", typ, info.Version)
		}
		if !addonVersion.MatchString(info.Version) {
			t.Errorf("%s: version %s does not pass the version check", typ, info.Version)
		}
		seen := map[string]bool{}
		for _, img := range info.Images {
			if seen[img.Name] || !imageTag.MatchString(img.Tag) {
				t.Errorf("%s: image %s:%s duplicated or with a bad tag", typ, img.Name, img.Tag)
			}
			seen[img.Name] = true
		}
		if len(info.Workloads()) == 0 {
			t.Errorf("%s has no workload", typ)
		}
		if info.Params != "" && !params[info.Params] {
			t.Errorf("%s: params field %q is not a spec field", typ, info.Params)
		}
		if info.ParamsRequired && info.Params == "" {
			t.Errorf("%s: parameters required but it has none", typ)
		}
	}
	// The seed's default resources.
	for _, tc := range []struct {
		typ           AddonType
		workload      string
		cpu, memory   string
		minKubernetes string
	}{
		{AddonTApp, "tapp-controller", "1", "512Mi", ""},
		{AddonCronHPA, "cron-hpa-controller", "1", "512Mi", ""},
		{AddonLogAgent, "logagent", "300m", "250Mi", ""},
		{AddonGPUManager, "gpu-manager-daemonset", "1", "1Gi", "1.11"},
		{AddonGPUManager, "gpu-quota-admission", "1", "1Gi", "1.11"},
		{AddonNvidiaDevicePlugin, "nvidia-device-plugin-daemonset", "1", "1Gi", ""},
		{AddonCSIOperator, "csi-operator", "200m", "256Mi", ""},
		{AddonPersistentEvent, "tke-persistent-event", "200m", "100Mi", "1.9"},
	} {
		info := AddonCatalog[tc.typ]
		i := slices.IndexFunc(info.Objects, func(o AddonObject) bool { return o.Name == tc.workload })
		if i < 0 {
			t.Errorf("%s has no object %s", tc.typ, tc.workload)
			continue
		}
		rl := info.Objects[i].Resources
		if cpu, mem := rl["cpu"], rl["memory"]; cpu.String() != tc.cpu || mem.String() != tc.memory {
			t.Errorf("%s %s resources cpu %s memory %s, want %s and %s", tc.typ, tc.workload, cpu.String(), mem.String(), tc.cpu, tc.memory)
		}
		if info.MinKubernetes != tc.minKubernetes {
			t.Errorf("%s MinKubernetes %q, want %q", tc.typ, info.MinKubernetes, tc.minKubernetes)
		}
	}
	for _, tc := range []struct {
		t      CBSDiskType
		lo, hi int
	}{{CBSCloudBasic, 100, 16000}, {CBSCloudPremium, 50, 16000}, {CBSCloudSSD, 100, 16000}, {"CLOUD_HDD", 0, 0}} {
		if lo, hi := tc.t.SizeRangeGB(); lo != tc.lo || hi != tc.hi {
			t.Errorf("%s size range %d-%d GB, want %d-%d", tc.t, lo, hi, tc.lo, tc.hi)
		}
	}
}

// addonErrorCases are bad Addons, each with every error it must produce, at the exact
// file, line and column.
var addonErrorCases = []struct {
	name  string
	files map[string]string
	want  []string
}{
	{
		name:  "type with a typo",
		files: map[string]string{"addons/a.yaml": addonFile("a", "  type: GPUManger\n  clusters: [gpu-v]\n")},
		want: []string{
			`addons/a.yaml:6:9: spec.type: unknown addon type "GPUManger"; did you mean "GPUManager"?`,
		},
	},
	{
		name:  "unknown type lists the catalog",
		files: map[string]string{"addons/a.yaml": addonFile("a", "  type: Helm\n  clusters: [dev]\n")},
		want: []string{
			`addons/a.yaml:6:9: spec.type: unknown addon type "Helm"; expected one of: TApp, CronHPA, Monitoring, LogAgent, GPUManager, NvidiaDevicePlugin, CSIOperator, LBCF, Galaxy, GalaxyIPAM, PersistentEvent, Audit, MetricsServer`,
		},
	},
	{
		name: "deprecated LogCollector, Prometheus and a missing type",
		files: map[string]string{
			"addons/a.yaml": addonFile("a", "  type: LogCollector\n  clusters: [dev]\n"),
			"addons/b.yaml": addonFile("b", "  type: Prometheus\n  clusters: [dev]\n"),
			"addons/c.yaml": addonFile("c", "  clusters: [dev]\n"),
			"addons/d.yaml": addonFile("d", "  type: Nvidia-k8s-device-plugin\n  clusters: [gpu-p]\n"),
		},
		want: []string{
			`addons/a.yaml:6:9: spec.type: addon type "LogCollector" was deprecated in TKEStack v1.3 and can no longer be installed; use LogAgent`,
			`addons/b.yaml:6:9: spec.type: unknown addon type "Prometheus"; did you mean "Monitoring"?`,
			`addons/c.yaml:6:3: spec.type: an Addon needs a type: one of TApp, CronHPA, Monitoring, LogAgent, GPUManager, NvidiaDevicePlugin, CSIOperator, LBCF, Galaxy, GalaxyIPAM, PersistentEvent, Audit, MetricsServer`,
			`addons/d.yaml:6:9: spec.type: unknown addon type "Nvidia-k8s-device-plugin"; did you mean "NvidiaDevicePlugin"?`,
		},
	},
	{
		name: "targets: none, unknown, listed twice, bad selector label",
		files: map[string]string{
			"addons/a.yaml": addonFile("a", "  type: TApp\n"),
			"addons/b.yaml": addonFile("b", "  type: TApp\n  clusters: [prod, fip, fip]\n  selector: {matchLabels: {\"bad key!\": x}}\n"),
		},
		want: []string{
			`addons/a.yaml:6:3: spec.clusters: an Addon needs targets: list cluster names in spec.clusters or set spec.selector.matchLabels`,
			`addons/b.yaml:7:14: spec.clusters[0]: no Cluster named "prod" in the repository (known: dev, fip, global, gpu-p, gpu-v, k110, k18)`,
			`addons/b.yaml:7:25: spec.clusters[2]: cluster "fip" is already listed as spec.clusters[1]`,
			`addons/b.yaml:8:40: spec.selector.matchLabels.bad key!: "bad key!" is not a valid label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		},
	},
	{
		name: "version, registry and image overrides",
		files: map[string]string{"addons/a.yaml": addonFile("a", `  type: GPUManager
  clusters: [gpu-v]
  version: latest
  registry: https://registry.example.com/library
  images:
    gpu-manger: {tag: v1}
    gpu-quota-admission: {}
    gpu-manager: {registry: Registry.Example.com, tag: "-bad"}
`)},
		want: []string{
			`addons/a.yaml:8:12: spec.version: "latest" is not a release version; write the tag of the release's images, for example v1.0.4`,
			`addons/a.yaml:9:13: spec.registry: write the registry without a scheme, for example "registry.example.com/library"`,
			`addons/a.yaml:11:17: spec.images.gpu-manger: unknown GPUManager image "gpu-manger"; did you mean "gpu-manager"?`,
			`addons/a.yaml:12:26: spec.images.gpu-quota-admission: set registry or tag, or remove the entry`,
			`addons/a.yaml:13:29: spec.images.gpu-manager.registry: "Registry.Example.com" is not an image registry: a lowercase host with an optional port and path, for example registry.example.com:5000/library`,
			`addons/a.yaml:13:56: spec.images.gpu-manager.tag: "-bad" is not an image tag: at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`,
		},
	},
	{
		name: "resources",
		files: map[string]string{"addons/a.yaml": addonFile("a", `  type: GPUManager
  clusters: [gpu-v]
  resources:
    gpu-manager: {requests: {cpu: 1}}
    gpu-quota-admission: {}
    gpu-manager-daemonset:
      requests: {cpu: "2", memory: -1Gi, nvidia.com/gpu: 1}
      limits: {cpu: "1"}
`)},
		want: []string{
			`addons/a.yaml:9:18: spec.resources.gpu-manager: unknown GPUManager workload "gpu-manager"; expected one of: gpu-manager-daemonset, gpu-quota-admission`,
			`addons/a.yaml:10:26: spec.resources.gpu-quota-admission: set requests or limits, or remove the entry to use the defaults`,
			`addons/a.yaml:12:36: spec.resources.gpu-manager-daemonset.requests.memory: must not be negative, found -1Gi`,
			`addons/a.yaml:12:58: spec.resources.gpu-manager-daemonset.requests.nvidia.com/gpu: unknown resource "nvidia.com/gpu"; expected one of: cpu, ephemeral-storage, memory`,
			`addons/a.yaml:13:21: spec.resources.gpu-manager-daemonset.limits.cpu: the limit 1 is below the request 2`,
		},
	},
	{
		name: "parameters of another type",
		files: map[string]string{
			"addons/a.yaml": addonFile("a", "  type: TApp\n  clusters: [dev]\n  galaxy: {flannelBackend: ipip}\n"),
			"addons/b.yaml": addonFile("b", "  type: GPUManager\n  clusters: [gpu-v]\n  monitoring: {storage: none}\n  gpuManager: {metricsPort: 70000}\n"),
		},
		want: []string{
			`addons/a.yaml:8:11: spec.galaxy: these are Galaxy parameters, and a TApp addon has none: remove spec.galaxy or change spec.type`,
			`addons/b.yaml:8:15: spec.monitoring: these are Monitoring parameters, and a GPUManager addon takes spec.gpuManager: remove spec.monitoring or change spec.type`,
			`addons/b.yaml:9:29: spec.gpuManager.metricsPort: a port is 1 to 65535, found 70000`,
		},
	},
	{
		name: "GPU-Manager only on vGPU clusters, the device plugin only on pGPU clusters",
		files: map[string]string{
			"addons/gpu.yaml":    addonFile("gpu", "  type: GPUManager\n  clusters: [dev]\n  selector: {matchLabels: {gpu: \"true\"}}\n"),
			"addons/nvidia.yaml": addonFile("nvidia", "  type: NvidiaDevicePlugin\n  clusters: [gpu-v]\n"),
		},
		want: []string{
			`addons/gpu.yaml:7:14: spec.clusters[0]: GPUManager needs a vGPU cluster (fractional tencent.com/vcuda-core), but cluster "dev" has spec.gpuType none; set the cluster's spec.gpuType to vGPU`,
			`addons/gpu.yaml:8:13: spec.selector: GPUManager needs a vGPU cluster (fractional tencent.com/vcuda-core), but cluster "gpu-p" has spec.gpuType pGPU; pGPU clusters use NvidiaDevicePlugin`,
			`addons/nvidia.yaml:7:14: spec.clusters[0]: NvidiaDevicePlugin needs a pGPU cluster (whole nvidia.com/gpu), but cluster "gpu-v" has spec.gpuType vGPU; vGPU clusters use GPUManager`,
			`addons/nvidia.yaml:7:14: spec.clusters[0]: cluster "gpu-v" also has the GPUManager addon "gpu" (declared at addons/gpu.yaml:4:9); a cluster uses GPU-Manager (vGPU) or the NVIDIA device plugin (pGPU), not both`,
		},
	},
	{
		name: "minimum Kubernetes versions",
		files: map[string]string{
			"addons/gpu.yaml":    addonFile("gpu", "  type: GPUManager\n  clusters: [k110]\n"),
			"addons/events.yaml": addonFile("events", "  type: PersistentEvent\n  clusters: [k18]\n  persistentEvent: {address: \"http://es:9200\", index: events}\n"),
		},
		want: []string{
			`addons/events.yaml:7:14: spec.clusters[0]: PersistentEvent needs Kubernetes 1.9 or newer, but cluster "k18" runs 1.8.15`,
			`addons/gpu.yaml:7:14: spec.clusters[0]: GPUManager needs Kubernetes 1.11 or newer, but cluster "k110" runs 1.10.5`,
		},
	},
	{
		name: "two addons of a type on one cluster",
		files: map[string]string{
			"addons/a.yaml": addonFile("tapp-a", "  type: TApp\n  clusters: [dev]\n"),
			"addons/b.yaml": addonFile("tapp-b", "  type: TApp\n  selector: {matchLabels: {env: dev}}\n"),
		},
		want: []string{
			`addons/b.yaml:7:13: spec.selector: cluster "dev" already has a TApp addon, "tapp-a" (declared at addons/a.yaml:4:9); a cluster runs one addon of each type`,
		},
	},
	{
		name: "required parameters missing",
		files: map[string]string{
			"addons/events.yaml": addonFile("events", "  type: PersistentEvent\n  clusters: [dev]\n"),
			"addons/audit.yaml":  addonFile("audit", "  type: Audit\n  clusters: [global]\n"),
			"addons/ipam.yaml":   addonFile("ipam", "  type: GalaxyIPAM\n  clusters: [fip]\n"),
			"addons/galaxy.yaml": addonFile("galaxy", "  type: Galaxy\n  clusters: [fip]\n"),
		},
		want: []string{
			`addons/audit.yaml:6:3: spec.audit: required: Audit needs the Elasticsearch address and index to store audit records in (spec.audit.address and .index)`,
			`addons/events.yaml:6:3: spec.persistentEvent: required: PersistentEvent needs the Elasticsearch address and index to export events to (spec.persistentEvent.address and .index)`,
			`addons/ipam.yaml:6:3: spec.galaxyIPAM: required: GalaxyIPAM allocates floating IPs from spec.galaxyIPAM.pools; declare at least one pool`,
		},
	},
	{
		name: "PersistentEvent needs an address and an index",
		files: map[string]string{
			"addons/a.yaml": addonFile("a", "  type: PersistentEvent\n  clusters: [dev]\n  persistentEvent: {esVersion: \"5\"}\n"),
			"addons/b.yaml": addonFile("b", "  type: PersistentEvent\n  clusters: [global]\n  persistentEvent:\n    address: es.example.com:9200\n    index: Events\n"),
			"addons/c.yaml": addonFile("c", "  type: PersistentEvent\n  clusters: [gpu-v]\n  persistentEvent:\n    address: ftp://es.example.com\n    index: "+strings.Repeat("e", 61)+"\n"),
		},
		want: []string{
			`addons/a.yaml:8:20: spec.persistentEvent.address: required: the Elasticsearch address, an http or https URL such as http://190.0.0.1:200`,
			`addons/a.yaml:8:20: spec.persistentEvent.index: required: the Elasticsearch index to write to (TKEStack: you must fill in address and index)`,
			`addons/b.yaml:9:14: spec.persistentEvent.address: "es.example.com:9200" is not an http or https URL such as http://190.0.0.1:200`,
			`addons/b.yaml:10:12: spec.persistentEvent.index: "Events" is not a valid index: use lowercase letters, digits, '-', '_' and '+', starting with a lowercase letter`,
			`addons/c.yaml:9:14: spec.persistentEvent.address: "ftp://es.example.com" is not an http or https URL such as http://190.0.0.1:200`,
			`addons/c.yaml:10:12: spec.persistentEvent.index: an index has at most 60 characters, found 61`,
		},
	},
	{
		name: "Elasticsearch versions and credentials",
		files: map[string]string{
			"addons/a.yaml": addonFile("a", `  type: PersistentEvent
  clusters: [dev]
  persistentEvent:
    address: http://es:9200
    index: events
    username: {env: ES_USER}
    password: {env: ES_PASSWORD}
`),
			"addons/b.yaml": addonFile("b", `  type: PersistentEvent
  clusters: [gpu-v]
  persistentEvent:
    address: http://admin:hunter2@es:9200
    index: events
    esVersion: "6"
`),
			"addons/c.yaml": addonFile("c", `  type: PersistentEvent
  clusters: [gpu-p]
  persistentEvent:
    address: http://es:9200
    index: events
    esVersion: 7.5.1
    username: {env: ES_USER}
`),
			"addons/d.yaml": addonFile("d", `  type: PersistentEvent
  clusters: [global]
  persistentEvent:
    address: http://es:9200
    index: events
    esVersion: 7.5.1
    username: {secret: {name: es}}
    password: hunter2
`),
		},
		want: []string{
			`addons/a.yaml:11:15: spec.persistentEvent.username: Elasticsearch 5 is supported only without authentication; set esVersion: 7.5.1 to log in with a username and password`,
			`addons/a.yaml:12:15: spec.persistentEvent.password: Elasticsearch 5 is supported only without authentication; set esVersion: 7.5.1 to log in with a username and password`,
			`addons/b.yaml:9:14: spec.persistentEvent.address: the address holds credentials, which must not be written into the repository; remove them and refer to them with username and password`,
			`addons/b.yaml:11:16: spec.persistentEvent.esVersion: unsupported Elasticsearch version "6"; TKEStack supports 5 (without authentication) and 7.5.1 (with an optional username and password)`,
			`addons/c.yaml:9:5: spec.persistentEvent.password: required with a username: refer to the password with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
			`addons/d.yaml:12:24: spec.persistentEvent.username.secret.key: the key of the Secret that holds the value is required`,
			`addons/d.yaml:13:15: spec.persistentEvent.password: a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
		},
	},
	{
		name: "Audit only on the Global cluster",
		files: map[string]string{
			"clusters/platform.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: platform\n  labels: {gitfleet.dev/role: global}\n",
			"addons/a.yaml":          addonFile("a", "  type: Audit\n  clusters: [dev, platform, global]\n  audit: {address: \"http://es:9200\", index: audit}\n"),
		},
		want: []string{
			`addons/a.yaml:7:14: spec.clusters[0]: Audit runs only on the Global cluster (named global or labelled gitfleet.dev/role: global), and cluster "dev" is not it`,
		},
	},
	{
		name: "Monitoring storage",
		files: map[string]string{
			"addons/a.yaml": addonFile("a", "  type: Monitoring\n  clusters: [dev]\n  monitoring:\n    storage: influx\n    retention: 30m\n"),
			"addons/b.yaml": addonFile("b", `  type: Monitoring
  clusters: [gpu-v]
  monitoring:
    storage: elasticsearch
    influxdb:
      address: http://influxdb:8086
      password: {env: INFLUX_PASSWORD}
`),
			"addons/c.yaml": addonFile("c", `  type: Monitoring
  clusters: [gpu-p]
  monitoring:
    storage: none
    elasticsearch: {address: "http://es:9200", index: Metrics}
`),
		},
		want: []string{
			`addons/a.yaml:9:14: spec.monitoring.storage: unknown value "influx"; did you mean "influxdb"?`,
			`addons/a.yaml:10:16: spec.monitoring.retention: keep monitoring data for at least 1h, found 30m0s`,
			`addons/b.yaml:9:5: spec.monitoring.elasticsearch: required with storage: elasticsearch: the external Elasticsearch's address`,
			`addons/b.yaml:11:7: spec.monitoring.influxdb: an external InfluxDB is used only with storage: influxdb, found storage: elasticsearch`,
			`addons/b.yaml:11:7: spec.monitoring.influxdb.username: required with a password: refer to the username with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
			`addons/c.yaml:10:20: spec.monitoring.elasticsearch: an Elasticsearch is used only with storage: elasticsearch, found storage: none`,
			`addons/c.yaml:10:55: spec.monitoring.elasticsearch.index: "Metrics" is not a valid index: use lowercase letters, digits, '-', '_' and '+', starting with a lowercase letter`,
		},
	},
	{
		name: "CSIOperator drivers and StorageClasses",
		files: map[string]string{"addons/a.yaml": addonFile("a", `  type: CSIOperator
  clusters: [dev]
  csiOperator:
    drivers:
    - type: TencentCBS
      secretID: {env: TC_ID}
      storageClasses:
      - name: Fast_Disks
        diskType: CLOUD_HDD
      - name: slow
      - name: slow
    - type: RBD
      secretID: {env: TC_ID}
    - type: CephFS
      storageClasses: [{name: cephfs}]
    - type: RBD
    - type: NFS
`)},
		want: []string{
			`addons/a.yaml:10:7: spec.csiOperator.drivers[0].secretKey: required: refer to the secret with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
			`addons/a.yaml:13:15: spec.csiOperator.drivers[0].storageClasses[0].name: "Fast_Disks" is not a valid StorageClass name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			`addons/a.yaml:14:19: spec.csiOperator.drivers[0].storageClasses[0].diskType: unknown value "CLOUD_HDD"; did you mean "CLOUD_SSD"?`,
			`addons/a.yaml:16:15: spec.csiOperator.drivers[0].storageClasses[2].name: StorageClass "slow" is already declared as spec.csiOperator.drivers[0].storageClasses[1]`,
			`addons/a.yaml:18:17: spec.csiOperator.drivers[1].secretID: only the Tencent Cloud drivers (TencentCBS, TencentCFS) take a Tencent Cloud API key; RBD does not`,
			`addons/a.yaml:20:23: spec.csiOperator.drivers[2].storageClasses: StorageClasses are created for the TencentCBS driver only; create CephFS StorageClasses in an App`,
			`addons/a.yaml:21:13: spec.csiOperator.drivers[3].type: driver type RBD is already listed as spec.csiOperator.drivers[1]; list each driver once`,
			`addons/a.yaml:22:13: spec.csiOperator.drivers[4].type: unknown value "NFS"; expected one of: RBD, CephFS, TencentCBS, TencentCFS`,
		},
	},
	{
		name: "LBCF drivers",
		files: map[string]string{"addons/a.yaml": addonFile("a", `  type: LBCF
  clusters: [dev]
  lbcf:
    drivers:
    - name: lbcf-clb-driver
      url: lbcf-clb-driver.kube-system.svc
    - name: lbcf-clb-driver
      url: http://lbcf-clb-driver.kube-system.svc
    - name: CLB
`)},
		want: []string{
			`addons/a.yaml:11:12: spec.lbcf.drivers[0].url: "lbcf-clb-driver.kube-system.svc" is not an http or https URL such as http://lbcf-clb-driver.kube-system.svc`,
			`addons/a.yaml:12:13: spec.lbcf.drivers[1].name: driver "lbcf-clb-driver" is already declared as spec.lbcf.drivers[0]`,
			`addons/a.yaml:14:7: spec.lbcf.drivers[2].url: required: the driver's webhook server, an http or https URL such as http://lbcf-clb-driver.kube-system.svc`,
			`addons/a.yaml:14:13: spec.lbcf.drivers[2].name: "CLB" is not a valid LoadBalancerDriver name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
	},
	{
		name: "Galaxy flannel backend and floating IPs without IPAM",
		files: map[string]string{
			"addons/galaxy.yaml": addonFile("galaxy", "  type: Galaxy\n  selector: {}\n  galaxy: {flannelBackend: udp}\n"),
		},
		want: []string{
			`addons/galaxy.yaml:7:13: spec.selector: cluster "fip" uses network mode floatingIP, which needs a GalaxyIPAM addon on the cluster to allocate the IPs`,
			`addons/galaxy.yaml:8:28: spec.galaxy.flannelBackend: unknown value "udp"; expected one of: ipip, host-gw, vxlan`,
		},
	},
	{
		name: "GalaxyIPAM needs Galaxy on the same clusters",
		files: map[string]string{
			"addons/galaxy.yaml": addonFile("galaxy", "  type: Galaxy\n  clusters: [fip]\n"),
			"addons/ipam.yaml": addonFile("ipam", `  type: GalaxyIPAM
  clusters: [fip, dev]
  galaxyIPAM:
    pools:
    - routableSubnet: 172.21.64.0/20
      ips: [192.168.64.10]
      subnet: 192.168.64.0/24
      gateway: 192.168.64.1
`),
		},
		want: []string{
			`addons/ipam.yaml:7:19: spec.clusters[1]: GalaxyIPAM needs a Galaxy addon on the same cluster, and none targets cluster "dev"`,
		},
	},
	{
		name: "floating IP pools",
		files: map[string]string{
			"addons/galaxy.yaml": addonFile("galaxy", "  type: Galaxy\n  clusters: [fip]\n"),
			"addons/ipam.yaml": addonFile("ipam", `  type: GalaxyIPAM
  clusters: [fip]
  galaxyIPAM:
    pools:
    - routableSubnet: 172.21.64.1/20
      ips: ["192.168.64.200~192.168.64.251", "192.168.64.251~192.168.64.240", 192.168.65.5, 192.168.64.1, "192.168.64.300"]
      subnet: 192.168.64.0/24
      gateway: 192.168.65.1
      vlan: 5000
    - ips: ["192.168.64.250~192.168.64.254", "192.168.64.0~192.168.64.3"]
      subnet: 192.168.64.0/24
      gateway: 192.168.64.1
    - routableSubnet: 10.0.0.0/8
      subnet: 10.1.0.0/16
      gateway: 10.1.0.256
`),
		},
		want: []string{
			`addons/ipam.yaml:10:23: spec.galaxyIPAM.pools[0].routableSubnet: 172.21.64.1/20 has host bits set; write the network as 172.21.64.0/20`,
			`addons/ipam.yaml:11:46: spec.galaxyIPAM.pools[0].ips[1]: range 192.168.64.251~192.168.64.240 ends before it starts; write the lower address first`,
			`addons/ipam.yaml:11:79: spec.galaxyIPAM.pools[0].ips[2]: 192.168.65.5 is not in the pool's subnet 192.168.64.0/24`,
			`addons/ipam.yaml:11:107: spec.galaxyIPAM.pools[0].ips[4]: "192.168.64.300" is neither an IP address nor a range such as 192.168.64.200~192.168.64.251`,
			`addons/ipam.yaml:13:16: spec.galaxyIPAM.pools[0].gateway: gateway 192.168.65.1 is not in the pool's subnet 192.168.64.0/24`,
			`addons/ipam.yaml:14:13: spec.galaxyIPAM.pools[0].vlan: a VLAN ID is 0 (none) to 4094, found 5000`,
			`addons/ipam.yaml:15:7: spec.galaxyIPAM.pools[1].routableSubnet: required: the node subnet these IPs can be used from, a CIDR such as 192.168.64.0/24`,
			`addons/ipam.yaml:15:13: spec.galaxyIPAM.pools[1].ips[0]: 192.168.64.250~192.168.64.254 overlaps 192.168.64.200~192.168.64.251 (spec.galaxyIPAM.pools[0].ips[0]); an IP belongs to one pool entry`,
			`addons/ipam.yaml:15:46: spec.galaxyIPAM.pools[1].ips[1]: 192.168.64.0~192.168.64.3 includes the gateway 192.168.64.1; a pod must not be given the gateway's address`,
			`addons/ipam.yaml:15:46: spec.galaxyIPAM.pools[1].ips[1]: 192.168.64.0~192.168.64.3 overlaps 192.168.64.1 (spec.galaxyIPAM.pools[0].ips[3]); an IP belongs to one pool entry`,
			`addons/ipam.yaml:18:7: spec.galaxyIPAM.pools[2].ips: required: the pod IPs to hand out, single IPs or ranges such as 192.168.64.200~192.168.64.251`,
			`addons/ipam.yaml:20:16: spec.galaxyIPAM.pools[2].gateway: "10.1.0.256" is not an IP address`,
		},
	},
	{
		name: "GalaxyIPAM with no pools",
		files: map[string]string{
			"addons/galaxy.yaml": addonFile("galaxy", "  type: Galaxy\n  clusters: [fip]\n"),
			"addons/ipam.yaml":   addonFile("ipam", "  type: GalaxyIPAM\n  clusters: [fip]\n  galaxyIPAM: {pools: []}\n"),
		},
		want: []string{
			`addons/ipam.yaml:8:23: spec.galaxyIPAM.pools: declare at least one floating IP pool: {routableSubnet, ips, subnet, gateway}`,
		},
	},
	{
		name: "a literal secret and an unknown field",
		files: map[string]string{"addons/a.yaml": addonFile("a", `  type: CSIOperator
  clusters: [dev]
  csiOperator:
    drivers:
    - type: TencentCBS
      secretID: AKIDxxxxxxxx
      secretKey: {env: TC_KEY}
      region: ap-guangzhou
`)},
		want: []string{
			`addons/a.yaml:11:17: spec.csiOperator.drivers[0].secretID: a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
			`addons/a.yaml:13:7: spec.csiOperator.drivers[0].region: unknown field "region"; expected one of: secretID, secretKey, storageClasses, type`,
		},
	},
}

func TestAddonErrors(t *testing.T) {
	for _, tc := range addonErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.Context(), repoFS(addonRepo(tc.files)))
			var got []string
			for _, e := range AsErrorList(err) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
