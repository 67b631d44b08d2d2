package cni

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// linkNamespaces joins a and b with a veth, aName/aAddr in a and bName/bAddr in b, both
// up; gw, when set, becomes b's default route.
func linkNamespaces(t *testing.T, a ns.NetNS, aName, aAddr string, b ns.NetNS, bName, bAddr, gw string) {
	t.Helper()
	err := a.Do(func(ns.NetNS) error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = aName
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: bName, PeerNamespace: netlink.NsFd(int(b.Fd()))}); err != nil {
			return err
		}
		return upWithAddr(aName, aAddr)
	})
	if err == nil {
		err = b.Do(func(ns.NetNS) error {
			if err := upWithAddr(bName, bAddr); err != nil {
				return err
			}
			if gw == "" {
				return nil
			}
			link, _ := netlink.LinkByName(bName)
			return netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP(gw)})
		})
	}
	if err != nil {
		t.Fatalf("link %s and %s: %v", a.Path(), b.Path(), err)
	}
}

func upWithAddr(name, cidr string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return err
	}
	return netlink.LinkSetUp(link)
}

// TestNATHostPorts: a nat-mode pod with a hostPort and one without (a random host port,
// as Galaxy gives): the DNAT rules are in the node's nat table after ADD, a client off
// the node reaches the pod through the node's address and the host port, CHECK passes,
// and DEL removes the pod's rules and chain.
func TestNATHostPorts(t *testing.T) {
	node := newTestNode(t, "10.244.8.1/24")
	client := newNetNS(t)
	linkNamespaces(t, node.NS, "ext0", "172.30.0.1/24", client, "eth0", "172.30.0.2/24", "172.30.0.1")

	conf := node.conf(ModeNAT, map[string]any{"runtimeConfig": map[string]any{"portMappings": []map[string]any{
		{"hostPort": 18080, "containerPort": 8080, "protocol": "tcp"},
		{"hostPort": 0, "containerPort": 9090, "protocol": "tcp"},
	}}})
	p := newPod(t, "natted")
	res := node.add(t, p, conf)
	ip := podIP(t, res)
	serveEcho(t, p.NS, ":8080")
	serveEcho(t, p.NS, ":9090")

	rules := iptablesNAT(t, node.NS)
	chain := podPortChain("galaxy", p.ContainerID, p.IfName)
	for _, want := range []string{
		"-A PREROUTING -m addrtype --dst-type LOCAL -j GITFLEET-HOSTPORTS",
		"-A OUTPUT -m addrtype --dst-type LOCAL -j GITFLEET-HOSTPORTS",
		"-j " + chain,
		"-A " + chain + " -p tcp -m tcp --dport 18080 -j DNAT --to-destination " + ip.String() + ":8080",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("nat table lacks %q:\n%s", want, rules)
		}
	}

	// The random host port is recorded in the pod's record.
	data, err := os.ReadFile(filepath.Join(node.DataDir, "galaxy.attachments", p.ContainerID+"-eth0.json"))
	if err != nil {
		t.Fatal(err)
	}
	var at attachment
	json.Unmarshal(data, &at)
	if len(at.PortMaps) != 2 || at.PortMaps[1].HostPort == 0 {
		t.Fatalf("recorded port mappings %+v, want the second with its random host port", at.PortMaps)
	}
	random := strconv.Itoa(at.PortMaps[1].HostPort)
	if !strings.Contains(rules, "--dport "+random+" -j DNAT --to-destination "+ip.String()+":9090") {
		t.Errorf("nat table lacks the random host port %s:\n%s", random, rules)
	}

	if err := echo(client, "172.30.0.1:18080"); err != nil {
		t.Errorf("client to node:18080 (pod :8080): %v", err)
	}
	if err := echo(client, "172.30.0.1:"+random); err != nil {
		t.Errorf("client to node:%s (pod :9090): %v", random, err)
	}
	if err := node.check(p, conf, res); err != nil {
		t.Errorf("CHECK: %v", err)
	}

	node.del(t, p, conf)
	rules = iptablesNAT(t, node.NS)
	if strings.Contains(rules, chain) || strings.Contains(rules, "DNAT") {
		t.Errorf("pod rules left after DEL:\n%s", rules)
	}
	assertNodeClean(t, node)
	if err := echo(client, "172.30.0.1:18080"); err == nil {
		t.Errorf("host port 18080 still reaches something after DEL")
	}
}

// TestNATFailedAddRemovesRules: an ADD whose port mapping fails half way (the pod's
// chain made, a rule refused) removes what it made.
func TestNATFailedAddRemovesRules(t *testing.T) {
	node := newTestNode(t, "10.244.9.1/24")
	conf := node.conf(ModeNAT, map[string]any{"runtimeConfig": map[string]any{"portMappings": []map[string]any{
		{"hostPort": 18081, "containerPort": 8080, "protocol": "tcp"},
		{"hostPort": 18082, "containerPort": 8081, "protocol": "tcp", "hostIP": "::1"},
	}}})
	p := newPod(t, "badport")
	if _, err := node.run("ADD", p, conf); err == nil || !strings.Contains(err.Error(), "host port 18082/tcp") {
		t.Fatalf("ADD with an IPv6 hostIP in the IPv4 table: %v, want an error naming host port 18082/tcp", err)
	}
	if rules := iptablesNAT(t, node.NS); strings.Contains(rules, podPortChain("galaxy", p.ContainerID, p.IfName)) {
		t.Errorf("failed ADD left the pod's chain:\n%s", rules)
	}
	assertNodeClean(t, node)
}
