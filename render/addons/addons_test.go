package addons

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// clusters are the member clusters of the test fleet: a plain one, a vGPU and a pGPU
// one, the Global cluster and a floating-IP one on another NIC.
var clusters = map[string]string{
	"clusters/dev.yaml":    "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n  labels: {env: dev}\nspec:\n  version: 1.18.3\n  network: {clusterCIDR: 172.16.0.0/16}\n",
	"clusters/gpu-v.yaml":  "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gpu-v\nspec:\n  version: 1.18.3\n  gpuType: vGPU\n",
	"clusters/gpu-p.yaml":  "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gpu-p\nspec:\n  gpuType: pGPU\n",
	"clusters/global.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: global\n",
	"clusters/fip.yaml":    "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: fip\nspec:\n  networkDevice: eth1\n  network: {mode: floatingIP, clusterCIDR: 172.18.0.0/16}\n",
}

// addonFile is an Addon document; spec's lines start at line 6.
func addonFile(name, spec string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: Addon\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// typeCase is one representative Addon of a type and what it must render on a cluster.
type typeCase struct {
	// name tells apart several cases of one type; it is the type's name when empty.
	name    string
	typ     schema.AddonType
	cluster string
	addon   string // the Addon document
	// companion is another Addon the type needs on the cluster (Galaxy and GalaxyIPAM
	// need each other on a floating-IP cluster).
	companion string
	// objects is the render's full list, in order: "Kind namespace/name".
	objects []string
	// images is every container's image, keyed "Kind/name/container".
	images map[string]string
	// resources is every container's resources that has any, keyed as images, written
	// "requests cpu=…,memory=… limits cpu=…,memory=…".
	resources map[string]string
}

const tkestack = "docker.io/tkestack/"

var ipamAddon = addonFile("galaxy-ipam", `  type: GalaxyIPAM
  clusters: [fip]
  galaxyIPAM:
    pools:
    - routableSubnet: 172.21.64.0/20
      ips: ["192.168.64.200~192.168.64.251"]
      subnet: 192.168.64.0/24
      gateway: 192.168.64.1
    - routableSubnet: 172.21.80.0/20
      ips: ["192.168.65.2~192.168.65.100", 192.168.65.120]
      subnet: 192.168.65.0/24
      gateway: 192.168.65.1
      vlan: 2
`)

var cases = []typeCase{{
	typ: schema.AddonTApp, cluster: "dev",
	addon: addonFile("tapp", "  type: TApp\n  clusters: [dev]\n"),
	objects: []string{
		"CustomResourceDefinition tapps.apps.tkestack.io",
		"ServiceAccount kube-system/tapp-controller",
		"ClusterRoleBinding tapp-controller",
		"Deployment kube-system/tapp-controller",
		"Service kube-system/tapp-controller",
	},
	images:    map[string]string{"Deployment/tapp-controller/tapp-controller": tkestack + "tapp-controller:v1.1.1"},
	resources: map[string]string{"Deployment/tapp-controller/tapp-controller": "requests cpu=1,memory=512Mi limits cpu=1,memory=512Mi"},
}, {
	// An Addon's own resources are used as written; spec.images changes one tag.
	typ: schema.AddonCronHPA, cluster: "dev",
	addon: addonFile("cronhpa", `  type: CronHPA
  clusters: [dev]
  images:
    cron-hpa-controller: {tag: v1.0.1}
  resources:
    cron-hpa-controller:
      requests: {cpu: 250m, memory: 128Mi}
      limits: {memory: 512Mi}
`),
	objects: []string{
		"CustomResourceDefinition cronhpas.extensions.tkestack.io",
		"ServiceAccount kube-system/cron-hpa-controller",
		"ClusterRoleBinding cron-hpa-controller",
		"Deployment kube-system/cron-hpa-controller",
	},
	images:    map[string]string{"Deployment/cron-hpa-controller/cron-hpa-controller": tkestack + "cron-hpa-controller:v1.0.1"},
	resources: map[string]string{"Deployment/cron-hpa-controller/cron-hpa-controller": "requests cpu=250m,memory=128Mi limits memory=512Mi"},
}, {
	// Elasticsearch storage: prometheusbeat with the login from a Secret.
	typ: schema.AddonMonitoring, cluster: "dev",
	addon: addonFile("monitoring", `  type: Monitoring
  clusters: [dev]
  monitoring:
    storage: elasticsearch
    elasticsearch:
      address: https://es.example.com:9200
      index: metrics
      esVersion: 7.5.1
      username: {secret: {name: es, key: username}}
      password: {secret: {name: es, key: password}}
    retention: 720h
`),
	objects: []string{
		"CustomResourceDefinition alertmanagerconfigs.monitoring.coreos.com",
		"CustomResourceDefinition alertmanagers.monitoring.coreos.com",
		"CustomResourceDefinition podmonitors.monitoring.coreos.com",
		"CustomResourceDefinition prometheuses.monitoring.coreos.com",
		"CustomResourceDefinition prometheusrules.monitoring.coreos.com",
		"CustomResourceDefinition servicemonitors.monitoring.coreos.com",
		"ServiceAccount kube-system/kube-state-metrics",
		"ServiceAccount kube-system/node-exporter",
		"ServiceAccount kube-system/prometheus",
		"ServiceAccount kube-system/prometheus-operator",
		"ClusterRole kube-state-metrics",
		"ClusterRole prometheus",
		"ClusterRole prometheus-operator",
		"ClusterRoleBinding kube-state-metrics",
		"ClusterRoleBinding prometheus",
		"ClusterRoleBinding prometheus-operator",
		"DaemonSet kube-system/node-exporter",
		"Deployment kube-system/kube-state-metrics",
		"Deployment kube-system/prometheus-operator",
		"Deployment kube-system/prometheusbeat",
		"Alertmanager kube-system/main",
		"Prometheus kube-system/k8s",
		"ConfigMap kube-system/prometheusbeat",
		"Secret kube-system/alertmanager-main",
		"Secret kube-system/prometheus-additional-scrape-configs",
		"Service kube-system/kube-state-metrics",
		"Service kube-system/prometheusbeat",
	},
	images: map[string]string{
		"DaemonSet/node-exporter/node-exporter":                       tkestack + "node-exporter:v0.18.1",
		"Deployment/kube-state-metrics/kube-state-metrics":            tkestack + "kube-state-metrics:v1.9.5",
		"Deployment/prometheus-operator/prometheus-operator":          tkestack + "prometheus-operator:v0.31.1",
		"Deployment/prometheusbeat/prometheusbeat":                    tkestack + "prometheusbeat:6.4.1",
		"Prometheus/k8s/image":                                        tkestack + "prometheus:v2.16.0",
		"Alertmanager/main/image":                                     tkestack + "alertmanager:v0.18.0",
		"Deployment/prometheus-operator/--prometheus-config-reloader": tkestack + "prometheus-config-reloader:v0.31.1",
		"Deployment/prometheus-operator/--config-reloader-image":      tkestack + "configmap-reload:v0.1",
	},
}, {
	// The default storage: TKEStack's own InfluxDB in the cluster.
	name: "Monitoring-influxdb", typ: schema.AddonMonitoring, cluster: "dev",
	addon: addonFile("monitoring", "  type: Monitoring\n  clusters: [dev]\n"),
	objects: []string{
		"CustomResourceDefinition alertmanagerconfigs.monitoring.coreos.com",
		"CustomResourceDefinition alertmanagers.monitoring.coreos.com",
		"CustomResourceDefinition podmonitors.monitoring.coreos.com",
		"CustomResourceDefinition prometheuses.monitoring.coreos.com",
		"CustomResourceDefinition prometheusrules.monitoring.coreos.com",
		"CustomResourceDefinition servicemonitors.monitoring.coreos.com",
		"ServiceAccount kube-system/kube-state-metrics",
		"ServiceAccount kube-system/node-exporter",
		"ServiceAccount kube-system/prometheus",
		"ServiceAccount kube-system/prometheus-operator",
		"ClusterRole kube-state-metrics",
		"ClusterRole prometheus",
		"ClusterRole prometheus-operator",
		"ClusterRoleBinding kube-state-metrics",
		"ClusterRoleBinding prometheus",
		"ClusterRoleBinding prometheus-operator",
		"DaemonSet kube-system/node-exporter",
		"Deployment kube-system/influxdb",
		"Deployment kube-system/kube-state-metrics",
		"Deployment kube-system/prometheus-operator",
		"Alertmanager kube-system/main",
		"Prometheus kube-system/k8s",
		"Secret kube-system/alertmanager-main",
		"Secret kube-system/prometheus-additional-scrape-configs",
		"Service kube-system/influxdb",
		"Service kube-system/kube-state-metrics",
	},
	images: map[string]string{
		"DaemonSet/node-exporter/node-exporter":                       tkestack + "node-exporter:v0.18.1",
		"Deployment/influxdb/influxdb":                                tkestack + "influxdb-amd64:1.7.9",
		"Deployment/kube-state-metrics/kube-state-metrics":            tkestack + "kube-state-metrics:v1.9.5",
		"Deployment/prometheus-operator/prometheus-operator":          tkestack + "prometheus-operator:v0.31.1",
		"Prometheus/k8s/image":                                        tkestack + "prometheus:v2.16.0",
		"Alertmanager/main/image":                                     tkestack + "alertmanager:v0.18.0",
		"Deployment/prometheus-operator/--prometheus-config-reloader": tkestack + "prometheus-config-reloader:v0.31.1",
		"Deployment/prometheus-operator/--config-reloader-image":      tkestack + "configmap-reload:v0.1",
	},
}, {
	// An external InfluxDB is written to directly, with its login from a Secret; the
	// addon's own resources for kube-state-metrics.
	name: "Monitoring-external-influxdb", typ: schema.AddonMonitoring, cluster: "dev",
	addon: addonFile("monitoring", `  type: Monitoring
  clusters: [dev]
  resources:
    kube-state-metrics:
      requests: {cpu: 100m, memory: 200Mi}
  monitoring:
    storage: influxdb
    influxdb:
      address: http://10.0.0.5:8086/
      username: {secret: {name: influxdb, key: username}}
      password: {secret: {name: influxdb, key: password}}
    retention: 36h
`),
	objects: []string{
		"CustomResourceDefinition alertmanagerconfigs.monitoring.coreos.com",
		"CustomResourceDefinition alertmanagers.monitoring.coreos.com",
		"CustomResourceDefinition podmonitors.monitoring.coreos.com",
		"CustomResourceDefinition prometheuses.monitoring.coreos.com",
		"CustomResourceDefinition prometheusrules.monitoring.coreos.com",
		"CustomResourceDefinition servicemonitors.monitoring.coreos.com",
		"ServiceAccount kube-system/kube-state-metrics",
		"ServiceAccount kube-system/node-exporter",
		"ServiceAccount kube-system/prometheus",
		"ServiceAccount kube-system/prometheus-operator",
		"ClusterRole kube-state-metrics",
		"ClusterRole prometheus",
		"ClusterRole prometheus-operator",
		"ClusterRoleBinding kube-state-metrics",
		"ClusterRoleBinding prometheus",
		"ClusterRoleBinding prometheus-operator",
		"DaemonSet kube-system/node-exporter",
		"Deployment kube-system/kube-state-metrics",
		"Deployment kube-system/prometheus-operator",
		"Alertmanager kube-system/main",
		"Prometheus kube-system/k8s",
		"Secret kube-system/alertmanager-main",
		"Secret kube-system/prometheus-additional-scrape-configs",
		"Service kube-system/kube-state-metrics",
	},
	images: map[string]string{
		"DaemonSet/node-exporter/node-exporter":                       tkestack + "node-exporter:v0.18.1",
		"Deployment/kube-state-metrics/kube-state-metrics":            tkestack + "kube-state-metrics:v1.9.5",
		"Deployment/prometheus-operator/prometheus-operator":          tkestack + "prometheus-operator:v0.31.1",
		"Prometheus/k8s/image":                                        tkestack + "prometheus:v2.16.0",
		"Alertmanager/main/image":                                     tkestack + "alertmanager:v0.18.0",
		"Deployment/prometheus-operator/--prometheus-config-reloader": tkestack + "prometheus-config-reloader:v0.31.1",
		"Deployment/prometheus-operator/--config-reloader-image":      tkestack + "configmap-reload:v0.1",
	},
	resources: map[string]string{"Deployment/kube-state-metrics/kube-state-metrics": "requests cpu=100m,memory=200Mi"},
}, {
	typ: schema.AddonLogAgent, cluster: "dev",
	addon: addonFile("logagent", "  type: LogAgent\n  selector: {matchLabels: {env: dev}}\n"),
	objects: []string{
		"ServiceAccount kube-system/logagent",
		"ClusterRole logagent",
		"ClusterRoleBinding logagent",
		"DaemonSet kube-system/logagent",
	},
	images: map[string]string{
		"DaemonSet/logagent/logagent": tkestack + "log-agent:v1.1.0",
		"DaemonSet/logagent/log-file": tkestack + "log-file:v1.1.0",
	},
	resources: map[string]string{"DaemonSet/logagent/logagent": "requests cpu=300m,memory=250Mi limits cpu=300m,memory=250Mi"},
}, {
	typ: schema.AddonGPUManager, cluster: "gpu-v",
	addon: addonFile("gpu-manager", `  type: GPUManager
  clusters: [gpu-v]
  images:
    gpu-quota-admission: {tag: v1.0.1}
  gpuManager: {metricsPort: 5679}
`),
	objects: []string{
		"ServiceAccount kube-system/gpu-manager",
		"ServiceAccount kube-system/gpu-quota-admission",
		"ClusterRole gpu-manager",
		"ClusterRole gpu-quota-admission",
		"ClusterRoleBinding gpu-manager",
		"ClusterRoleBinding gpu-quota-admission",
		"DaemonSet kube-system/gpu-manager-daemonset",
		"Deployment kube-system/gpu-quota-admission",
		"Service kube-system/gpu-manager-metric",
	},
	images: map[string]string{
		"DaemonSet/gpu-manager-daemonset/gpu-manager":        "docker.io/gitfleet/gitfleet-gpu:" + DefaultPluginVersion,
		"Deployment/gpu-quota-admission/gpu-quota-admission": tkestack + "gpu-quota-admission:v1.0.1",
	},
	resources: map[string]string{
		"DaemonSet/gpu-manager-daemonset/gpu-manager":        "requests cpu=1,memory=1Gi limits cpu=1,memory=1Gi",
		"Deployment/gpu-quota-admission/gpu-quota-admission": "requests cpu=1,memory=1Gi limits cpu=1,memory=1Gi",
	},
}, {
	// spec.registry moves every image to a private mirror.
	typ: schema.AddonNvidiaDevicePlugin, cluster: "gpu-p",
	addon: addonFile("nvidia", "  type: NvidiaDevicePlugin\n  clusters: [gpu-p]\n  registry: registry.example.com:5000/library\n"),
	objects: []string{
		"DaemonSet kube-system/nvidia-device-plugin-daemonset",
	},
	images:    map[string]string{"DaemonSet/nvidia-device-plugin-daemonset/nvidia-device-plugin": "registry.example.com:5000/library/nvidia-device-plugin:1.0.0-beta4"},
	resources: map[string]string{"DaemonSet/nvidia-device-plugin-daemonset/nvidia-device-plugin": "requests cpu=1,memory=1Gi limits cpu=1,memory=1Gi"},
}, {
	typ: schema.AddonCSIOperator, cluster: "dev",
	addon: addonFile("csi", `  type: CSIOperator
  clusters: [dev]
  csiOperator:
    drivers:
    - type: TencentCBS
      secretID: {secret: {name: tencent-cloud, key: secretID}}
      secretKey: {secret: {name: tencent-cloud, key: secretKey}}
    - type: RBD
`),
	objects: []string{
		"CustomResourceDefinition csis.storage.tkestack.io",
		"ServiceAccount kube-system/csi-operator",
		"ClusterRoleBinding csi-operator",
		"Deployment kube-system/csi-operator",
		"StorageClass cbs-basic-prepaid",
		"CSI kube-system/rbdv1",
		"CSI kube-system/tencentcbsv1",
	},
	images:    map[string]string{"Deployment/csi-operator/csi-operator": tkestack + "csi-operator:v1.0.2"},
	resources: map[string]string{"Deployment/csi-operator/csi-operator": "requests cpu=200m,memory=256Mi limits cpu=200m,memory=256Mi"},
}, {
	typ: schema.AddonLBCF, cluster: "dev",
	addon: addonFile("lbcf", `  type: LBCF
  clusters: [dev]
  lbcf:
    drivers:
    - {name: lbcf-clb-driver, url: "http://lbcf-clb-driver.kube-system.svc"}
`),
	objects: []string{
		"CustomResourceDefinition backendgroups.lbcf.tkestack.io",
		"CustomResourceDefinition backendrecords.lbcf.tkestack.io",
		"CustomResourceDefinition loadbalancerdrivers.lbcf.tkestack.io",
		"CustomResourceDefinition loadbalancers.lbcf.tkestack.io",
		"ServiceAccount kube-system/lbcf-controller",
		"ClusterRole lbcf-controller",
		"ClusterRoleBinding lbcf-controller",
		"MutatingWebhookConfiguration lbcf-mutate",
		"ValidatingWebhookConfiguration lbcf-validate",
		"Deployment kube-system/lbcf-controller",
		"LoadBalancerDriver kube-system/lbcf-clb-driver",
		"Secret kube-system/lbcf-controller",
		"Service kube-system/lbcf-controller",
	},
	images: map[string]string{"Deployment/lbcf-controller/controller": tkestack + "lbcf-controller:v1.0.0.rc.2"},
}, {
	// Per-architecture images and gitfleet's CNI image from the Addon's registry.
	typ: schema.AddonGalaxy, cluster: "fip",
	addon: addonFile("galaxy", `  type: Galaxy
  clusters: [fip]
  registry: registry.example.com/tke
  galaxy: {flannelBackend: vxlan}
`),
	companion: ipamAddon,
	objects: []string{
		"ServiceAccount kube-system/galaxy",
		"ClusterRole galaxy",
		"ClusterRoleBinding galaxy",
		"DaemonSet kube-system/galaxy-daemonset",
		"ConfigMap kube-system/galaxy-cni-config",
	},
	images: map[string]string{
		"DaemonSet/galaxy-daemonset/galaxy":  "registry.example.com/tke/gitfleet-cni:" + DefaultPluginVersion,
		"DaemonSet/galaxy-daemonset/flannel": "registry.example.com/tke/flannel-amd64:v0.10.0",
	},
}, {
	typ: schema.AddonGalaxyIPAM, cluster: "fip",
	addon:     ipamAddon,
	companion: addonFile("galaxy", "  type: Galaxy\n  clusters: [fip]\n"),
	objects: []string{
		"CustomResourceDefinition floatingips.galaxy.k8s.io",
		"ServiceAccount kube-system/galaxy-ipam",
		"ClusterRole galaxy-ipam",
		"ClusterRoleBinding galaxy-ipam",
		"Deployment kube-system/galaxy-ipam",
		"ConfigMap kube-system/floatingip-config",
		"ConfigMap kube-system/galaxy-ipam-etc",
	},
	images: map[string]string{"Deployment/galaxy-ipam/galaxy-ipam": tkestack + "galaxy-ipam-amd64:v1.0.6"},
}, {
	typ: schema.AddonPersistentEvent, cluster: "dev",
	addon: addonFile("persistent-event", `  type: PersistentEvent
  clusters: [dev]
  persistentEvent:
    address: http://190.0.0.1:200
    index: k8s-events
    esVersion: 7.5.1
    username: {secret: {name: es-credentials, key: username}}
    password: {secret: {name: es-credentials, key: password, namespace: kube-system}}
`),
	objects: []string{
		"ServiceAccount kube-system/tke-event-watcher",
		"ClusterRole tke-event-watcher",
		"ClusterRoleBinding tke-event-watcher",
		"Deployment kube-system/tke-persistent-event",
		"ConfigMap kube-system/tke-persistent-event",
	},
	images: map[string]string{
		"Deployment/tke-persistent-event/tke-persistent-event-watcher": tkestack + "tke-event-watcher:v0.1",
		"Deployment/tke-persistent-event/tke-persistent-event-fluentd": tkestack + "log-collector:v1.1.0",
	},
	resources: map[string]string{"Deployment/tke-persistent-event/tke-persistent-event-watcher": "requests cpu=200m,memory=100Mi limits cpu=200m,memory=100Mi"},
}, {
	typ: schema.AddonAudit, cluster: "global",
	addon: addonFile("audit", `  type: Audit
  clusters: [global]
  audit:
    address: http://190.0.0.1:200
    index: tke-audit
`),
	objects: []string{
		"Namespace tke",
		"ServiceAccount tke/tke-audit-api",
		"Role tke/tke-audit-api",
		"RoleBinding tke/tke-audit-api",
		"Deployment tke/tke-audit-api",
		"ConfigMap tke/tke-audit-api",
		"Service tke/tke-audit-api",
	},
	images: map[string]string{"Deployment/tke-audit-api/tke-audit-api": tkestack + "tke-audit-api-amd64:v1.5.0"},
}, {
	typ: schema.AddonMetricsServer, cluster: "dev",
	addon: addonFile("metrics-server", "  type: MetricsServer\n  clusters: [dev]\n"),
	objects: []string{
		"ServiceAccount kube-system/metrics-server",
		"ClusterRole system:aggregated-metrics-reader",
		"ClusterRole system:metrics-server",
		"ClusterRoleBinding metrics-server:system:auth-delegator",
		"ClusterRoleBinding system:metrics-server",
		"RoleBinding kube-system/metrics-server-auth-reader",
		"APIService v1beta1.metrics.k8s.io",
		"Deployment kube-system/metrics-server",
		"Service kube-system/metrics-server",
	},
	images: map[string]string{"Deployment/metrics-server/metrics-server": tkestack + "metrics-server-amd64:v0.3.6"},
}}

// label names a case in subtests and golden files.
func (tc typeCase) label() string {
	if tc.name != "" {
		return tc.name
	}
	return string(tc.typ)
}

// loadRepo loads the test clusters plus the given files as a fleet repository.
func loadRepo(t *testing.T, files map[string]string) *schema.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, content := range clusters {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	repo, err := schema.Load(t.Context(), fsys)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return repo
}

// renderCase loads a case's Addon and renders it for its cluster.
func renderCase(t *testing.T, tc typeCase) []*unstructured.Unstructured {
	t.Helper()
	files := map[string]string{"addons/addon.yaml": tc.addon}
	if tc.companion != "" {
		files["addons/companion.yaml"] = tc.companion
	}
	repo := loadRepo(t, files)
	i := slices.IndexFunc(repo.Addons, func(a *schema.Addon) bool { return a.Origin.File == "addons/addon.yaml" })
	if i < 0 || repo.Addons[i].Spec.Type != tc.typ {
		t.Fatalf("the case's Addon is not one %s", tc.typ)
	}
	objs, err := Render(repo.Addons[i], repo.Cluster(tc.cluster))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return objs
}

func TestRender(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.label(), func(t *testing.T) {
			objs := renderCase(t, tc)
			var got []string
			for _, u := range objs {
				got = append(got, id(u))
			}
			if diff := cmp.Diff(tc.objects, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.images, images(objs)); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if tc.resources == nil {
				tc.resources = map[string]string{}
			}
			if diff := cmp.Diff(tc.resources, resources(t, objs)); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			checkLabels(t, objs, tc.addon)
			golden(t, strings.ToLower(tc.label()), objs)
		})
	}
}

