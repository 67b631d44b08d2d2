package schema

import (
	"fmt"
	"math/bits"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults from TKEStack's cluster forms.
const (
	DefaultNetworkDevice = "eth0"
	DefaultDNSDomain     = "cluster.local"
	DefaultSSHPort       = 22
	DefaultSSHUser       = "root"
	DefaultAPIServerPort = 443
)

// nicName is TKEStack's NIC name rule (seed-extract 1.2): at most 63 lowercase letters,
// digits and '-', starting with a lowercase letter (not a digit, unlike a DNS label) and
// ending with a letter or digit.
var nicName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// privateRanges are the only ranges a container network may use (RFC 1918).
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// defaultsClusters fills in TKEStack's defaults.
func (r *Repo) defaultsClusters() {
	for _, c := range r.Clusters {
		c.setDefaults()
	}
}

// validateClusters checks every Cluster, and that no machine is declared twice.
func (r *Repo) validateClusters() ErrorList {
	var errs ErrorList
	machineAt := map[string]Position{}
	for _, c := range r.Clusters {
		errs = append(errs, c.validate(r.Fleet)...)
		for i, m := range c.Spec.Machines {
			field := fmt.Sprintf("spec.machines[%d].ip", i)
			if prev, ok := machineAt[m.IP]; ok && m.IP != "" {
				errs = append(errs, c.Origin.Errorf(field, "machine %s is already declared at %s; a machine belongs to one cluster", m.IP, prev))
				continue
			}
			machineAt[m.IP] = c.Origin.Pos(field)
		}
	}
	return errs
}

func (c *Cluster) setDefaults() {
	s := &c.Spec
	if s.Type == "" {
		s.Type = ClusterImported
	}
	if s.Credentials.KubeconfigContext == "" {
		s.Credentials.KubeconfigContext = c.Metadata.Name
	}
	if s.APIServer != nil && s.APIServer.Port == 0 {
		s.APIServer.Port = DefaultAPIServerPort
	}
	if s.NetworkDevice == "" {
		s.NetworkDevice = DefaultNetworkDevice
	}
	if s.GPUType == "" {
		s.GPUType = GPUNone
	}
	if s.Network.Mode == "" {
		s.Network.Mode = NetworkOverlay
	}
	if s.DNSDomain == "" {
		s.DNSDomain = DefaultDNSDomain
	}
	if s.Overcommit == 0 {
		s.Overcommit = 1
	}
	if s.Upgrade.Mode == "" {
		s.Upgrade.Mode = UpgradeAuto
	}
	if s.HA != nil && s.HA.Type == HAThirdParty && s.HA.VPort == 0 {
		s.HA.VPort = 6443
	}
	for i := range s.Machines {
		m := &s.Machines[i]
		if m.Port == 0 {
			m.Port = DefaultSSHPort
		}
		if m.Username == "" {
			m.Username = DefaultSSHUser
		}
		if m.Role == "" {
			m.Role = RoleWorker
		}
	}
}

func (c *Cluster) validate(f *Fleet) ErrorList {
	o, s := c.Origin, &c.Spec
	errs := validateName(o, c.Metadata.Name)
	errs = append(errs, validateLabels(o, "metadata.labels", c.Metadata.Labels)...)
	if n := utf8.RuneCountInString(s.DisplayName); n >= 60 {
		errs = append(errs, o.Errorf("spec.displayName", "must be shorter than 60 characters (TKEStack's limit), found %d", n))
	}
	errs = append(errs, oneOf(o, "spec.type", s.Type, ClusterImported, ClusterBaremetal)...)
	errs = append(errs, c.validateVersion(f)...)
	errs = append(errs, validateSecretRef(o, "spec.credentials.token", s.Credentials.Token, false)...)
	errs = append(errs, validateSecretRef(o, "spec.credentials.caData", s.Credentials.CAData, false)...)
	if a := s.APIServer; a != nil {
		switch {
		case strings.Contains(a.Host, "://"):
			errs = append(errs, o.Errorf("spec.apiServer.host", "write the host without a scheme (TKEStack's import form): %q", a.Host[strings.Index(a.Host, "://")+3:]))
		case a.Host == "":
			errs = append(errs, o.Errorf("spec.apiServer.host", "the API server's domain or IP is required"))
		}
		errs = append(errs, validatePort(o, "spec.apiServer.port", a.Port)...)
	}
	if len(s.NetworkDevice) > 63 || !nicName.MatchString(s.NetworkDevice) {
		errs = append(errs, o.Errorf("spec.networkDevice", "%q is not a valid NIC name: at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit", s.NetworkDevice))
	}
	errs = append(errs, oneOf(o, "spec.gpuType", s.GPUType, GPUNone, GPUVirtual, GPUPhysical)...)
	errs = append(errs, c.validateNetwork()...)
	if msgs := validation.IsDNS1123Subdomain(s.DNSDomain); len(msgs) > 0 {
		errs = append(errs, o.Errorf("spec.dnsDomain", "%q is not a DNS domain: %s", s.DNSDomain, strings.Join(msgs, "; ")))
	}
	errs = append(errs, validateResources(o, "spec.capacity", s.Capacity)...)
	if s.Overcommit < 1 || s.Overcommit > 10 {
		errs = append(errs, o.Errorf("spec.overcommit", "overcommit ratio must be between 1 (no overcommit) and 10, found %g", s.Overcommit))
	}
	errs = append(errs, oneOf(o, "spec.upgrade.mode", s.Upgrade.Mode, UpgradeAuto, UpgradeManual)...)
	if s.Upgrade.MaxUnready < 0 || s.Upgrade.MaxUnready > 100 {
		errs = append(errs, o.Errorf("spec.upgrade.maxUnready", "a percentage of pods, 0 to 100, found %d", s.Upgrade.MaxUnready))
	}
	errs = append(errs, c.validateMachines()...)
	errs = append(errs, c.validateHA()...)
	return errs
}

func (c *Cluster) validateVersion(f *Fleet) ErrorList {
	v := c.Spec.Version
	switch {
	case v == "":
		return nil
	case !version.MatchString(v):
		return ErrorList{c.Origin.Errorf("spec.version", "%q is not a Kubernetes version; write it as MAJOR.MINOR.PATCH, for example 1.18.3", v)}
	case len(f.Spec.KubernetesVersions) > 0 && !slices.Contains(f.Spec.KubernetesVersions, v):
		return ErrorList{c.Origin.Errorf("spec.version", "version %s is not in the Fleet's kubernetesVersions (%s)", v, strings.Join(f.Spec.KubernetesVersions, ", "))}
	}
	return nil
}

func (c *Cluster) validateNetwork() ErrorList {
	o, n := c.Origin, &c.Spec.Network
	errs := oneOf(o, "spec.network.mode", n.Mode, NetworkOverlay, NetworkFloatingIP, NetworkNAT, NetworkHost)
	if n.ClusterCIDR != "" {
		p, err := netip.ParsePrefix(n.ClusterCIDR)
		switch {
		case err != nil:
			errs = append(errs, o.Errorf("spec.network.clusterCIDR", "%q is not a CIDR such as 172.16.0.0/16", n.ClusterCIDR))
		case !slices.ContainsFunc(privateRanges, func(r netip.Prefix) bool { return r.Contains(p.Addr()) && r.Bits() <= p.Bits() }):
			errs = append(errs, o.Errorf("spec.network.clusterCIDR", "%s is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)", n.ClusterCIDR))
		default:
			for i, m := range c.Spec.Machines {
				if ip, err := netip.ParseAddr(m.IP); err == nil && p.Contains(ip) {
					errs = append(errs, o.Errorf("spec.network.clusterCIDR", "container network %s overlaps machine %s (spec.machines[%d]); cluster initialisation would fail: pick a range that none of the machines' IPs is in", n.ClusterCIDR, m.IP, i))
				}
			}
		}
	}
	// The seed leaves the allowed values open; these are the powers of two TKEStack's
	// console offers, which keep the pod and service CIDR arithmetic exact.
	if v := n.MaxNodePodNum; v != 0 && (v < 16 || v > 256 || bits.OnesCount(uint(v)) != 1) {
		errs = append(errs, o.Errorf("spec.network.maxNodePodNum", "pods per node must be a power of two from 16 to 256, found %d", v))
	}
	if v := n.MaxClusterServiceNum; v != 0 && (v < 32 || v > 32768 || bits.OnesCount(uint(v)) != 1) {
		errs = append(errs, o.Errorf("spec.network.maxClusterServiceNum", "services per cluster must be a power of two from 32 to 32768, found %d", v))
	}
	return errs
}

func (c *Cluster) validateMachines() ErrorList {
	o, s := c.Origin, &c.Spec
	var errs ErrorList
	if s.Type == ClusterImported && len(s.Machines) > 0 {
		return ErrorList{o.Errorf("spec.machines", "an Imported cluster has no machines: TKEStack adds and removes nodes only on Baremetal clusters; set spec.type: Baremetal or remove the machines")}
	}
	if s.Type == ClusterBaremetal && !slices.ContainsFunc(s.Machines, func(m Machine) bool { return m.Role == RoleMaster }) {
		errs = append(errs, o.Errorf("spec.machines", "a Baremetal cluster needs at least one machine with role: master"))
	}
	seen := map[string]int{}
	for i, m := range s.Machines {
		p := fmt.Sprintf("spec.machines[%d]", i)
		if _, err := netip.ParseAddr(m.IP); err != nil {
			errs = append(errs, o.Errorf(p+".ip", "%q is not an IP address (one machine per entry; TKEStack's \"a;b\" lists are written as separate machines)", m.IP))
		} else if j, dup := seen[m.IP]; dup {
			errs = append(errs, o.Errorf(p+".ip", "machine %s is already listed as spec.machines[%d]", m.IP, j))
		}
		seen[m.IP] = i
		errs = append(errs, validatePort(o, p+".port", m.Port)...)
		if strings.TrimSpace(m.Username) == "" || strings.ContainsAny(m.Username, " \t\n;'\"$`\\") {
			errs = append(errs, o.Errorf(p+".username", "%q is not a valid SSH user name", m.Username))
		}
		switch {
		case m.Password != nil && m.PrivateKey != nil:
			errs = append(errs, o.Errorf(p, "set either password or privateKey, not both"))
		case m.Password == nil && m.PrivateKey == nil:
			errs = append(errs, o.Errorf(p, "SSH credentials are required: set password or privateKey (by reference)"))
		}
		if m.Passphrase != nil && m.PrivateKey == nil {
			errs = append(errs, o.Errorf(p+".passphrase", "a passphrase only unlocks a privateKey"))
		}
		errs = append(errs, validateSecretRef(o, p+".password", m.Password, false)...)
		errs = append(errs, validateSecretRef(o, p+".privateKey", m.PrivateKey, false)...)
		errs = append(errs, validateSecretRef(o, p+".passphrase", m.Passphrase, false)...)
		errs = append(errs, oneOf(o, p+".role", m.Role, RoleMaster, RoleWorker)...)
		if m.GPU && s.GPUType == GPUNone {
			errs = append(errs, o.Errorf(p+".gpu", "machine %s has GPUs but the cluster's spec.gpuType is none; set vGPU (GPU-Manager) or pGPU (NVIDIA device plugin)", m.IP).WithKind(ProblemGPUAddon))
		}
		errs = append(errs, validateLabels(o, p+".labels", m.Labels)...)
		for j, t := range m.Taints {
			tp := fmt.Sprintf("%s.taints[%d]", p, j)
			if msgs := validation.IsQualifiedName(t.Key); len(msgs) > 0 {
				errs = append(errs, o.Errorf(tp+".key", "%q is not a valid taint key: %s", t.Key, strings.Join(msgs, "; ")))
			}
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, o.Errorf(tp+".value", "%q is not a valid taint value: %s", t.Value, strings.Join(msgs, "; ")))
			}
			errs = append(errs, oneOf(o, tp+".effect", t.Effect, "NoSchedule", "PreferNoSchedule", "NoExecute")...)
		}
	}
	return errs
}

