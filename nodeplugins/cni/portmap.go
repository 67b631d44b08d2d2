package cni

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"

	"github.com/containernetworking/plugins/pkg/utils"
	"github.com/coreos/go-iptables/iptables"
)

// Host ports (the pod's hostPort, nat mode's port mapping) are iptables DNAT rules in the
// nat table, as the CNI portmap plugin writes them: PREROUTING and OUTPUT jump, for
// packets to one of the node's own addresses, to GITFLEET-HOSTPORTS; that chain jumps to
// one chain per pod (CNI-GF-<hash of network and container>), tagged with the
// container's ID, which holds the pod's DNAT rules. DEL removes the jump and the pod's
// chain; the two shared jumps stay, as they cost nothing when empty.

const (
	natTable      = "nat"
	hostPortChain = "GITFLEET-HOSTPORTS"
)

func podPortChain(network, containerID, ifName string) string {
	return utils.MustFormatChainNameWithPrefix(network, containerID+"/"+ifName, "GF-")
}

func podPortComment(network, containerID string) string {
	return utils.FormatComment(network, containerID)
}

// hostPorts writes and removes one pod's DNAT rules.
type hostPorts struct {
	ipt     *iptables.IPTables
	network string
}

func newHostPorts(network string) (*hostPorts, error) {
	ipt, err := iptables.NewWithProtocol(iptables.ProtocolIPv4)
	if err != nil {
		return nil, fmt.Errorf("host ports need iptables on the node: %w", err)
	}
	return &hostPorts{ipt: ipt, network: network}, nil
}

// Map installs the pod's mappings to podIP. Mappings without a host port (nat mode's
// "no port given") get a free one from the node's ephemeral range; the mappings as
// installed are returned.
func (h *hostPorts) Map(containerID, ifName string, podIP net.IP, maps []PortMapping) ([]PortMapping, error) {
	if err := utils.EnsureChain(h.ipt, natTable, hostPortChain); err != nil {
		return nil, fmt.Errorf("create iptables chain %s: %w", hostPortChain, err)
	}
	jump := []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", hostPortChain}
	for _, from := range []string{"PREROUTING", "OUTPUT"} {
		if err := utils.InsertUnique(h.ipt, natTable, from, true, jump); err != nil {
			return nil, fmt.Errorf("jump from nat %s to %s: %w", from, hostPortChain, err)
		}
	}
	chain := podPortChain(h.network, containerID, ifName)
	if err := utils.ClearChain(h.ipt, natTable, chain); err != nil {
		return nil, fmt.Errorf("create the pod's iptables chain %s: %w", chain, err)
	}
	installed := make([]PortMapping, 0, len(maps))
	for _, pm := range maps {
		if pm.HostPort == 0 {
			port, err := freeHostPort(protocol(pm))
			if err != nil {
				return installed, err
			}
			pm.HostPort = port
		}
		if err := h.ipt.Append(natTable, chain, dnatRule(pm, podIP)...); err != nil {
			return installed, fmt.Errorf("map host port %d/%s to %s:%d: %w", pm.HostPort, protocol(pm), podIP, pm.ContainerPort, err)
		}
		installed = append(installed, pm)
	}
	link := []string{"-m", "comment", "--comment", podPortComment(h.network, containerID), "-j", chain}
	if err := h.ipt.AppendUnique(natTable, hostPortChain, link...); err != nil {
		return installed, fmt.Errorf("jump from %s to the pod's chain %s: %w", hostPortChain, chain, err)
	}
	return installed, nil
}

// Unmap removes the pod's rules; rules already gone are not an error.
func (h *hostPorts) Unmap(containerID, ifName string) error {
	chain := podPortChain(h.network, containerID, ifName)
	link := []string{"-m", "comment", "--comment", podPortComment(h.network, containerID), "-j", chain}
	if err := utils.DeleteRule(h.ipt, natTable, hostPortChain, link...); err != nil {
		return fmt.Errorf("remove the jump to the pod's chain %s: %w", chain, err)
	}
	if err := h.ipt.ClearAndDeleteChain(natTable, chain); err != nil {
		var ie *iptables.Error
		if !(errors.As(err, &ie) && ie.IsNotExist()) {
			return fmt.Errorf("remove the pod's iptables chain %s: %w", chain, err)
		}
	}
	return nil
}

// Check verifies that every mapping's rule is in place.
func (h *hostPorts) Check(containerID, ifName string, podIP net.IP, maps []PortMapping) error {
	chain := podPortChain(h.network, containerID, ifName)
	for _, pm := range maps {
		ok, err := h.ipt.Exists(natTable, chain, dnatRule(pm, podIP)...)
		if err != nil {
			return fmt.Errorf("read iptables chain %s: %w", chain, err)
		}
		if !ok {
			return fmt.Errorf("host port %d/%s is not mapped to %s:%d (chain %s)", pm.HostPort, protocol(pm), podIP, pm.ContainerPort, chain)
		}
	}
	return nil
}

func dnatRule(pm PortMapping, podIP net.IP) []string {
	rule := []string{"-p", protocol(pm), "--dport", strconv.Itoa(pm.HostPort)}
	if pm.HostIP != "" && pm.HostIP != "0.0.0.0" {
		rule = append(rule, "-d", pm.HostIP)
	}
	return append(rule, "-j", "DNAT", "--to-destination", net.JoinHostPort(podIP.String(), strconv.Itoa(pm.ContainerPort)))
}

func protocol(pm PortMapping) string {
	if pm.Protocol == "" {
		return "tcp"
	}
	return strings.ToLower(pm.Protocol)
}

// freeHostPort asks the kernel for a port no socket on the node holds, the way Galaxy
// picks a random host port.
func freeHostPort(proto string) (int, error) {
	switch proto {
	case "udp":
		c, err := net.ListenPacket("udp4", ":0")
		if err != nil {
			return 0, fmt.Errorf("pick a free udp host port: %w", err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp4", ":0")
		if err != nil {
			return 0, fmt.Errorf("pick a free %s host port: %w", proto, err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

// iptablesPresent says whether the node has iptables at all: without it no host port
// can ever have been mapped, and DEL need not look.
func iptablesPresent() bool {
	_, err := exec.LookPath("iptables")
	return err == nil
}
