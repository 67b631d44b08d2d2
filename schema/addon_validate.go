package schema

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults of the addon parameters.
const (
	// DefaultMonitoringRetention is Prometheus's own default, 15 days.
	DefaultMonitoringRetention = 15 * 24 * time.Hour
	// DefaultFlannelBackend is TKEStack's overlay: IPIP between nodes, host routes on a
	// node.
	DefaultFlannelBackend = FlannelIPIP
)

// The Global cluster runs the platform itself (TKEStack names it "global"). A fleet may
// call it something else and mark it with this label instead.
const (
	globalClusterName  = "global"
	globalClusterLabel = "gitfleet.dev/role"
)

// isGlobalCluster reports whether the cluster is the platform's Global cluster: it is
// named global, or labelled gitfleet.dev/role: global.
func isGlobalCluster(c *Cluster) bool {
	return c.Metadata.Name == globalClusterName || c.Metadata.Labels[globalClusterLabel] == globalClusterName
}

var (
	// addonVersion is a release's image tag: v1.1.1, 1.0.0-beta4, v1.0.0.rc.2, v0.1.
	addonVersion = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-.][0-9A-Za-z][0-9A-Za-z.-]*)?$`)
	// imageTag is Docker's tag grammar.
	imageTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// imageRegistry is a registry host, an optional port and an optional path.
	imageRegistry = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	// esIndex is TKEStack's rule for Elasticsearch indexes (at most 60 characters).
	esIndex = regexp.MustCompile(`^[a-z][a-z0-9_+-]*$`)
)

// addonAliases are names people use for catalog types (TKEStack's console and installer
// names), too far from the type's name for a typo suggestion. Keys are lowercase without
// '-', '_' and spaces.
var addonAliases = map[string]AddonType{
	"prometheus":            AddonMonitoring,
	"ipam":                  AddonGalaxyIPAM,
	"csi":                   AddonCSIOperator,
	"nvidiak8sdeviceplugin": AddonNvidiaDevicePlugin,
}

// addonResourceNames are the resources an addon workload's container may set.
var addonResourceNames = []string{"cpu", "ephemeral-storage", "memory"}

// defaultsAddon fills in the catalog's defaults: version, workload resources and the
// parameters of each type.
func (r *Repo) defaultsAddon() {
	for _, a := range r.Addons {
		a.setDefaults()
	}
}

func (a *Addon) setDefaults() {
	s := &a.Spec
	info, ok := AddonCatalog[s.Type]
	if !ok {
		return
	}
	if s.Version == "" {
		s.Version = info.Version
	}
	for _, w := range info.Workloads() {
		if _, set := s.Resources[w.Name]; set || w.Resources == nil {
			continue
		}
		if s.Resources == nil {
			s.Resources = map[string]AddonResources{}
		}
		s.Resources[w.Name] = AddonResources{Requests: copyResources(w.Resources), Limits: copyResources(w.Resources)}
	}
	switch s.Type {
	case AddonMonitoring:
		if s.Monitoring == nil {
			s.Monitoring = &MonitoringParams{}
		}
		m := s.Monitoring
		if m.Storage == "" {
			m.Storage = MonitoringInfluxDB
		}
		if m.Retention.Duration == 0 {
			m.Retention.Duration = DefaultMonitoringRetention
		}
		if m.Elasticsearch != nil && m.Elasticsearch.ESVersion == "" {
			m.Elasticsearch.ESVersion = ESVersion5
		}
	case AddonGPUManager:
		if s.GPUManager == nil {
			s.GPUManager = &GPUManagerParams{}
		}
		if s.GPUManager.MetricsPort == 0 {
			s.GPUManager.MetricsPort = DefaultGPUManagerMetricsPort
		}
	case AddonGalaxy:
		if s.Galaxy == nil {
			s.Galaxy = &GalaxyParams{}
		}
		if s.Galaxy.FlannelBackend == "" {
			s.Galaxy.FlannelBackend = DefaultFlannelBackend
		}
	case AddonCSIOperator:
		if s.CSIOperator == nil {
			s.CSIOperator = &CSIOperatorParams{}
		}
		for i := range s.CSIOperator.Drivers {
			d := &s.CSIOperator.Drivers[i]
			if d.Type == CSITencentCBS && len(d.StorageClasses) == 0 {
				d.StorageClasses = []CBSStorageClass{{Name: DefaultCBSStorageClass}}
			}
			for j := range d.StorageClasses {
				if d.StorageClasses[j].DiskType == "" {
					d.StorageClasses[j].DiskType = CBSCloudBasic
				}
			}
		}
	case AddonLBCF:
		if s.LBCF == nil {
			s.LBCF = &LBCFParams{}
		}
	case AddonPersistentEvent:
		if s.PersistentEvent != nil && s.PersistentEvent.ESVersion == "" {
			s.PersistentEvent.ESVersion = ESVersion5
		}
	case AddonAudit:
		if s.Audit != nil && s.Audit.ESVersion == "" {
			s.Audit.ESVersion = ESVersion5
		}
	}
}

func copyResources(rl ResourceList) ResourceList {
	out := make(ResourceList, len(rl))
	for k, q := range rl {
		out[k] = q.DeepCopy()
	}
	return out
}

// validateAddon checks every Addon, and the rules between Addons on each cluster.
func (r *Repo) validateAddon() ErrorList {
	var errs ErrorList
	for _, a := range r.Addons {
		errs = append(errs, a.validate(r)...)
	}
	return append(errs, r.validateAddonsPerCluster()...)
}

func (a *Addon) validate(r *Repo) ErrorList {
	o, s := a.Origin, &a.Spec
	errs := validateName(o, a.Metadata.Name)
	info, known := AddonCatalog[s.Type]
	if !known {
		errs = append(errs, o.Errorf("spec.type", "%s", unknownAddonType(s.Type)))
	}
	errs = append(errs, a.validateTargets(r)...)
	if !known {
		return errs
	}
	if len(s.Version) > 128 || !addonVersion.MatchString(s.Version) {
		errs = append(errs, o.Errorf("spec.version", "%q is not a release version; write the tag of the release's images, for example %s", s.Version, info.Version))
	}
	errs = append(errs, validateRegistry(o, "spec.registry", s.Registry)...)
	errs = append(errs, a.validateImages(info)...)
	errs = append(errs, a.validateResources(info)...)
	errs = append(errs, a.validateParams(info)...)
	for _, c := range r.Clusters {
		if a.Targets(c) {
			errs = append(errs, a.validateOn(r, info, c)...)
		}
	}
	return errs
}

func unknownAddonType(t AddonType) string {
	names := make([]string, len(addonTypes))
	for i, t := range addonTypes {
		names[i] = string(t)
	}
	key := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(string(t)))
	switch {
	case t == "":
		return "an Addon needs a type: one of " + strings.Join(names, ", ")
	case key == "logcollector":
		return fmt.Sprintf("addon type %q was deprecated in TKEStack v1.3 and can no longer be installed; use LogAgent", t)
	case addonAliases[key] != "":
		return fmt.Sprintf("unknown addon type %q; did you mean %q?", t, addonAliases[key])
	}
	return unknownName("addon type", string(t), names)
}

func (a *Addon) validateTargets(r *Repo) ErrorList {
	o, s := a.Origin, &a.Spec
	var errs ErrorList
	if len(s.Clusters) == 0 && s.Selector == nil {
		errs = append(errs, o.Errorf("spec.clusters", "an Addon needs targets: list cluster names in spec.clusters or set spec.selector.matchLabels"))
	}
	seen := map[string]int{}
	for i, name := range s.Clusters {
		field := fmt.Sprintf("spec.clusters[%d]", i)
		if j, dup := seen[name]; dup {
			errs = append(errs, o.Errorf(field, "cluster %q is already listed as spec.clusters[%d]", name, j))
			continue
		}
		seen[name] = i
		if r.Cluster(name) == nil {
			errs = append(errs, o.Errorf(field, "no Cluster named %q in the repository%s", name, knownNames(r.Clusters, func(c *Cluster) string { return c.Metadata.Name })))
		}
	}
	if s.Selector != nil {
		errs = append(errs, validateLabels(o, "spec.selector.matchLabels", s.Selector.MatchLabels)...)
	}
	return errs
}

func validateRegistry(o Origin, field, registry string) ErrorList {
	switch {
	case registry == "":
		return nil
	case strings.Contains(registry, "://"):
		return ErrorList{o.Errorf(field, "write the registry without a scheme, for example %q", registry[strings.Index(registry, "://")+3:])}
	case !imageRegistry.MatchString(registry):
		return ErrorList{o.Errorf(field, "%q is not an image registry: a lowercase host with an optional port and path, for example registry.example.com:5000/library", registry)}
	}
	return nil
}

func (a *Addon) validateImages(info AddonInfo) ErrorList {
	o := a.Origin
	var errs ErrorList
	names := make([]string, len(info.Images))
	for i, img := range info.Images {
		names[i] = img.Name
	}
	for _, name := range sortedKeys(a.Spec.Images) {
		field, img := "spec.images."+name, a.Spec.Images[name]
		if !slices.Contains(names, name) {
			errs = append(errs, o.Errorf(field, "%s", unknownName(string(info.Type)+" image", name, names)))
			continue
		}
		if img.Registry == "" && img.Tag == "" {
			errs = append(errs, o.Errorf(field, "set registry or tag, or remove the entry"))
		}
		errs = append(errs, validateRegistry(o, field+".registry", img.Registry)...)
		if img.Tag != "" && !imageTag.MatchString(img.Tag) {
			errs = append(errs, o.Errorf(field+".tag", "%q is not an image tag: at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", img.Tag))
		}
	}
	return errs
}

func (a *Addon) validateResources(info AddonInfo) ErrorList {
	o := a.Origin
	var errs ErrorList
	var workloads []string
	for _, w := range info.Workloads() {
		workloads = append(workloads, w.Name)
	}
	for _, name := range sortedKeys(a.Spec.Resources) {
		field, res := "spec.resources."+name, a.Spec.Resources[name]
		if !slices.Contains(workloads, name) {
			errs = append(errs, o.Errorf(field, "%s", unknownName(string(info.Type)+" workload", name, workloads)))
			continue
		}
		if len(res.Requests) == 0 && len(res.Limits) == 0 {
			errs = append(errs, o.Errorf(field, "set requests or limits, or remove the entry to use the defaults"))
		}
		for _, part := range []struct {
			name string
			rl   ResourceList
		}{{"requests", res.Requests}, {"limits", res.Limits}} {
			for _, k := range sortedKeys(part.rl) {
				f := field + "." + part.name + "." + k
				if !slices.Contains(addonResourceNames, k) {
					errs = append(errs, o.Errorf(f, "%s", unknownName("resource", k, addonResourceNames)))
				} else if q := part.rl[k]; q.Sign() < 0 {
					errs = append(errs, o.Errorf(f, "must not be negative, found %s", q.String()))
				}
			}
		}
		for _, k := range sortedKeys(res.Limits) {
			req, hasReq := res.Requests[k]
			if lim := res.Limits[k]; hasReq && lim.Cmp(req) < 0 {
				errs = append(errs, o.Errorf(field+".limits."+k, "the limit %s is below the request %s", lim.String(), req.String()))
			}
		}
	}
	return errs
}

// paramBlocks lists each type's parameter field and whether it is set.
func (s *AddonSpec) paramBlocks() []struct {
	field string
	set   bool
} {
	return []struct {
		field string
		set   bool
	}{
		{"monitoring", s.Monitoring != nil},
		{"gpuManager", s.GPUManager != nil},
		{"csiOperator", s.CSIOperator != nil},
		{"lbcf", s.LBCF != nil},
		{"galaxy", s.Galaxy != nil},
		{"galaxyIPAM", s.GalaxyIPAM != nil},
		{"persistentEvent", s.PersistentEvent != nil},
		{"audit", s.Audit != nil},
	}
}

func (a *Addon) validateParams(info AddonInfo) ErrorList {
	o, s := a.Origin, &a.Spec
	var errs ErrorList
	for _, b := range s.paramBlocks() {
		if b.set && b.field != info.Params {
			errs = append(errs, o.Errorf("spec."+b.field, "%s", wrongParams(info, b.field)))
		}
	}
	switch s.Type {
	// The optional blocks are filled in by setDefaults; a nil one was never defaulted
	// and holds nothing to check.
	case AddonMonitoring:
		if s.Monitoring != nil {
			errs = append(errs, s.Monitoring.validate(o, "spec.monitoring")...)
		}
	case AddonGPUManager:
		if s.GPUManager != nil {
			errs = append(errs, validatePort(o, "spec.gpuManager.metricsPort", s.GPUManager.MetricsPort)...)
		}
	case AddonCSIOperator:
		if s.CSIOperator != nil {
			errs = append(errs, s.CSIOperator.validate(o, "spec.csiOperator")...)
		}
	case AddonLBCF:
		if s.LBCF != nil {
			errs = append(errs, s.LBCF.validate(o, "spec.lbcf")...)
		}
	case AddonGalaxy:
		if s.Galaxy != nil {
			errs = append(errs, oneOf(o, "spec.galaxy.flannelBackend", s.Galaxy.FlannelBackend, FlannelIPIP, FlannelHostGW, FlannelVXLAN)...)
		}
	case AddonGalaxyIPAM:
		if s.GalaxyIPAM == nil {
			errs = append(errs, o.Errorf("spec.galaxyIPAM", "required: GalaxyIPAM allocates floating IPs from spec.galaxyIPAM.pools; declare at least one pool"))
			break
		}
		errs = append(errs, s.GalaxyIPAM.validate(o, "spec.galaxyIPAM")...)
	case AddonPersistentEvent:
		if s.PersistentEvent == nil {
			errs = append(errs, o.Errorf("spec.persistentEvent", "required: PersistentEvent needs the Elasticsearch address and index to export events to (spec.persistentEvent.address and .index)"))
			break
		}
		errs = append(errs, s.PersistentEvent.Elasticsearch.validate(o, "spec.persistentEvent", true)...)
	case AddonAudit:
		if s.Audit == nil {
			errs = append(errs, o.Errorf("spec.audit", "required: Audit needs the Elasticsearch address and index to store audit records in (spec.audit.address and .index)"))
			break
		}
		errs = append(errs, s.Audit.Elasticsearch.validate(o, "spec.audit", true)...)
	}
	return errs
}

func wrongParams(info AddonInfo, field string) string {
	owner := ""
	for _, t := range addonTypes {
		if AddonCatalog[t].Params == field {
			owner = string(t)
		}
	}
	if info.Params == "" {
		return fmt.Sprintf("these are %s parameters, and a %s addon has none: remove spec.%s or change spec.type", owner, info.Type, field)
	}
	return fmt.Sprintf("these are %s parameters, and a %s addon takes spec.%s: remove spec.%s or change spec.type", owner, info.Type, info.Params, field)
}

func (m *MonitoringParams) validate(o Origin, field string) ErrorList {
	errs := oneOf(o, field+".storage", m.Storage, MonitoringInfluxDB, MonitoringElasticsearch, MonitoringNone)
	if m.InfluxDB != nil {
		if m.Storage != MonitoringInfluxDB {
			errs = append(errs, o.Errorf(field+".influxdb", "an external InfluxDB is used only with storage: influxdb, found storage: %s", m.Storage))
		}
		errs = append(errs, validateHTTPURL(o, field+".influxdb.address", m.InfluxDB.Address, "the external InfluxDB's address", "http://10.0.0.5:8086")...)
		errs = append(errs, validateCredentials(o, field+".influxdb", m.InfluxDB.Username, m.InfluxDB.Password)...)
	}
	switch {
	case m.Elasticsearch != nil && m.Storage != MonitoringElasticsearch:
		errs = append(errs, o.Errorf(field+".elasticsearch", "an Elasticsearch is used only with storage: elasticsearch, found storage: %s", m.Storage))
	case m.Elasticsearch == nil && m.Storage == MonitoringElasticsearch:
		errs = append(errs, o.Errorf(field+".elasticsearch", "required with storage: elasticsearch: the external Elasticsearch's address"))
	}
	if m.Elasticsearch != nil {
		errs = append(errs, m.Elasticsearch.validate(o, field+".elasticsearch", false)...)
	}
	if m.Retention.Duration < time.Hour {
		errs = append(errs, o.Errorf(field+".retention", "keep monitoring data for at least 1h, found %s", m.Retention.Duration))
	}
	return errs
}

// validate checks an Elasticsearch output: TKEStack supports ES 5 without
// authentication, and ES 7.5.1 with an optional username and password.
func (es *Elasticsearch) validate(o Origin, field string, indexRequired bool) ErrorList {
	errs := validateHTTPURL(o, field+".address", es.Address, "the Elasticsearch address", "http://190.0.0.1:200")
	switch n := len(es.Index); {
	case n == 0 && indexRequired:
		errs = append(errs, o.Errorf(field+".index", "required: the Elasticsearch index to write to (TKEStack: you must fill in address and index)"))
	case n > 60:
		errs = append(errs, o.Errorf(field+".index", "an index has at most 60 characters, found %d", n))
	case n > 0 && !esIndex.MatchString(es.Index):
		errs = append(errs, o.Errorf(field+".index", "%q is not a valid index: use lowercase letters, digits, '-', '_' and '+', starting with a lowercase letter", es.Index))
	}
	switch es.ESVersion {
	case ESVersion5:
		for _, c := range []struct {
			name string
			ref  *SecretRef
		}{{"username", es.Username}, {"password", es.Password}} {
			if c.ref != nil {
				errs = append(errs, o.Errorf(field+"."+c.name, "Elasticsearch 5 is supported only without authentication; set esVersion: %s to log in with a username and password", ESVersion75))
			}
		}
	case ESVersion75:
		errs = append(errs, validateCredentials(o, field, es.Username, es.Password)...)
	default:
		errs = append(errs, o.Errorf(field+".esVersion", "unsupported Elasticsearch version %q; TKEStack supports %s (without authentication) and %s (with an optional username and password)", es.ESVersion, ESVersion5, ESVersion75))
	}
	return errs
}

// validateCredentials checks a username and password pair: both or neither, each a
// reference to a secret.
func validateCredentials(o Origin, field string, user, password *SecretRef) ErrorList {
	var errs ErrorList
	switch {
	case user != nil && password == nil:
		errs = append(errs, o.Errorf(field+".password", "required with a username: refer to the password with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}"))
	case user == nil && password != nil:
		errs = append(errs, o.Errorf(field+".username", "required with a password: refer to the username with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}"))
	}
	errs = append(errs, validateSecretRef(o, field+".username", user, false)...)
	return append(errs, validateSecretRef(o, field+".password", password, false)...)
}

// validateHTTPURL checks the address of a service an addon talks to.
func validateHTTPURL(o Origin, field, raw, what, example string) ErrorList {
	if raw == "" {
		return ErrorList{o.Errorf(field, "required: %s, an http or https URL such as %s", what, example)}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrorList{o.Errorf(field, "%q is not an http or https URL such as %s", raw, example)}
	}
	if u.User != nil {
		// Not quoted: the address holds a password.
		return ErrorList{o.Errorf(field, "the address holds credentials, which must not be written into the repository; remove them and refer to them with username and password")}
	}
	return nil
}

func (p *CSIOperatorParams) validate(o Origin, field string) ErrorList {
	var errs ErrorList
	seen := map[CSIDriverType]int{}
	for i, d := range p.Drivers {
		f := fmt.Sprintf("%s.drivers[%d]", field, i)
		if e := oneOf(o, f+".type", d.Type, CSIRBD, CSICephFS, CSITencentCBS, CSITencentCFS); e != nil {
			errs = append(errs, e...)
			continue
		}
		if j, dup := seen[d.Type]; dup {
			errs = append(errs, o.Errorf(f+".type", "driver type %s is already listed as %s.drivers[%d]; list each driver once", d.Type, field, j))
			continue
		}
		seen[d.Type] = i
		if d.Type == CSITencentCBS || d.Type == CSITencentCFS {
			errs = append(errs, validateSecretRef(o, f+".secretID", d.SecretID, true)...)
			errs = append(errs, validateSecretRef(o, f+".secretKey", d.SecretKey, true)...)
		} else {
			for _, c := range []struct {
				name string
				ref  *SecretRef
			}{{"secretID", d.SecretID}, {"secretKey", d.SecretKey}} {
				if c.ref != nil {
					errs = append(errs, o.Errorf(f+"."+c.name, "only the Tencent Cloud drivers (TencentCBS, TencentCFS) take a Tencent Cloud API key; %s does not", d.Type))
				}
			}
		}
		if len(d.StorageClasses) > 0 && d.Type != CSITencentCBS {
			errs = append(errs, o.Errorf(f+".storageClasses", "StorageClasses are created for the TencentCBS driver only; create %s StorageClasses in an App", d.Type))
			continue
		}
		names := map[string]int{}
		for j, sc := range d.StorageClasses {
			sf := fmt.Sprintf("%s.storageClasses[%d]", f, j)
			if msgs := validation.IsDNS1123Subdomain(sc.Name); len(msgs) > 0 {
				errs = append(errs, o.Errorf(sf+".name", "%q is not a valid StorageClass name: %s", sc.Name, strings.Join(msgs, "; ")))
			} else if k, dup := names[sc.Name]; dup {
				errs = append(errs, o.Errorf(sf+".name", "StorageClass %q is already declared as %s.storageClasses[%d]", sc.Name, f, k))
			}
			names[sc.Name] = j
			errs = append(errs, oneOf(o, sf+".diskType", sc.DiskType, CBSCloudBasic, CBSCloudPremium, CBSCloudSSD)...)
		}
	}
	return errs
}

func (p *LBCFParams) validate(o Origin, field string) ErrorList {
	var errs ErrorList
	seen := map[string]int{}
	for i, d := range p.Drivers {
		f := fmt.Sprintf("%s.drivers[%d]", field, i)
		if msgs := validation.IsDNS1123Subdomain(d.Name); len(msgs) > 0 {
			errs = append(errs, o.Errorf(f+".name", "%q is not a valid LoadBalancerDriver name: %s", d.Name, strings.Join(msgs, "; ")))
		} else if j, dup := seen[d.Name]; dup {
			errs = append(errs, o.Errorf(f+".name", "driver %q is already declared as %s.drivers[%d]", d.Name, field, j))
		}
		seen[d.Name] = i
		errs = append(errs, validateHTTPURL(o, f+".url", d.URL, "the driver's webhook server", "http://lbcf-clb-driver.kube-system.svc")...)
	}
	return errs
}

// ipRange is one entry of a floating IP pool's ips, for the overlap check.
type ipRange struct {
	first, last netip.Addr
	text, field string
}

func (p *GalaxyIPAMParams) validate(o Origin, field string) ErrorList {
	if len(p.Pools) == 0 {
		return ErrorList{o.Errorf(field+".pools", "declare at least one floating IP pool: {routableSubnet, ips, subnet, gateway}")}
	}
	var errs ErrorList
	var ranges []ipRange
	for i, pool := range p.Pools {
		f := fmt.Sprintf("%s.pools[%d]", field, i)
		_, e := parseNetwork(o, f+".routableSubnet", pool.RoutableSubnet, "the node subnet these IPs can be used from")
		errs = append(errs, e...)
		subnet, e := parseNetwork(o, f+".subnet", pool.Subnet, "the pod IPs' network")
		errs = append(errs, e...)
		gw, err := netip.ParseAddr(pool.Gateway)
		switch {
		case pool.Gateway == "":
			errs = append(errs, o.Errorf(f+".gateway", "required: the pods' default gateway, an IP in the pool's subnet"))
		case err != nil:
			errs = append(errs, o.Errorf(f+".gateway", "%q is not an IP address", pool.Gateway))
		case subnet.IsValid() && !subnet.Contains(gw):
			errs = append(errs, o.Errorf(f+".gateway", "gateway %s is not in the pool's subnet %s", gw, subnet))
		}
		if len(pool.IPs) == 0 {
			errs = append(errs, o.Errorf(f+".ips", "required: the pod IPs to hand out, single IPs or ranges such as 192.168.64.200~192.168.64.251"))
		}
		for j, text := range pool.IPs {
			ipf := fmt.Sprintf("%s.ips[%d]", f, j)
			rg, e := parseIPRange(o, ipf, text)
			if e != nil {
				errs = append(errs, e...)
				continue
			}
			switch {
			case subnet.IsValid() && (!subnet.Contains(rg.first) || !subnet.Contains(rg.last)):
				errs = append(errs, o.Errorf(ipf, "%s is not in the pool's subnet %s", text, subnet))
			case gw.IsValid() && rg.first.Compare(gw) <= 0 && gw.Compare(rg.last) <= 0:
				errs = append(errs, o.Errorf(ipf, "%s includes the gateway %s; a pod must not be given the gateway's address", text, gw))
			}
			for _, prev := range ranges {
				if rg.first.BitLen() == prev.first.BitLen() && rg.first.Compare(prev.last) <= 0 && prev.first.Compare(rg.last) <= 0 {
					errs = append(errs, o.Errorf(ipf, "%s overlaps %s (%s); an IP belongs to one pool entry", text, prev.text, prev.field))
					break
				}
			}
			ranges = append(ranges, rg)
		}
		if pool.Vlan < 0 || pool.Vlan > 4094 {
			errs = append(errs, o.Errorf(f+".vlan", "a VLAN ID is 0 (none) to 4094, found %d", pool.Vlan))
		}
	}
	return errs
}

// parseNetwork parses a required CIDR that must be written as its network address.
func parseNetwork(o Origin, field, text, what string) (netip.Prefix, ErrorList) {
	if text == "" {
		return netip.Prefix{}, ErrorList{o.Errorf(field, "required: %s, a CIDR such as 192.168.64.0/24", what)}
	}
	p, err := netip.ParsePrefix(text)
	if err != nil {
		return netip.Prefix{}, ErrorList{o.Errorf(field, "%q is not a CIDR such as 192.168.64.0/24", text)}
	}
	if p != p.Masked() {
		return netip.Prefix{}, ErrorList{o.Errorf(field, "%s has host bits set; write the network as %s", text, p.Masked())}
	}
	return p, nil
}

// parseIPRange parses a single IP or a range "first~last".
func parseIPRange(o Origin, field, text string) (ipRange, ErrorList) {
	firstText, lastText, isRange := strings.Cut(text, "~")
	if !isRange {
		lastText = firstText
	}
	first, err1 := netip.ParseAddr(firstText)
	last, err2 := netip.ParseAddr(lastText)
	switch {
	case err1 != nil || err2 != nil:
		return ipRange{}, ErrorList{o.Errorf(field, "%q is neither an IP address nor a range such as 192.168.64.200~192.168.64.251", text)}
	case first.BitLen() != last.BitLen():
		return ipRange{}, ErrorList{o.Errorf(field, "range %s mixes IPv4 and IPv6", text)}
	case last.Less(first):
		return ipRange{}, ErrorList{o.Errorf(field, "range %s ends before it starts; write the lower address first", text)}
	}
	return ipRange{first: first, last: last, text: text, field: field}, nil
}

// validateOn checks that the addon can run on one of its target clusters.
func (a *Addon) validateOn(r *Repo, info AddonInfo, c *Cluster) ErrorList {
	o, name := a.Origin, c.Metadata.Name
	field := a.targetField(c)
	var errs ErrorList
	switch a.Spec.Type {
	case AddonGPUManager:
		if g := c.Spec.GPUType; g != GPUVirtual {
			hint := "; set the cluster's spec.gpuType to vGPU"
			if g == GPUPhysical {
				hint = "; pGPU clusters use NvidiaDevicePlugin"
			}
			errs = append(errs, o.Errorf(field, "GPUManager needs a vGPU cluster (fractional tencent.com/vcuda-core), but cluster %q has spec.gpuType %s%s", name, g, hint).WithKind(ProblemGPUAddon))
		}
	case AddonNvidiaDevicePlugin:
		if g := c.Spec.GPUType; g != GPUPhysical {
			hint := "; set the cluster's spec.gpuType to pGPU"
			if g == GPUVirtual {
				hint = "; vGPU clusters use GPUManager"
			}
			errs = append(errs, o.Errorf(field, "NvidiaDevicePlugin needs a pGPU cluster (whole nvidia.com/gpu), but cluster %q has spec.gpuType %s%s", name, g, hint).WithKind(ProblemGPUAddon))
		}
	case AddonGalaxy:
		if c.Spec.Network.Mode == NetworkFloatingIP && !r.HasAddon(c, AddonGalaxyIPAM) {
			errs = append(errs, o.Errorf(field, "cluster %q uses network mode floatingIP, which needs a GalaxyIPAM addon on the cluster to allocate the IPs", name))
		}
	case AddonGalaxyIPAM:
		if !r.HasAddon(c, AddonGalaxy) {
			errs = append(errs, o.Errorf(field, "GalaxyIPAM needs a Galaxy addon on the same cluster, and none targets cluster %q", name))
		}
	}
	if info.GlobalOnly && !isGlobalCluster(c) {
		errs = append(errs, o.Errorf(field, "%s runs only on the Global cluster (named %s or labelled %s: %s), and cluster %q is not it", info.Type, globalClusterName, globalClusterLabel, globalClusterName, name))
	}
	if oldest := info.MinKubernetes; oldest != "" && c.Spec.Version != "" && olderThan(c.Spec.Version, oldest) {
		errs = append(errs, o.Errorf(field, "%s needs Kubernetes %s or newer, but cluster %q runs %s", info.Type, oldest, name, c.Spec.Version))
	}
	return errs
}

// targetField is the field that makes the cluster a target: its entry in spec.clusters,
// or the selector.
func (a *Addon) targetField(c *Cluster) string {
	if i := slices.Index(a.Spec.Clusters, c.Metadata.Name); i >= 0 {
		return fmt.Sprintf("spec.clusters[%d]", i)
	}
	return "spec.selector"
}

// olderThan reports whether a MAJOR.MINOR.PATCH version is older than a MAJOR.MINOR
// one; a version it cannot read is not older.
func olderThan(v, oldest string) bool {
	vMajor, vMinor, ok1 := majorMinor(v)
	mMajor, mMinor, ok2 := majorMinor(oldest)
	if !ok1 || !ok2 {
		return false
	}
	return vMajor < mMajor || (vMajor == mMajor && vMinor < mMinor)
}

func majorMinor(v string) (major, minor int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// validateAddonsPerCluster checks the rules between the Addons of each cluster: one
// Addon of a type, and GPU-Manager or the NVIDIA device plugin, not both.
func (r *Repo) validateAddonsPerCluster() ErrorList {
	var errs ErrorList
	for _, c := range r.Clusters {
		first := map[AddonType]*Addon{}
		for _, a := range r.AddonsFor(c) {
			t := a.Spec.Type
			if _, known := AddonCatalog[t]; !known {
				continue
			}
			if prev, dup := first[t]; dup {
				errs = append(errs, a.Origin.Errorf(a.targetField(c), "cluster %q already has a %s addon, %q (declared at %s); a cluster runs one addon of each type", c.Metadata.Name, t, prev.Metadata.Name, prev.Origin.Pos("metadata.name")))
				continue
			}
			first[t] = a
		}
		gpu, nvidia := first[AddonGPUManager], first[AddonNvidiaDevicePlugin]
		if gpu != nil && nvidia != nil {
			later, other := nvidia, gpu
			if gpu.Metadata.Name > nvidia.Metadata.Name {
				later, other = gpu, nvidia
			}
			errs = append(errs, later.Origin.Errorf(later.targetField(c), "cluster %q also has the %s addon %q (declared at %s); a cluster uses GPU-Manager (vGPU) or the NVIDIA device plugin (pGPU), not both", c.Metadata.Name, other.Spec.Type, other.Metadata.Name, other.Origin.Pos("metadata.name")).WithKind(ProblemGPUAddon))
		}
	}
	return errs
}
