package cni

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Floating IP mode puts the pod on the underlay: its address is one galaxy-ipam chose
// from the floatingip-config pools, in the node NIC's own L2 network, so the pod is
// reachable from physical machines as the seed's FloatingIP mode promises. The node NIC
// becomes a port of a Linux bridge (Galaxy's galaxy-k8s-vlan does the same with its
// "docker" bridge); the NIC's addresses and routes move onto the bridge, which takes the
// NIC's MAC so neighbours' ARP caches stay right. Each pod's veth is another port.

// floatingIPConfig turns the pod's ipinfo into the IP configuration the pod gets.
func floatingIPConfig(info *IPInfo) (*current.IPConfig, error) {
	prefix, err := netip.ParsePrefix(info.IP)
	if err != nil {
		return nil, &ConfigError{Field: "ipinfos[0].ip", Err: err}
	}
	gw, err := netip.ParseAddr(info.Gateway)
	if err != nil {
		return nil, &ConfigError{Field: "ipinfos[0].gateway", Err: err}
	}
	if !prefix.Contains(gw) {
		return nil, &ConfigError{Field: "ipinfos[0].gateway", Err: fmt.Errorf("%s is outside the floating IP's subnet %s", gw, prefix.Masked())}
	}
	addr := prefixToIPNet(prefix)
	return &current.IPConfig{Address: *addr, Gateway: net.IP(gw.AsSlice())}, nil
}

// ensureUnderlayBridge makes bridge the node's underlay with device as its port, once per
// node. Concurrent ADDs serialise on a lock file so only one moves the NIC's addresses.
func ensureUnderlayBridge(dataDir, network, device, bridge string) (netlink.Link, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dataDir, err)
	}
	lock, err := openFileLock(filepath.Join(dataDir, network+".bridge.lock"))
	if err != nil {
		return nil, err
	}
	defer lock.Close() // closing the file releases the flock
	if err := lock.Lock(); err != nil {
		return nil, err
	}

	dev, err := netlinksafe.LinkByName(device)
	if err != nil {
		return nil, &ConfigError{Field: "device", Err: fmt.Errorf("the node has no interface %q for floating IPs (the cluster's networkDevice): %w", device, err)}
	}
	br, err := netlinksafe.LinkByName(bridge)
	switch {
	case err == nil:
		if _, ok := br.(*netlink.Bridge); !ok {
			return nil, &ConfigError{Field: "bridge", Err: fmt.Errorf("the node's interface %s is a %s, not a bridge", bridge, br.Type())}
		}
		if dev.Attrs().MasterIndex == br.Attrs().Index {
			return br, nil
		}
	case errors.As(err, new(netlink.LinkNotFoundError)):
		attrs := netlink.NewLinkAttrs()
		attrs.Name = bridge
		attrs.MTU = dev.Attrs().MTU
		attrs.HardwareAddr = dev.Attrs().HardwareAddr
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return nil, fmt.Errorf("create the underlay bridge %s: %w", bridge, err)
		}
		if br, err = netlinksafe.LinkByName(bridge); err != nil {
			return nil, fmt.Errorf("find the new bridge %s: %w", bridge, err)
		}
	default:
		return nil, fmt.Errorf("look up bridge %s: %w", bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("set bridge %s up: %w", bridge, err)
	}
	if err := moveUnderlay(dev, br); err != nil {
		return nil, err
	}
	return br, nil
}

// moveUnderlay moves device's IPv4 addresses and the routes through it onto the bridge
// and makes the device a port. Routes are read first: removing an address drops the
// routes that depended on it. When a step fails, what was moved is put back on the
// device, so a failed ADD does not leave the node without its address.
func moveUnderlay(dev, br netlink.Link) (err error) {
	name := dev.Attrs().Name
	addrs, err := netlinksafe.AddrList(dev, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list the addresses of %s: %w", name, err)
	}
	routes, err := netlinksafe.RouteList(dev, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list the routes through %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			restoreUnderlay(dev, br, addrs, routes)
		}
	}()
	for _, a := range addrs {
		if err := netlink.AddrDel(dev, &a); err != nil {
			return fmt.Errorf("remove %s from %s: %w", a.IPNet, name, err)
		}
		moved := &netlink.Addr{IPNet: a.IPNet, Broadcast: a.Broadcast, Flags: a.Flags, Scope: a.Scope}
		if err := netlink.AddrAdd(br, moved); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("move %s from %s to bridge %s: %w", a.IPNet, name, br.Attrs().Name, err)
		}
	}
	if err := netlink.LinkSetMaster(dev, br); err != nil {
		return fmt.Errorf("make %s a port of bridge %s: %w", name, br.Attrs().Name, err)
	}
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL || (r.Table != 0 && r.Table != unix.RT_TABLE_MAIN) {
			continue // the kernel re-made the connected routes with the addresses
		}
		r.LinkIndex = br.Attrs().Index
		r.ILinkIndex = 0
		if err := netlink.RouteReplace(&r); err != nil {
			return fmt.Errorf("move route %s from %s to bridge %s: %w", r.String(), name, br.Attrs().Name, err)
		}
	}
	return nil
}

// restoreUnderlay undoes moveUnderlay as far as it got, best effort: the error that
// made it necessary is the one reported.
func restoreUnderlay(dev, br netlink.Link, addrs []netlink.Addr, routes []netlink.Route) {
	netlink.LinkSetNoMaster(dev)
	for _, a := range addrs {
		netlink.AddrDel(br, &netlink.Addr{IPNet: a.IPNet})
		netlink.AddrAdd(dev, &netlink.Addr{IPNet: a.IPNet, Broadcast: a.Broadcast, Flags: a.Flags, Scope: a.Scope})
	}
	for _, r := range routes {
		if r.Protocol == unix.RTPROT_KERNEL {
			continue
		}
		r.LinkIndex = dev.Attrs().Index
		netlink.RouteReplace(&r)
	}
}

// wireFloatingPod gives the pod its floating IP with the subnet route (its neighbours on
// the underlay are reached directly) and the default route via the pool's gateway.
func wireFloatingPod(podNS ns.NetNS, ifName string, ipc *current.IPConfig) error {
	return podNS.Do(func(ns.NetNS) error {
		link, err := netlink.LinkByName(ifName)
		if err != nil {
			return fmt.Errorf("find the pod interface %s: %w", ifName, err)
		}
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &ipc.Address}); err != nil {
			return fmt.Errorf("add floating IP %s to the pod interface %s: %w", ipc.Address.String(), ifName, err)
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("set the pod interface %s up: %w", ifName, err)
		}
		if err := ip.AddDefaultRoute(ipc.Gateway, link); err != nil {
			return fmt.Errorf("add the pod's default route via %s: %w", ipc.Gateway, err)
		}
		return nil
	})
}

// wireFloatingNode makes the node end of the veth a port of the underlay bridge.
func wireFloatingNode(host, br netlink.Link) error {
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return fmt.Errorf("attach %s to bridge %s: %w", host.Attrs().Name, br.Attrs().Name, err)
	}
	return nil
}

// checkFloatingNode verifies that the node end is still a port of the bridge.
func checkFloatingNode(hostName, bridge string) error {
	link, err := netlink.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("node side %s of the pod's veth: %w", hostName, err)
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("underlay bridge %s: %w", bridge, err)
	}
	if link.Attrs().MasterIndex != br.Attrs().Index {
		return fmt.Errorf("%s is not a port of bridge %s", hostName, bridge)
	}
	return nil
}
