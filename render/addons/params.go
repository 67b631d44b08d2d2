package addons

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"gitfleet.dev/gitfleet/schema"
)

// Each builder's params function turns an Addon's parameter block into what its
// templates need, and is where a parameter that cannot be rendered becomes an error at
// its field. Logic lives here; the templates only place values.

// --- Monitoring ---

type monitoringValues struct {
	// Retention is spec.monitoring.retention in Prometheus's notation (15d, 36h).
	Retention string
	// RemoteWrite is the Prometheus CR's spec.remoteWrite (empty for storage none).
	RemoteWrite []remoteWrite
	// InfluxDB deploys TKEStack's own InfluxDB (storage influxdb without an address).
	InfluxDB bool
	// Beat is prometheusbeat, which ships samples to Elasticsearch (storage
	// elasticsearch); nil otherwise.
	Beat *beatValues
	// CRDs are the prometheus-operator kinds the addon defines (see monitoring/00-crds.yaml).
	CRDs []crdKind
}

type remoteWrite struct {
	URL       string     `json:"url"`
	BasicAuth *basicAuth `json:"basicAuth,omitempty"`
}

type basicAuth struct {
	Username keySelector `json:"username"`
	Password keySelector `json:"password"`
}

type beatValues struct {
	Address string
	Index   string
	Env     []envVar
}

type crdKind struct {
	Kind, Plural, Singular, Version string
	ShortNames                      []string
	// Status enables the status subresource, which newer operator releases write
	// through.
	Status bool
}

// inClusterInfluxDB is where the in-cluster InfluxDB answers; prometheus is the
// database its image creates (INFLUXDB_DB) and Prometheus writes to.
const (
	inClusterInfluxDB = "http://influxdb." + SystemNamespace + ".svc:8086"
	influxWritePath   = "/api/v1/prom/write?db=prometheus"
	prometheusbeatURL = "http://prometheusbeat." + SystemNamespace + ".svc:8080/prometheus"
)

func monitoringParams(v *values) (any, error) {
	a := v.Addon
	m := a.Spec.Monitoring
	if m == nil {
		m = &schema.MonitoringParams{}
	}
	retention := m.Retention.Duration
	if retention == 0 {
		retention = schema.DefaultMonitoringRetention
	}
	out := &monitoringValues{
		Retention: promDuration(retention),
		CRDs: []crdKind{
			{Kind: "Alertmanager", Plural: "alertmanagers", Singular: "alertmanager", Version: "v1", ShortNames: []string{"am"}, Status: true},
			{Kind: "AlertmanagerConfig", Plural: "alertmanagerconfigs", Singular: "alertmanagerconfig", Version: "v1alpha1", ShortNames: []string{"amcfg"}},
			{Kind: "PodMonitor", Plural: "podmonitors", Singular: "podmonitor", Version: "v1", ShortNames: []string{"pmon"}},
			{Kind: "Prometheus", Plural: "prometheuses", Singular: "prometheus", Version: "v1", ShortNames: []string{"prom"}, Status: true},
			{Kind: "PrometheusRule", Plural: "prometheusrules", Singular: "prometheusrule", Version: "v1", ShortNames: []string{"promrule"}},
			{Kind: "ServiceMonitor", Plural: "servicemonitors", Singular: "servicemonitor", Version: "v1", ShortNames: []string{"smon"}},
		},
	}
	switch storage := m.Storage; {
	case storage == schema.MonitoringNone:
	case storage == schema.MonitoringElasticsearch:
		es := m.Elasticsearch
		if es == nil {
			return nil, a.Origin.Errorf("spec.monitoring.elasticsearch", "required with storage: elasticsearch")
		}
		env, err := esCredentials(a, "spec.monitoring.elasticsearch", es, v.Namespace)
		if err != nil {
			return nil, err
		}
		out.Beat = &beatValues{Address: es.Address, Index: es.Index, Env: env}
		out.RemoteWrite = []remoteWrite{{URL: prometheusbeatURL}}
	case m.InfluxDB != nil && m.InfluxDB.Address != "":
		rw := remoteWrite{URL: strings.TrimSuffix(m.InfluxDB.Address, "/") + influxWritePath}
		if m.InfluxDB.Username != nil && m.InfluxDB.Password != nil {
			user, err := secretKey(a, "spec.monitoring.influxdb.username", m.InfluxDB.Username, v.Namespace)
			if err != nil {
				return nil, err
			}
			pass, err := secretKey(a, "spec.monitoring.influxdb.password", m.InfluxDB.Password, v.Namespace)
			if err != nil {
				return nil, err
			}
			rw.BasicAuth = &basicAuth{Username: keySelector{Name: user.Name, Key: user.Key}, Password: keySelector{Name: pass.Name, Key: pass.Key}}
		}
		out.RemoteWrite = []remoteWrite{rw}
	default: // influxdb, TKEStack's own
		out.InfluxDB = true
		out.RemoteWrite = []remoteWrite{{URL: inClusterInfluxDB + influxWritePath}}
	}
	return out, nil
}