// TestRenderHasSeedObjects checks every case against the seed's table of addon objects
// as schema.AddonCatalog holds it: each object and CRD the seed names is rendered, with
// the seed's kind, name and namespace.
func TestRenderHasSeedObjects(t *testing.T) {
	covered := map[schema.AddonType]bool{}
	for _, tc := range cases {
		covered[tc.typ] = true
		t.Run(tc.label(), func(t *testing.T) {
			info := schema.AddonCatalog[tc.typ]
			var want []string
			for _, o := range info.Objects {
				want = append(want, id(object(o.Kind, o.Namespace, o.Name)))
			}
			for _, crd := range info.CRDs {
				want = append(want, "CustomResourceDefinition "+crd)
			}
			for _, w := range want {
				if !slices.Contains(tc.objects, w) {
					t.Errorf("the seed's %s is not rendered", w)
				}
			}
		})
	}
	for _, typ := range schema.AddonTypes() {
		if !covered[typ] {
			t.Errorf("addon type %s has no test case", typ)
		}
		if _, ok := builders[typ]; !ok {
			t.Errorf("addon type %s has no builder", typ)
		}
	}
}

// TestCRDsAreStructural checks every CRD's schemas with the API server's own structural
// schema rules.
func TestCRDsAreStructural(t *testing.T) {
	for _, tc := range cases {
		for _, u := range renderCase(t, tc) {
			if u.GetKind() != "CustomResourceDefinition" {
				continue
			}
			var crd apiextv1.CustomResourceDefinition
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
				t.Fatalf("%s: %v", u.GetName(), err)
			}
			for _, v := range crd.Spec.Versions {
				var internal apiextensions.JSONSchemaProps
				if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
					t.Fatalf("%s %s: %v", u.GetName(), v.Name, err)
				}
				s, err := structuralschema.NewStructural(&internal)
				if err != nil {
					t.Errorf("%s %s: %v", u.GetName(), v.Name, err)
					continue
				}
				if errs := structuralschema.ValidateStructural(field.NewPath("spec", "versions").Key(v.Name).Child("schema", "openAPIV3Schema"), s); len(errs) > 0 {
					t.Errorf("%s %s is not structural: %v", u.GetName(), v.Name, errs.ToAggregate())
				}
			}
		}
	}
}

