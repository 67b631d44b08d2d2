package cni

import (
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The overlay wires a pod the way flannel's host-gw and TKEStack's overlay do on one
// node: no bridge. Each pod has a veth whose node end carries the node's gateway address
// (the flannel subnet's first host, the same /32 on every pod's veth) and a /32 route to
// the pod; the pod has its address with the subnet's prefix length but no subnet route,
// only a link route to the gateway and its default route through it. Every packet a pod
// sends, to a pod on the same node included, is routed by the node, which is where
// NetworkPolicy and flannel's routes to other nodes apply, and there is no bridge whose
// forwarding database, MTU or br_netfilter settings could differ from the routed path.

// wireOverlayPod configures the pod's interface: address without a subnet route, a link
// route to the gateway and the default route through it.
func wireOverlayPod(podNS ns.NetNS, ifName string, ipc *current.IPConfig) error {
	return podNS.Do(func(ns.NetNS) error {
		link, err := netlink.LinkByName(ifName)
		if err != nil {
			return fmt.Errorf("find the pod interface %s: %w", ifName, err)
		}
		// IFA_F_NOPREFIXROUTE: the subnet's other pods are reached through the gateway,
		// never by ARP on this link, where nothing but the node answers.
		addr := &netlink.Addr{IPNet: &ipc.Address, Flags: unix.IFA_F_NOPREFIXROUTE}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("add %s to the pod interface %s: %w", ipc.Address.String(), ifName, err)
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("set the pod interface %s up: %w", ifName, err)
		}
		gw := &net.IPNet{IP: ipc.Gateway, Mask: net.CIDRMask(32, 32)}
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: gw, Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("add the pod's link route to gateway %s: %w", ipc.Gateway, err)
		}
		// The subnet through the gateway too: the same path as the default route, but
		// it is the route CNI's CHECK (ip.ValidateExpectedInterfaceIPs) looks for.
		subnet := &net.IPNet{IP: ipc.Address.IP.Mask(ipc.Address.Mask), Mask: ipc.Address.Mask}
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: subnet, Gw: ipc.Gateway}); err != nil {
			return fmt.Errorf("add the pod's route to %s via %s: %w", subnet, ipc.Gateway, err)
		}
		if err := ip.AddDefaultRoute(ipc.Gateway, link); err != nil {
			return fmt.Errorf("add the pod's default route via %s: %w", ipc.Gateway, err)
		}
		return nil
	})
}

// wireOverlayNode gives the node end of the veth the gateway address and routes the
// pod's /32 to it. IP forwarding is turned on because the node routes between pods.
func wireOverlayNode(host netlink.Link, ipc *current.IPConfig) error {
	gw := &net.IPNet{IP: ipc.Gateway, Mask: net.CIDRMask(32, 32)}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: gw}); err != nil {
		return fmt.Errorf("add gateway %s to the node side %s: %w", gw, host.Attrs().Name, err)
	}
	pod := &net.IPNet{IP: ipc.Address.IP, Mask: net.CIDRMask(32, 32)}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: host.Attrs().Index, Dst: pod, Scope: netlink.SCOPE_LINK}); err != nil {
		return fmt.Errorf("add the node's route to pod %s via %s: %w", pod, host.Attrs().Name, err)
	}
	if err := ip.EnableIP4Forward(); err != nil {
		return fmt.Errorf("enable IPv4 forwarding on the node: %w", err)
	}
	return nil
}

// checkOverlayNode verifies the node's route to the pod.
func checkOverlayNode(hostName string, podIP net.IP) error {
	link, err := netlink.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("node side %s of the pod's veth: %w", hostName, err)
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{
		Dst: &net.IPNet{IP: podIP, Mask: net.CIDRMask(32, 32)}, LinkIndex: link.Attrs().Index,
	}, netlink.RT_FILTER_DST|netlink.RT_FILTER_OIF)
	if err != nil {
		return fmt.Errorf("list the node's routes on %s: %w", hostName, err)
	}
	if len(routes) == 0 {
		return fmt.Errorf("the node has no route to pod %s on %s", podIP, hostName)
	}
	return nil
}

// defaultRoute is the route the result reports for a pod routed through gw.
func defaultRoute(gw net.IP) *types.Route {
	return &types.Route{Dst: net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, GW: gw}
}
