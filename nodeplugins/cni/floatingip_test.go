package cni

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// underlayNode is a node whose NIC (eth1, 192.168.64.15/24) is cabled to a "router"
// namespace holding the underlay gateway 192.168.64.1, as in the seed's example.
func underlayNode(t *testing.T) (*testNode, ns.NetNS) {
	node := newTestNode(t, "10.244.10.1/24")
	router := newNetNS(t)
	linkNamespaces(t, router, "sw0", "192.168.64.1/24", node.NS, "eth1", "192.168.64.15/24", "192.168.64.1")
	return node, router
}

// galaxyIPInfos is common.ipinfos of the pod annotation galaxy-ipam writes (the seed's).
const galaxyIPInfos = `[{"ip":"192.168.64.202/24","vlan":0,"gateway":"192.168.64.1","routable_subnet":"172.21.64.0/20"}]`

// TestFloatingIPFromCNIArgs: a pod whose floating IP arrives as Galaxy passes it (CNI_ARGS
// ipinfos=…) gets exactly that IP on the underlay bridge, reaches the underlay gateway
// and is reached from it, while the node keeps its own address (moved to the bridge)
// and its default route. DEL removes the pod's veth and leaves the bridge.
func TestFloatingIPFromCNIArgs(t *testing.T) {
	node, router := underlayNode(t)
	conf := node.conf(ModeOverlay, map[string]any{"device": "eth1"}) // floatingIP chosen by the pod's IP
	p := newPod(t, "nnn-7df5984746-58hjm")
	p.CNIArgs += ";ipinfos=" + galaxyIPInfos

	res := node.add(t, p, conf)
	if got := res.IPs[0].Address.String(); got != "192.168.64.202/24" {
		t.Errorf("pod IP %s, want the floating IP 192.168.64.202/24", got)
	}
	if !res.IPs[0].Gateway.Equal(net.ParseIP("192.168.64.1")) {
		t.Errorf("gateway %s, want 192.168.64.1", res.IPs[0].Gateway)
	}
	if res.Interfaces[0].Name != DefaultBridge {
		t.Errorf("interfaces %+v, want the bridge %s first", res.Interfaces, DefaultBridge)
	}

	err := node.NS.Do(func(ns.NetNS) error {
		br, err := netlink.LinkByName(DefaultBridge)
		if err != nil {
			return err
		}
		eth1, _ := netlink.LinkByName("eth1")
		if eth1.Attrs().MasterIndex != br.Attrs().Index {
			return errors.New("eth1 is not a port of the bridge")
		}
		if br.Attrs().HardwareAddr.String() != eth1.Attrs().HardwareAddr.String() {
			return errors.New("the bridge did not take eth1's MAC")
		}
		addrs, _ := netlink.AddrList(br, netlink.FAMILY_V4)
		if len(addrs) != 1 || addrs[0].IPNet.String() != "192.168.64.15/24" {
			return errors.New("the node's address did not move to the bridge")
		}
		return nil
	})
	if err != nil {
		t.Errorf("node: %v", err)
	}
	if r := hostRoutes(t, node.NS); !strings.Contains(r, "Gw: 192.168.64.1") {
		t.Errorf("the node lost its default route via 192.168.64.1:\n%s", r)
	}

	serveEcho(t, router, ":7100")
	serveEcho(t, p.NS, ":7101")
	if err := echo(p.NS, "192.168.64.1:7100"); err != nil {
		t.Errorf("pod to the underlay gateway: %v", err)
	}
	if err := echo(router, "192.168.64.202:7101"); err != nil {
		t.Errorf("underlay to the pod's floating IP: %v", err)
	}
	if err := echo(node.NS, "192.168.64.1:7100"); err != nil {
		t.Errorf("node to the underlay gateway over the bridge: %v", err)
	}
	if err := node.check(p, conf, res); err != nil {
		t.Errorf("CHECK: %v", err)
	}

	// A second pod on the same node reuses the bridge.
	q := newPod(t, "nnn-second")
	q.CNIArgs += `;ipinfos=[{"ip":"192.168.64.203/24","vlan":0,"gateway":"192.168.64.1"}]`
	node.add(t, q, conf)
	if err := echo(q.NS, "192.168.64.1:7100"); err != nil {
		t.Errorf("second pod to the underlay gateway: %v", err)
	}

	node.del(t, p, conf)
	node.del(t, q, conf)
	l := links(t, node.NS)
	if slices.ContainsFunc(l, func(s string) bool { return strings.HasPrefix(s, "v-h") }) {
		t.Errorf("veths left after DEL: %v", l)
	}
	if !slices.Contains(l, DefaultBridge) {
		t.Errorf("the underlay bridge went away with the pods: %v", l)
	}
	if err := echo(node.NS, "192.168.64.1:7100"); err != nil {
		t.Errorf("node to the underlay gateway after DEL: %v", err)
	}
}

// TestFloatingIPFromConfArgs: the annotation's value under the conflist's args, as a
// runtime inserting per-pod args passes it.
func TestFloatingIPFromConfArgs(t *testing.T) {
	node, router := underlayNode(t)
	conf := node.conf(ModeFloatingIP, map[string]any{"device": "eth1", "args": map[string]any{
		"common": map[string]any{"ipinfos": []map[string]any{{"ip": "192.168.64.210/24", "vlan": 0, "gateway": "192.168.64.1"}}},
	}})
	p := newPod(t, "args")
	res := node.add(t, p, conf)
	if got := res.IPs[0].Address.String(); got != "192.168.64.210/24" {
		t.Errorf("pod IP %s, want 192.168.64.210/24", got)
	}
	serveEcho(t, router, ":7102")
	if err := echo(p.NS, "192.168.64.1:7102"); err != nil {
		t.Errorf("pod to the underlay gateway: %v", err)
	}
	node.del(t, p, conf)
}

// TestFloatingIPWithoutIP: a floatingIP pod that galaxy-ipam gave no IP is refused with
// the contract in the message, and nothing is made.
func TestFloatingIPWithoutIP(t *testing.T) {
	node, _ := underlayNode(t)
	conf := node.conf(ModeFloatingIP, map[string]any{"device": "eth1"})
	p := newPod(t, "no-ip")
	_, err := node.run("ADD", p, conf)
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != types.ErrInvalidNetworkConfig || !strings.Contains(ce.Msg, AnnotationArgs) {
		t.Fatalf("ADD: %v, want code 7 naming %s", err, AnnotationArgs)
	}
	if l := links(t, node.NS); slices.Contains(l, DefaultBridge) {
		t.Errorf("a refused ADD made the bridge: %v", l)
	}
	// Nor with a device the node lacks.
	conf = node.conf(ModeFloatingIP, map[string]any{"device": "eth9"})
	p.CNIArgs += ";ipinfos=" + galaxyIPInfos
	if _, err := node.run("ADD", p, conf); err == nil || !strings.Contains(err.Error(), `"eth9"`) {
		t.Errorf("ADD on a missing device: %v, want an error naming eth9", err)
	}
	assertNodeClean(t, node)
}