// TestRenderParameters checks what each type's parameters become in the cluster.
func TestRenderParameters(t *testing.T) {
	get := func(t *testing.T, typ schema.AddonType, kind, name string) *unstructured.Unstructured {
		t.Helper()
		for _, tc := range cases {
			if tc.typ != typ || tc.name != "" {
				continue
			}
			for _, u := range renderCase(t, tc) {
				if u.GetKind() == kind && u.GetName() == name {
					return u
				}
			}
		}
		t.Fatalf("%s renders no %s %s", typ, kind, name)
		return nil
	}
	str := func(u *unstructured.Unstructured, path ...string) string {
		s, _, _ := unstructured.NestedString(u.Object, path...)
		return s
	}

	t.Run("GalaxyIPAM pools in the seed's format", func(t *testing.T) {
		cm := get(t, schema.AddonGalaxyIPAM, "ConfigMap", "floatingip-config")
		want := `[{"routableSubnet":"172.21.64.0/20","ips":["192.168.64.200~192.168.64.251"],"subnet":"192.168.64.0/24","gateway":"192.168.64.1"},` +
			`{"routableSubnet":"172.21.80.0/20","ips":["192.168.65.2~192.168.65.100","192.168.65.120"],"subnet":"192.168.65.0/24","gateway":"192.168.65.1","vlan":2}]`
		if got := str(cm, "data", "floatingips"); got != want {
			t.Errorf("floatingips\n got %s\nwant %s", got, want)
		}
	})
	t.Run("Galaxy network from the cluster and the addon", func(t *testing.T) {
		cm := get(t, schema.AddonGalaxy, "ConfigMap", "galaxy-cni-config")
		conf := str(cm, "data", "00-galaxy.conflist")
		for _, want := range []string{`"defaultMode": "floatingIP"`, `"backend": "vxlan"`, `"device": "eth1"`, `"type": "gitfleet-cni"`} {
			if !strings.Contains(conf, want) {
				t.Errorf("conflist lacks %s:\n%s", want, conf)
			}
		}
		if nc := str(cm, "data", "net-conf.json"); !strings.Contains(nc, `"Network": "172.18.0.0/16"`) || !strings.Contains(nc, `"Type": "vxlan"`) {
			t.Errorf("net-conf.json: %s", nc)
		}
	})
	t.Run("Monitoring retention, rules and storage", func(t *testing.T) {
		p := get(t, schema.AddonMonitoring, "Prometheus", "k8s")
		if got := str(p, "spec", "retention"); got != "30d" {
			t.Errorf("retention %q, want 30d", got)
		}
		if got := str(p, "spec", "ruleSelector", "matchLabels", "gitfleet.dev/alerting"); got != "true" {
			t.Errorf("ruleSelector gitfleet.dev/alerting %q, want \"true\"", got)
		}
		rw, _, _ := unstructured.NestedSlice(p.Object, "spec", "remoteWrite")
		if len(rw) != 1 || rw[0].(map[string]any)["url"] != prometheusbeatURL {
			t.Errorf("remoteWrite %v, want prometheusbeat", rw)
		}
		svc := get(t, schema.AddonMonitoring, "Service", "kube-state-metrics")
		if got := svc.GetAnnotations()["prometheus.io/scrape"]; got != "true" {
			t.Errorf("kube-state-metrics Service prometheus.io/scrape %q, want 'true'", got)
		}
		beat := get(t, schema.AddonMonitoring, "Deployment", "prometheusbeat")
		checkSecretEnv(t, beat, "ES_PASSWORD", "es", "password")
	})
	t.Run("Monitoring with an external InfluxDB", func(t *testing.T) {
		i := slices.IndexFunc(cases, func(tc typeCase) bool { return tc.name == "Monitoring-external-influxdb" })
		objs := renderCase(t, cases[i])
		p := objs[slices.IndexFunc(objs, func(u *unstructured.Unstructured) bool { return u.GetKind() == "Prometheus" })]
		if got := str(p, "spec", "retention"); got != "36h" {
			t.Errorf("retention %q, want 36h", got)
		}
		rw, _, _ := unstructured.NestedSlice(p.Object, "spec", "remoteWrite")
		want := []any{map[string]any{
			"url": "http://10.0.0.5:8086/api/v1/prom/write?db=prometheus",
			"basicAuth": map[string]any{
				"username": map[string]any{"name": "influxdb", "key": "username"},
				"password": map[string]any{"name": "influxdb", "key": "password"},
			},
		}}
		if diff := cmp.Diff(want, rw); diff != "" {
			t.Errorf("remoteWrite (-want +got):\n%s", diff)
		}
	})
	t.Run("GPUManager metrics port", func(t *testing.T) {
		svc := get(t, schema.AddonGPUManager, "Service", "gpu-manager-metric")
		ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
		if port := ports[0].(map[string]any)["port"]; port != int64(5679) {
			t.Errorf("gpu-manager-metric port %v, want 5679", port)
		}
	})
	t.Run("CSI drivers, StorageClass and key", func(t *testing.T) {
		cbs := get(t, schema.AddonCSIOperator, "CSI", "tencentcbsv1")
		if got := str(cbs, "spec", "driverName"); got != "com.tencent.cloud.csi.cbs" {
			t.Errorf("driverName %q", got)
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(cbs.Object, "spec", "parameters"); found {
			t.Errorf("the CSI object carries parameters; the key must reach the operator only by reference")
		}
		sc := get(t, schema.AddonCSIOperator, "StorageClass", "cbs-basic-prepaid")
		if str(sc, "provisioner") != "com.tencent.cloud.csi.cbs" || str(sc, "parameters", "diskType") != "CLOUD_BASIC" {
			t.Errorf("StorageClass %v", sc.Object)
		}
		checkSecretEnv(t, get(t, schema.AddonCSIOperator, "Deployment", "csi-operator"), "TENCENTCLOUD_SECRET_KEY", "tencent-cloud", "secretKey")
	})
	t.Run("LBCF webhooks", func(t *testing.T) {
		for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
			name := map[string]string{"MutatingWebhookConfiguration": "lbcf-mutate", "ValidatingWebhookConfiguration": "lbcf-validate"}[kind]
			hooks, _, _ := unstructured.NestedSlice(get(t, schema.AddonLBCF, kind, name).Object, "webhooks")
			for _, h := range hooks {
				h := h.(map[string]any)
				svc, _, _ := unstructured.NestedMap(h, "clientConfig", "service")
				if h["failurePolicy"] != "Fail" || svc["name"] != "lbcf-controller" || svc["namespace"] != "kube-system" {
					t.Errorf("%s webhook %v: want failurePolicy Fail and service lbcf-controller.kube-system", name, h["name"])
				}
				if _, found, _ := unstructured.NestedFieldNoCopy(h, "clientConfig", "caBundle"); found {
					t.Errorf("%s webhook %v has a caBundle", name, h["name"])
				}
			}
		}
		secret := get(t, schema.AddonLBCF, "Secret", "lbcf-controller")
		if _, found := secret.Object["data"]; found {
			t.Errorf("the lbcf-controller Secret carries data")
		}
		if got := str(get(t, schema.AddonLBCF, "LoadBalancerDriver", "lbcf-clb-driver"), "spec", "url"); got != "http://lbcf-clb-driver.kube-system.svc" {
			t.Errorf("driver url %q", got)
		}
	})
	t.Run("PersistentEvent Elasticsearch", func(t *testing.T) {
		conf := str(get(t, schema.AddonPersistentEvent, "ConfigMap", "tke-persistent-event"), "data", "fluentd.conf")
		for _, want := range []string{"host 190.0.0.1", "port 200", "scheme http", "index_name k8s-events", `password "#{ENV['ES_PASSWORD']}"`} {
			if !strings.Contains(conf, want) {
				t.Errorf("fluentd.conf lacks %q:\n%s", want, conf)
			}
		}
		checkSecretEnv(t, get(t, schema.AddonPersistentEvent, "Deployment", "tke-persistent-event"), "ES_USERNAME", "es-credentials", "username")
	})
	t.Run("CRDs and the tke Namespace survive removal", func(t *testing.T) {
		for _, u := range []*unstructured.Unstructured{get(t, schema.AddonTApp, "CustomResourceDefinition", "tapps.apps.tkestack.io"), get(t, schema.AddonAudit, "Namespace", "tke")} {
			if u.GetAnnotations()[AnnotationPrune] != PruneDisabled {
				t.Errorf("%s lacks %s: %s", id(u), AnnotationPrune, PruneDisabled)
			}
		}
	})
}