// promDuration writes a duration in the largest whole unit Prometheus understands;
// Go's own form (360h0m0s) is not a Prometheus duration.
func promDuration(d time.Duration) string {
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if d%u.d == 0 {
			return fmt.Sprintf("%d%s", d/u.d, u.unit)
		}
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// esCredentials returns the ES_USERNAME and ES_PASSWORD variables of an Elasticsearch
// login (ES 7.5.1); none for ES 5, which TKEStack uses without authentication.
func esCredentials(a *schema.Addon, field string, es *schema.Elasticsearch, namespace string) ([]envVar, error) {
	user, err := secretEnv(a, field+".username", "ES_USERNAME", es.Username, namespace)
	if err != nil {
		return nil, err
	}
	pass, err := secretEnv(a, field+".password", "ES_PASSWORD", es.Password, namespace)
	if err != nil {
		return nil, err
	}
	return append(user, pass...), nil
}

// --- GPUManager ---

type gpuManagerValues struct {
	MetricsPort int
}

func gpuManagerParams(v *values) (any, error) {
	port := schema.DefaultGPUManagerMetricsPort
	if p := v.Addon.Spec.GPUManager; p != nil && p.MetricsPort != 0 {
		port = p.MetricsPort
	}
	return &gpuManagerValues{MetricsPort: port}, nil
}

// --- CSIOperator ---

type csiValues struct {
	Drivers        []csiDriver
	StorageClasses []storageClass
	// Env and Args hand the Tencent Cloud API key to the operator (see csiOperatorParams).
	Env  []envVar
	Args []string
}

type csiDriver struct {
	Name       string
	DriverName string
}

type storageClass struct {
	Name, Provisioner, DiskType string
}

// csiDriverNames are the CSI objects' spec.driverName per driver type: the seed's
// provisioner names for the Tencent Cloud drivers, the csi-operator's well-known names
// for Ceph.
var csiDriverNames = map[schema.CSIDriverType]string{
	schema.CSIRBD:        "csi-rbd",
	schema.CSICephFS:     "csi-cephfs",
	schema.CSITencentCBS: "com.tencent.cloud.csi.cbs",
	schema.CSITencentCFS: "com.tencent.cloud.csi.cfs",
}

// csiOperatorParams prepares the CSI objects and StorageClasses. The seed's CSI object
// carries the Tencent Cloud API key in spec.parameters as values; gitfleet renders no
// secret values, so the key goes to the operator instead: its
// --tencent-cloud-secret-id/--tencent-cloud-secret-key flags (the global key it uses for
// a CSI object without one) read environment variables that come from the member
// cluster's Secret. The operator takes the key base64-encoded, so the Secret's values
// hold the base64 text of the key. It has one global key, so every Tencent Cloud driver
// of the addon must refer to the same Secret keys.
func csiOperatorParams(v *values) (any, error) {
	a := v.Addon
	out := &csiValues{}
	if a.Spec.CSIOperator == nil {
		return out, nil
	}
	var keyFrom string // the field whose key the operator got, for the error below
	var keyID, keySecret *schema.SecretKeyRef
	for i, d := range a.Spec.CSIOperator.Drivers {
		field := fmt.Sprintf("spec.csiOperator.drivers[%d]", i)
		name, ok := csiDriverNames[d.Type]
		if !ok {
			return nil, a.Origin.Errorf(field+".type", "unknown CSI driver type %q", d.Type)
		}
		out.Drivers = append(out.Drivers, csiDriver{Name: strings.ToLower(string(d.Type)) + "v1", DriverName: name})
		for _, sc := range d.StorageClasses {
			diskType := sc.DiskType
			if diskType == "" {
				diskType = schema.CBSCloudBasic
			}
			out.StorageClasses = append(out.StorageClasses, storageClass{Name: sc.Name, Provisioner: name, DiskType: string(diskType)})
		}
		if d.Type == schema.CSITencentCBS && len(d.StorageClasses) == 0 {
			out.StorageClasses = append(out.StorageClasses, storageClass{Name: schema.DefaultCBSStorageClass, Provisioner: name, DiskType: string(schema.CBSCloudBasic)})
		}
		if d.SecretID == nil && d.SecretKey == nil {
			continue
		}
		if d.SecretID == nil || d.SecretKey == nil {
			return nil, a.Origin.Errorf(field, "set both secretID and secretKey")
		}
		id, err := secretKey(a, field+".secretID", d.SecretID, v.Namespace)
		if err != nil {
			return nil, err
		}
		key, err := secretKey(a, field+".secretKey", d.SecretKey, v.Namespace)
		if err != nil {
			return nil, err
		}
		if keyID != nil && (*keyID != *id || *keySecret != *key) {
			return nil, a.Origin.Errorf(field+".secretID", "the CSI operator has one Tencent Cloud API key for all its drivers, and %s already names another; refer to the same Secret keys", keyFrom)
		}
		keyFrom, keyID, keySecret = field, id, key
	}
	if keyID != nil {
		out.Env = []envVar{
			{Name: "TENCENTCLOUD_SECRET_ID", ValueFrom: &envSource{SecretKeyRef: &keySelector{Name: keyID.Name, Key: keyID.Key}}},
			{Name: "TENCENTCLOUD_SECRET_KEY", ValueFrom: &envSource{SecretKeyRef: &keySelector{Name: keySecret.Name, Key: keySecret.Key}}},
		}
		// Kubernetes expands $(VAR) in args from the container's environment.
		out.Args = []string{"--tencent-cloud-secret-id=$(TENCENTCLOUD_SECRET_ID)", "--tencent-cloud-secret-key=$(TENCENTCLOUD_SECRET_KEY)"}
	}
	return out, nil
}

// --- LBCF ---

type lbcfValues struct {
	Drivers []schema.LBCFDriver
}

func lbcfParams(v *values) (any, error) {
	out := &lbcfValues{}
	if p := v.Addon.Spec.LBCF; p != nil {
		out.Drivers = p.Drivers
	}
	return out, nil
}

// --- Galaxy ---

type galaxyValues struct {
	// CNIConfig is the conflist the gitfleet-cni installer copies to /etc/cni/net.d.
	CNIConfig string
	// NetConf is flannel's net-conf.json.
	NetConf string
	// Device is the nodes' network interface, flannel's --iface.
	Device string
}

// cniConflistName is the file the installer writes; "00-" sorts it before any other
// network configuration the kubelet might find.
const cniConflistName = "00-galaxy.conflist"

// galaxyConf is gitfleet-cni's entry of the conflist: the contract between this addon
// and nodeplugins/cni, which reads these fields.
type galaxyConf struct {
	Type string `json:"type"`
	// DefaultMode is the network mode of pods without the galaxy annotation: the
	// cluster's spec.network.mode.
	DefaultMode schema.NetworkMode `json:"defaultMode"`
	// Flannel is the overlay: its subnet file (written by flanneld) and backend.
	Flannel struct {
		SubnetFile string `json:"subnetFile"`
		Backend    string `json:"backend"`
	} `json:"flannel"`
	// Device is the node's interface for underlay (floating IP) networks.
	Device       string          `json:"device"`
	Capabilities map[string]bool `json:"capabilities"`
}

func galaxyParams(v *values) (any, error) {
	c := v.Cluster
	n := c.Spec.Network
	if n.ClusterCIDR == "" {
		return nil, c.Origin.Errorf("spec.network.clusterCIDR", "required by the Galaxy addon %q: flannel allocates each node's pod subnet from the cluster's container network", v.Addon.Metadata.Name)
	}
	mode := n.Mode
	if mode == "" {
		mode = schema.NetworkOverlay
	}
	backend := schema.DefaultFlannelBackend
	if p := v.Addon.Spec.Galaxy; p != nil && p.FlannelBackend != "" {
		backend = p.FlannelBackend
	}
	device := c.Spec.NetworkDevice
	if device == "" {
		device = schema.DefaultNetworkDevice
	}

	conf := galaxyConf{Type: "gitfleet-cni", DefaultMode: mode, Device: device, Capabilities: map[string]bool{"portMappings": true}}
	conf.Flannel.SubnetFile = "/run/flannel/subnet.env"
	conf.Flannel.Backend = string(backend)
	list := map[string]any{"cniVersion": "1.0.0", "name": "galaxy", "plugins": []any{conf}}

	// TKEStack's overlay is IPIP between nodes with host routes between nodes of one
	// subnet: flannel's ipip backend with DirectRouting.
	fb := map[string]any{"Type": string(backend)}
	if backend == schema.FlannelIPIP {
		fb["DirectRouting"] = true
	}
	netConf := map[string]any{"Network": n.ClusterCIDR, "Backend": fb}

	cni, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return nil, err
	}
	nc, err := json.MarshalIndent(netConf, "", "  ")
	if err != nil {
		return nil, err
	}
	return &galaxyValues{CNIConfig: string(cni) + "\n", NetConf: string(nc) + "\n", Device: device}, nil
}

