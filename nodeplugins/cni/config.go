package cni

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// Mode is a Galaxy network mode. The values are schema.NetworkMode's (the cluster's
// spec.network.mode, rendered into the conflist's defaultMode); they are repeated here
// so that the plugin binary, which the kubelet runs for every pod, does not link the
// fleet schema and its Kubernetes dependencies.
type Mode string

const (
	ModeOverlay    Mode = "overlay"
	ModeFloatingIP Mode = "floatingIP"
	ModeNAT        Mode = "nat"
	ModeHost       Mode = "host"
)

// Defaults for the conflist fields the Galaxy addon may leave out.
const (
	DefaultSubnetFile = "/run/flannel/subnet.env"
	DefaultDataDir    = "/var/lib/cni/networks"
	DefaultBridge     = "galaxy-br0"
	DefaultDevice     = "eth0"
)

// CNI_ARGS keys the plugin reads. Kubelet's K8S_POD_* keys are read for logs only.
const (
	// ArgNetworkMode picks the pod's network mode, overriding defaultMode.
	ArgNetworkMode = "GALAXY_NETWORK_MODE"
	// ArgIPInfos is Galaxy's key for the floating IPs: the JSON array galaxy-ipam writes
	// under "common"."ipinfos" of the pod annotation k8s.v1.cni.galaxy.io/args.
	ArgIPInfos = "ipinfos"
)

// AnnotationArgs is the pod annotation galaxy-ipam writes the floating IP into (the seed,
// §5.2): {"common":{"ipinfos":[{"ip":"192.168.64.202/24","vlan":0,"gateway":"192.168.64.1",
// "routable_subnet":"172.21.64.0/20"}]}}.
const AnnotationArgs = "k8s.v1.cni.galaxy.io/args"

// NetConf is gitfleet-cni's entry of the galaxy conflist, as render/addons writes it
// (galaxyConf), plus the fields the runtime adds per invocation.
type NetConf struct {
	types.PluginConf

	// DefaultMode is the mode of pods that name none (the cluster's spec.network.mode).
	DefaultMode Mode `json:"defaultMode"`
	// Flannel is the overlay: flanneld writes the node's pod subnet into SubnetFile.
	Flannel struct {
		SubnetFile string `json:"subnetFile"`
		// Backend is how flannel crosses nodes (ipip, host-gw, vxlan). The plugin does
		// not need it: flanneld owns the node-to-node routes; it is kept for the logs.
		Backend string `json:"backend"`
	} `json:"flannel"`
	// Device is the node's NIC that floating-IP pods are bridged onto.
	Device string `json:"device"`
	// Bridge is the underlay bridge floating-IP pods attach to; the device becomes its
	// port and its addresses move onto it.
	Bridge string `json:"bridge,omitempty"`
	// DataDir holds the host-local IPAM reservations (one directory per network name) and
	// the plugin's per-pod state. Tests point it at a temporary directory.
	DataDir string `json:"dataDir,omitempty"`

	// RuntimeConfig carries the capabilities the runtime fills in (portMappings).
	RuntimeConfig struct {
		PortMappings []PortMapping `json:"portMappings,omitempty"`
	} `json:"runtimeConfig"`
	// Args is the CNI "args" convention: per-invocation data a runtime (or Galaxy's
	// daemon) inserts into the configuration. It accepts the value of the pod annotation
	// k8s.v1.cni.galaxy.io/args as is, plus networkMode.
	Args *ConfArgs `json:"args,omitempty"`
}

// ConfArgs is the conflist's "args" object.
type ConfArgs struct {
	NetworkMode Mode `json:"networkMode,omitempty"`
	Common      struct {
		IPInfos []IPInfo `json:"ipinfos,omitempty"`
	} `json:"common"`
}

// PortMapping is one entry of the portMappings capability (a pod's hostPort).
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// IPInfo is one floating IP as galaxy-ipam writes it.
type IPInfo struct {
	IP             string `json:"ip"`
	Vlan           int    `json:"vlan"`
	Gateway        string `json:"gateway"`
	RoutableSubnet string `json:"routable_subnet,omitempty"`
}

// Invocation is everything one ADD, DEL or CHECK works from: the parsed configuration
// and the pod's choices, resolved once.
type Invocation struct {
	Conf     *NetConf
	Mode     Mode
	IPInfos  []IPInfo
	IPInfo   *IPInfo // floating IP mode only, set by ADD's validation
	PodName  string  // K8S_POD_NAMESPACE/K8S_POD_NAME, for logs and errors
	PortMaps []PortMapping
}