// TestRenderVersionAndOptions checks spec.version on the primary image and the plugin
// image options.
func TestRenderVersionAndOptions(t *testing.T) {
	repo := loadRepo(t, map[string]string{
		"addons/tapp.yaml": addonFile("tapp", "  type: TApp\n  clusters: [dev]\n  version: v1.1.2\n"),
		"addons/gpu.yaml":  addonFile("gpu", "  type: GPUManager\n  clusters: [gpu-v]\n"),
	})
	objs, err := Render(repo.Addon("tapp"), repo.Cluster("dev"))
	if err != nil {
		t.Fatal(err)
	}
	if got := images(objs)["Deployment/tapp-controller/tapp-controller"]; got != tkestack+"tapp-controller:v1.1.2" {
		t.Errorf("tapp-controller image %s, want spec.version's v1.1.2", got)
	}
	objs, err = RenderWithOptions(repo.Addon("gpu"), repo.Cluster("gpu-v"), Options{PluginVersion: "v2.3.4", PluginRegistry: "ghcr.io/example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := images(objs)["DaemonSet/gpu-manager-daemonset/gpu-manager"]; got != "ghcr.io/example/gitfleet-gpu:v2.3.4" {
		t.Errorf("gpu-manager image %s, want the options' registry and version", got)
	}

	// Pinned by digest (what gitfleet install passes to serve): the DaemonSet runs that
	// reference; an Addon's spec.registry (a mirror) keeps the digest.
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pinned := Options{PluginImages: map[string]string{"gitfleet-gpu": "reg.example.com/p/gitfleet-gpu@" + digest}}
	if objs, err = RenderWithOptions(repo.Addon("gpu"), repo.Cluster("gpu-v"), pinned); err != nil {
		t.Fatal(err)
	}
	if got, want := images(objs)["DaemonSet/gpu-manager-daemonset/gpu-manager"], "reg.example.com/p/gitfleet-gpu@"+digest; got != want {
		t.Errorf("gpu-manager image %s, want the pinned %s", got, want)
	}
	mirrored := loadRepo(t, map[string]string{"addons/gpu.yaml": addonFile("gpu", "  type: GPUManager\n  clusters: [gpu-v]\n  registry: mirror.example.com/tke\n")})
	if objs, err = RenderWithOptions(mirrored.Addon("gpu"), mirrored.Cluster("gpu-v"), pinned); err != nil {
		t.Fatal(err)
	}
	if got, want := images(objs)["DaemonSet/gpu-manager-daemonset/gpu-manager"], "mirror.example.com/tke/gitfleet-gpu@"+digest; got != want {
		t.Errorf("gpu-manager image from a mirror %s, want %s", got, want)
	}
}

// TestRenderAddonBuiltInCode renders an Addon that schema.Load never defaulted, with
// zero Options: the defaults come from the catalog and the package.
func TestRenderAddonBuiltInCode(t *testing.T) {
	a := &schema.Addon{Spec: schema.AddonSpec{Type: schema.AddonGPUManager}}
	a.Metadata.Name = "gpu"
	c := &schema.Cluster{}
	c.Metadata.Name = "gpu-v"
	objs, err := RenderWithOptions(a, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DaemonSet/gpu-manager-daemonset/gpu-manager":        DefaultPluginRegistry + "/gitfleet-gpu:" + DefaultPluginVersion,
		"Deployment/gpu-quota-admission/gpu-quota-admission": tkestack + "gpu-quota-admission:v1.0.0",
	}
	if diff := cmp.Diff(want, images(objs)); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if got := resources(t, objs)["DaemonSet/gpu-manager-daemonset/gpu-manager"]; got != "requests cpu=1,memory=1Gi limits cpu=1,memory=1Gi" {
		t.Errorf("gpu-manager resources %q, want the catalog's 1 core and 1Gi", got)
	}
	for _, u := range objs {
		if u.GetKind() == "Service" {
			ports, _, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
			if port := ports[0].(map[string]any)["port"]; port != int64(schema.DefaultGPUManagerMetricsPort) {
				t.Errorf("metrics port %v, want %d", port, schema.DefaultGPUManagerMetricsPort)
			}
		}
	}
}

// TestScrapeJobs checks Prometheus's scrape configuration: unique jobs, among them the
// ones the alert rules of render/alerting ask about by name (its JobAPIServer, JobEtcd,
// JobScheduler, JobControllerManager) and the sources of their series.
func TestScrapeJobs(t *testing.T) {
	v := &values{dir: "monitoring"}
	text, err := v.File("additional-scrape-configs.txt")
	if err != nil {
		t.Fatal(err)
	}
	var jobs []map[string]any
	if err := yaml.UnmarshalStrict([]byte(text), &jobs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range jobs {
		names = append(names, j["job_name"].(string))
	}
	want := []string{"kubernetes-service-endpoints", "kubernetes-pods", "kubernetes-cadvisor", "apiserver", "kube-scheduler", "kube-controller-manager", "etcd"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if jobs[0]["honor_labels"] != true {
		t.Errorf("kubernetes-service-endpoints must keep kube-state-metrics' namespace, pod and node labels (honor_labels)")
	}
}

// TestRenderErrors checks the parameters that cannot be rendered: each is an *Error
// wrapping a FieldError at the file, line and field.
func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, addon, cluster string
		file, field, msg     string
		line                 int
	}{{
		name: "env reference",
		addon: addonFile("pe", `  type: PersistentEvent
  clusters: [dev]
  persistentEvent:
    address: http://190.0.0.1:200
    index: k8s-events
    esVersion: 7.5.1
    username: {env: ES_USER}
    password: {secret: {name: es, key: password}}
`),
		cluster: "dev", file: "addons/addon.yaml", line: 12, field: "spec.persistentEvent.username",
		msg: "{env: ES_USER} names a secret of the gitfleet process",
	}, {
		name: "file reference",
		addon: addonFile("audit", `  type: Audit
  clusters: [global]
  audit:
    address: http://190.0.0.1:200
    index: tke-audit
    esVersion: 7.5.1
    username: {secret: {name: es, key: username}}
    password: {file: /etc/es/password}
`),
		cluster: "global", file: "addons/addon.yaml", line: 13, field: "spec.audit.password",
		msg: "{file: /etc/es/password} names a secret of the gitfleet process",
	}, {
		name: "Secret in another namespace",
		addon: addonFile("csi", `  type: CSIOperator
  clusters: [dev]
  csiOperator:
    drivers:
    - type: TencentCBS
      secretID: {secret: {name: tc, key: id, namespace: gitfleet-system}}
      secretKey: {secret: {name: tc, key: key}}
`),
		cluster: "dev", file: "addons/addon.yaml", line: 11, field: "spec.csiOperator.drivers[0].secretID.secret.namespace",
		msg: "can read only Secrets there, found namespace gitfleet-system",
	}, {
		name:    "Galaxy without a cluster network",
		addon:   addonFile("galaxy", "  type: Galaxy\n  clusters: [gpu-v]\n"),
		cluster: "gpu-v", file: "clusters/gpu-v.yaml", line: 6, field: "spec.network.clusterCIDR",
		msg: "required by the Galaxy addon",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			repo := loadRepo(t, map[string]string{"addons/addon.yaml": tc.addon})
			objs, err := Render(repo.Addons[0], repo.Cluster(tc.cluster))
			var rerr *Error
			var ferr *schema.FieldError
			if !errors.As(err, &rerr) || !errors.As(err, &ferr) || objs != nil {
				t.Fatalf("Render = %d objects, %v; want an *Error with a FieldError and no objects", len(objs), err)
			}
			if rerr.Cluster != tc.cluster || rerr.Addon != repo.Addons[0].Metadata.Name {
				t.Errorf("error subject %s/%s, want addon %s on %s", rerr.Addon, rerr.Cluster, repo.Addons[0].Metadata.Name, tc.cluster)
			}
			if ferr.File != tc.file || ferr.Line != tc.line || ferr.Field != tc.field || !strings.Contains(ferr.Message, tc.msg) {
				t.Errorf("error %v\nwant %s:%d: %s: ...%s...", ferr, tc.file, tc.line, tc.field, tc.msg)
			}
		})
	}
}