func (c *Cluster) validateHA() ErrorList {
	o, ha := c.Origin, c.Spec.HA
	if ha == nil {
		return nil
	}
	errs := oneOf(o, "spec.ha.type", ha.Type, HATKE, HAThirdParty)
	if _, err := netip.ParseAddr(ha.VIP); err != nil {
		errs = append(errs, o.Errorf("spec.ha.vip", "the virtual IP is required and must be an IP address, found %q", ha.VIP))
	}
	if ha.Type == HAThirdParty {
		errs = append(errs, validatePort(o, "spec.ha.vport", ha.VPort)...)
	}
	masters := 0
	for _, m := range c.Spec.Machines {
		if m.Role == RoleMaster {
			masters++
		}
	}
	if c.Spec.Type == ClusterBaremetal && masters < 3 {
		errs = append(errs, o.Errorf("spec.ha", "HA needs at least 3 masters (otherwise etcd can split-brain), found %d", masters))
	}
	return errs
}

// oneOf checks an enum field and suggests the closest valid value.
func oneOf[T ~string](o Origin, field string, got T, valid ...T) ErrorList {
	if slices.Contains(valid, got) {
		return nil
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return ErrorList{o.Errorf(field, "%s", unknownName("value", string(got), names))}
}

func validatePort(o Origin, field string, port int) ErrorList {
	if port < 1 || port > 65535 {
		return ErrorList{o.Errorf(field, "a port is 1 to 65535, found %d", port)}
	}
	return nil
}

// validateLabels checks Kubernetes label keys and values.
func validateLabels(o Origin, field string, labels map[string]string) ErrorList {
	var errs ErrorList
	for _, k := range sortedKeys(labels) {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			errs = append(errs, o.Errorf(field+"."+k, "%q is not a valid label key: %s", k, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(labels[k]); len(msgs) > 0 {
			errs = append(errs, o.Errorf(field+"."+k, "%q is not a valid label value: %s", labels[k], strings.Join(msgs, "; ")))
		}
	}
	return errs
}

// validateResources checks that every quantity is non-negative.
func validateResources(o Origin, field string, rl ResourceList) ErrorList {
	var errs ErrorList
	for _, k := range sortedKeys(rl) {
		if q := rl[k]; q.Sign() < 0 {
			errs = append(errs, o.Errorf(field+"."+k, "must not be negative, found %s", q.String()))
		}
	}
	return errs
}