// ParseConfig reads the plugin's configuration from stdin's bytes and the CNI_ARGS
// string, fills defaults and resolves the pod's network mode: GALAXY_NETWORK_MODE (or
// args.networkMode), else floatingIP when the pod has a floating IP, else defaultMode.
func ParseConfig(stdin []byte, cniArgs string) (*Invocation, error) {
	conf := &NetConf{}
	if err := json.Unmarshal(stdin, conf); err != nil {
		return nil, &ConfigError{Field: "(network configuration)", Err: fmt.Errorf("not valid JSON: %w", err)}
	}
	if conf.Flannel.SubnetFile == "" {
		conf.Flannel.SubnetFile = DefaultSubnetFile
	}
	if conf.DataDir == "" {
		conf.DataDir = DefaultDataDir
	}
	if conf.Bridge == "" {
		conf.Bridge = DefaultBridge
	}
	if conf.Device == "" {
		conf.Device = DefaultDevice
	}
	if conf.Name == "" {
		return nil, &ConfigError{Field: "name", Err: fmt.Errorf("required: it names the IPAM store under dataDir")}
	}
	if len(conf.Bridge) > 15 {
		return nil, &ConfigError{Field: "bridge", Err: fmt.Errorf("%q is longer than Linux's 15-character interface names", conf.Bridge)}
	}
	if conf.DefaultMode == "" {
		conf.DefaultMode = ModeOverlay
	}
	if err := checkMode(conf.DefaultMode); err != nil {
		return nil, &ConfigError{Field: "defaultMode", Err: err}
	}

	inv := &Invocation{Conf: conf, PortMaps: conf.RuntimeConfig.PortMappings}
	args := parseCNIArgs(cniArgs)
	if ns, name := args["K8S_POD_NAMESPACE"], args["K8S_POD_NAME"]; name != "" {
		inv.PodName = ns + "/" + name
	}

	var infos []IPInfo
	if conf.Args != nil {
		infos = conf.Args.Common.IPInfos
		inv.Mode = conf.Args.NetworkMode
	}
	if raw, ok := args[ArgIPInfos]; ok && raw != "" {
		infos = nil
		if err := json.Unmarshal([]byte(raw), &infos); err != nil {
			return nil, &ConfigError{Field: "CNI_ARGS " + ArgIPInfos, Err: fmt.Errorf("not a JSON array of {ip, vlan, gateway}: %w", err)}
		}
	}
	if m, ok := args[ArgNetworkMode]; ok && m != "" {
		inv.Mode = Mode(m)
	}
	if inv.Mode == "" {
		inv.Mode = conf.DefaultMode
		if len(infos) > 0 {
			inv.Mode = ModeFloatingIP
		}
	}
	if err := checkMode(inv.Mode); err != nil {
		return nil, &ConfigError{Field: "CNI_ARGS " + ArgNetworkMode, Err: err}
	}
	inv.IPInfos = infos
	return inv, nil
}

func checkMode(m Mode) error {
	switch m {
	case ModeOverlay, ModeFloatingIP, ModeNAT, ModeHost:
		return nil
	}
	return fmt.Errorf("unknown network mode %q: want overlay, floatingIP, nat or host", m)
}

func pickIPInfo(infos []IPInfo) (*IPInfo, error) {
	switch len(infos) {
	case 0:
		return nil, &ConfigError{Field: "CNI_ARGS " + ArgIPInfos, Err: fmt.Errorf(
			"the pod is in floatingIP mode but has no floating IP: galaxy-ipam writes it into the pod annotation %s at bind time; "+
				"pass its common.ipinfos as CNI_ARGS %s=<JSON array> or as the configuration's args.common.ipinfos", AnnotationArgs, ArgIPInfos)}
	case 1:
	default:
		return nil, &ConfigError{Field: "CNI_ARGS " + ArgIPInfos, Err: fmt.Errorf("%d floating IPs given; gitfleet-cni attaches one interface per network and takes exactly one", len(infos))}
	}
	info := infos[0]
	if _, err := netip.ParsePrefix(info.IP); err != nil {
		return nil, &ConfigError{Field: "ipinfos[0].ip", Err: fmt.Errorf("%q is not an address with its prefix length (like 192.168.64.202/24): %w", info.IP, err)}
	}
	if _, err := netip.ParseAddr(info.Gateway); err != nil {
		return nil, &ConfigError{Field: "ipinfos[0].gateway", Err: fmt.Errorf("%q is not an IP address: %w", info.Gateway, err)}
	}
	if info.Vlan != 0 {
		// A tagged floating IP needs a VLAN sub-interface and a bridge per VLAN; until
		// that exists, say so rather than put the pod on the untagged network.
		return nil, &ConfigError{Field: "ipinfos[0].vlan", Err: fmt.Errorf("VLAN %d: gitfleet-cni bridges floating IPs onto the untagged device only (vlan 0)", info.Vlan)}
	}
	return &info, nil
}

func checkPortMapping(pm PortMapping, mode Mode) error {
	if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
		return fmt.Errorf("containerPort %d is not a port (1-65535)", pm.ContainerPort)
	}
	if pm.HostPort < 0 || pm.HostPort > 65535 {
		return fmt.Errorf("hostPort %d is not a port (0-65535)", pm.HostPort)
	}
	if pm.HostPort == 0 && mode != ModeNAT {
		return fmt.Errorf("hostPort 0 (a random host port) is given only in nat mode, not %s", mode)
	}
	switch strings.ToLower(pm.Protocol) {
	case "", "tcp", "udp", "sctp":
	default:
		return fmt.Errorf("protocol %q: want tcp, udp or sctp", pm.Protocol)
	}
	if pm.HostIP != "" {
		if _, err := netip.ParseAddr(pm.HostIP); err != nil {
			return fmt.Errorf("hostIP %q is not an IP address", pm.HostIP)
		}
	}
	return nil
}

// parseCNIArgs splits CNI_ARGS ("K=V;K=V"). It keeps unknown keys, and splits each pair
// at its first "=" only, because Galaxy's ipinfos value is JSON.
func parseCNIArgs(s string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(pair, "=")
		if ok && k != "" {
			out[k] = v
		}
	}
	return out
}