// TestRenderDeterministic renders the same input twice and in parallel and wants the
// same bytes, and objects that the Kubernetes machinery can copy.
func TestRenderDeterministic(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.label(), func(t *testing.T) {
			t.Parallel()
			a, b := marshal(t, renderCase(t, tc)), marshal(t, renderCase(t, tc))
			if !bytes.Equal(a, b) {
				t.Errorf("two renders differ")
			}
			for _, u := range renderCase(t, tc) {
				_ = u.DeepCopy() // panics on values JSON does not have (int, ...)
			}
		})
	}
}

// images returns every container's image keyed "Kind/name/container", the images of
// prometheus-operator CRs keyed "Kind/name/image", and images passed as flags keyed
// "Kind/name/--flag".
func images(objs []*unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	for _, u := range objs {
		for _, c := range containers(u) {
			out[u.GetKind()+"/"+u.GetName()+"/"+c["name"].(string)] = c["image"].(string)
			args, _, _ := unstructured.NestedStringSlice(c, "args")
			for _, a := range args {
				if flag, value, ok := strings.Cut(a, "="); ok && (strings.HasSuffix(flag, "reloader") || strings.HasSuffix(flag, "-image")) {
					out[u.GetKind()+"/"+u.GetName()+"/"+flag] = value
				}
			}
		}
		if img, found, _ := unstructured.NestedString(u.Object, "spec", "image"); found {
			out[u.GetKind()+"/"+u.GetName()+"/image"] = img
		}
	}
	return out
}