// --- GalaxyIPAM ---

type galaxyIPAMValues struct {
	// FloatingIPs is floatingip-config's floatingips: a JSON array in the seed's format.
	FloatingIPs string
}

// floatingIPPool is one pool in the seed's format, fields in the seed's order; vlan is
// written only when set, as the seed's example has none.
type floatingIPPool struct {
	RoutableSubnet string   `json:"routableSubnet"`
	IPs            []string `json:"ips"`
	Subnet         string   `json:"subnet"`
	Gateway        string   `json:"gateway"`
	Vlan           int      `json:"vlan,omitempty"`
}

func galaxyIPAMParams(v *values) (any, error) {
	p := v.Addon.Spec.GalaxyIPAM
	if p == nil || len(p.Pools) == 0 {
		return nil, v.Addon.Origin.Errorf("spec.galaxyIPAM.pools", "GalaxyIPAM needs at least one floating IP pool")
	}
	pools := make([]floatingIPPool, len(p.Pools))
	for i, pool := range p.Pools {
		pools[i] = floatingIPPool{RoutableSubnet: pool.RoutableSubnet, IPs: pool.IPs, Subnet: pool.Subnet, Gateway: pool.Gateway, Vlan: pool.Vlan}
	}
	b, err := json.Marshal(pools)
	if err != nil {
		return nil, err
	}
	return &galaxyIPAMValues{FloatingIPs: string(b)}, nil
}