// resources returns every container's resources that has any, keyed as images.
func resources(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range objs {
		for _, c := range containers(u) {
			res, _, _ := unstructured.NestedMap(c, "resources")
			var parts []string
			for _, part := range []string{"requests", "limits"} {
				rl, _, _ := unstructured.NestedStringMap(res, part)
				if len(rl) == 0 {
					continue
				}
				var kv []string
				for k, v := range rl {
					kv = append(kv, k+"="+v)
				}
				sort.Strings(kv)
				parts = append(parts, part+" "+strings.Join(kv, ","))
			}
			if len(parts) > 0 {
				out[u.GetKind()+"/"+u.GetName()+"/"+c["name"].(string)] = strings.Join(parts, " ")
			}
		}
	}
	return out
}

func containers(u *unstructured.Unstructured) []map[string]any {
	var out []map[string]any
	for _, field := range []string{"initContainers", "containers"} {
		list, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", field)
		for _, c := range list {
			out = append(out, c.(map[string]any))
		}
	}
	return out
}

// checkSecretEnv wants a workload's container variable read from a Secret key.
func checkSecretEnv(t *testing.T, u *unstructured.Unstructured, name, secret, key string) {
	t.Helper()
	for _, c := range containers(u) {
		env, _, _ := unstructured.NestedSlice(c, "env")
		for _, e := range env {
			e := e.(map[string]any)
			if e["name"] != name {
				continue
			}
			ref, _, _ := unstructured.NestedStringMap(e, "valueFrom", "secretKeyRef")
			if ref["name"] != secret || ref["key"] != key || e["value"] != nil {
				t.Errorf("%s %s: %v, want secretKeyRef %s/%s", id(u), name, e, secret, key)
			}
			return
		}
	}
	t.Errorf("%s has no variable %s", id(u), name)
}

// checkLabels wants every object, and the pods of every workload, labelled with the
// addon.
func checkLabels(t *testing.T, objs []*unstructured.Unstructured, addon string) {
	t.Helper()
	name := strings.TrimSpace(strings.SplitN(strings.SplitN(addon, "name: ", 2)[1], "\n", 2)[0])
	for _, u := range objs {
		labels := []map[string]string{u.GetLabels()}
		if isWorkload(u.GetKind()) {
			pod, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
			labels = append(labels, pod)
		}
		for _, l := range labels {
			if l[LabelPartOf] != PartOfValue || l[LabelAddon] != name {
				t.Errorf("%s labels %v, want %s=%s and %s=%s", id(u), l, LabelPartOf, PartOfValue, LabelAddon, name)
			}
		}
	}
}

func object(kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

func marshal(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for i, u := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

// golden compares a render with testdata/<name>.yaml; -update rewrites it.
func golden(t *testing.T, name string, objs []*unstructured.Unstructured) {
	t.Helper()
	path := filepath.Join("testdata", name+".yaml")
	got := append([]byte(fmt.Sprintf("# Render of the %s case of addons_test.go; go test -update rewrites it.\n", name)), marshal(t, objs)...)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the render (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}