// --- PersistentEvent and Audit ---

type esValues struct {
	Address, Scheme, Host, Port, Index, Version string
	// Env holds ES_USERNAME and ES_PASSWORD from the member cluster's Secret.
	Env []envVar
}

func persistentEventParams(v *values) (any, error) {
	p := v.Addon.Spec.PersistentEvent
	if p == nil {
		return nil, v.Addon.Origin.Errorf("spec.persistentEvent", "PersistentEvent needs the Elasticsearch address and index")
	}
	return elasticsearch(v, "spec.persistentEvent", &p.Elasticsearch)
}

func auditParams(v *values) (any, error) {
	p := v.Addon.Spec.Audit
	if p == nil {
		return nil, v.Addon.Origin.Errorf("spec.audit", "Audit needs the Elasticsearch address and index")
	}
	return elasticsearch(v, "spec.audit", &p.Elasticsearch)
}

// elasticsearch splits an ES address into the parts fluentd's output wants.
func elasticsearch(v *values, field string, es *schema.Elasticsearch) (*esValues, error) {
	u, err := url.Parse(es.Address)
	if err != nil || u.Host == "" {
		return nil, v.Addon.Origin.Errorf(field+".address", "%q is not an http or https URL", es.Address)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	env, err := esCredentials(v.Addon, field, es, v.Namespace)
	if err != nil {
		return nil, err
	}
	version := es.ESVersion
	if version == "" {
		version = schema.ESVersion5
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	return &esValues{Address: es.Address, Scheme: u.Scheme, Host: host, Port: port, Index: es.Index, Version: version, Env: env}, nil
}
