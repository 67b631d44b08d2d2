package cni

import (
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
)

// TestOverlayTwoPodsReachEachOtherAndTheNode puts two pods on one node in overlay mode,
// checks the addresses, routes and the node side the seed describes (a v-h… veth with a
// /32 route to the pod, no bridge), talks TCP pod to pod, pod to node and node to pod,
// runs CHECK, and DELs both: nothing may remain.
func TestOverlayTwoPodsReachEachOtherAndTheNode(t *testing.T) {
	node := newTestNode(t, "10.244.1.1/24")
	conf := node.conf(ModeOverlay, nil)
	a, b := newPod(t, "web-a"), newPod(t, "web-b")

	resA := node.add(t, a, conf)
	resB := node.add(t, b, conf)
	ipA, ipB := podIP(t, resA), podIP(t, resB)
	for _, r := range []*current.Result{resA, resB} {
		ipc := r.IPs[0]
		if !ipc.Gateway.Equal(net.ParseIP("10.244.1.1")) || ipc.Address.Mask.String() != net.CIDRMask(24, 32).String() {
			t.Errorf("IP config %s gateway %s, want an address in 10.244.1.0/24 via 10.244.1.1", ipc.Address.String(), ipc.Gateway)
		}
		if len(r.Interfaces) != 2 || !strings.HasPrefix(r.Interfaces[0].Name, "v-h") || r.Interfaces[1].Sandbox == "" {
			t.Errorf("interfaces %+v, want the node's v-h… veth and the pod's eth0", r.Interfaces)
		}
	}
	if ipA.Equal(ipB) {
		t.Fatalf("both pods got %s", ipA)
	}
	routes := hostRoutes(t, node.NS)
	for _, want := range []string{ipA.String() + "/32", ipB.String() + "/32"} {
		if !strings.Contains(routes, want) {
			t.Errorf("node routes lack %s:\n%s", want, routes)
		}
	}
	if l := links(t, node.NS); slices.ContainsFunc(l, func(s string) bool { return strings.Contains(s, "br") || s == "cni0" }) {
		t.Errorf("overlay made a bridge on the node: %v", l)
	}

	serveEcho(t, b.NS, ":7000")
	serveEcho(t, node.NS, ":7001")
	serveEcho(t, a.NS, ":7002")
	if err := echo(a.NS, net.JoinHostPort(ipB.String(), "7000")); err != nil {
		t.Errorf("pod A to pod B: %v", err)
	}
	if err := echo(a.NS, "10.244.1.1:7001"); err != nil {
		t.Errorf("pod A to the node: %v", err)
	}
	if err := echo(node.NS, net.JoinHostPort(ipA.String(), "7002")); err != nil {
		t.Errorf("node to pod A: %v", err)
	}

	for _, c := range []struct {
		p   *pod
		res *current.Result
	}{{a, resA}, {b, resB}} {
		if err := node.check(c.p, conf, c.res); err != nil {
			t.Errorf("CHECK after ADD of %s: %v", c.p.ContainerID, err)
		}
	}

	node.del(t, a, conf)
	node.del(t, b, conf)
	assertNodeClean(t, node)
	for _, p := range []*pod{a, b} {
		if l := links(t, p.NS); !slices.Equal(l, []string{"lo"}) {
			t.Errorf("pod %s still has links %v after DEL", p.ContainerID, l)
		}
	}
	// A second DEL, as the runtime may retry one, and DEL of a container never added.
	node.del(t, a, conf)
	node.del(t, newPod(t, "never-added"), conf)
}

// assertNodeClean fails when the node still has a pod veth, a pod route, an IPAM
// reservation or a pod record.
func assertNodeClean(t *testing.T, node *testNode) {
	t.Helper()
	for _, l := range links(t, node.NS) {
		if strings.HasPrefix(l, "v-h") {
			t.Errorf("veth %s left on the node", l)
		}
	}
	if r := hostRoutes(t, node.NS); strings.Contains(r, "10.244.1.") {
		t.Errorf("pod routes left on the node:\n%s", r)
	}
	if ips := reservations(t, node); len(ips) > 0 {
		t.Errorf("IPAM reservations left: %v", ips)
	}
	if recs, _ := filepath.Glob(filepath.Join(node.DataDir, "galaxy.attachments", "*.json")); len(recs) > 0 {
		t.Errorf("pod records left: %v", recs)
	}
}

// TestOverlayAddTwiceGivesTheSameResult: the runtime may repeat an ADD it lost the answer
// to; the pod keeps its address and interface and gets the same result.
func TestOverlayAddTwiceGivesTheSameResult(t *testing.T) {
	node := newTestNode(t, "10.244.2.1/24")
	conf := node.conf(ModeOverlay, nil)
	p := newPod(t, "twice")
	first := node.add(t, p, conf)
	second := node.add(t, p, conf)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second ADD result differs (-first +second):\n%s", diff)
	}
	if ips := reservations(t, node); len(ips) != 1 {
		t.Errorf("reservations after two ADDs: %v, want one", ips)
	}
	if err := node.check(p, conf, second); err != nil {
		t.Errorf("CHECK after the second ADD: %v", err)
	}

	// A pod whose interface vanished (its sandbox re-made) is rebuilt by the next ADD.
	if err := p.NS.Do(func(ns.NetNS) error { return deleteLink("eth0") }); err != nil {
		t.Fatal(err)
	}
	third := node.add(t, p, conf)
	if !podIP(t, third).Equal(podIP(t, first)) {
		t.Errorf("rebuilt pod got %s, want its reserved %s", podIP(t, third), podIP(t, first))
	}
	if err := node.check(p, conf, third); err != nil {
		t.Errorf("CHECK after the rebuilding ADD: %v", err)
	}
	node.del(t, p, conf)
	assertNodeClean(t, node)
}

// TestOverlayExhaustedSubnet: a /29 has five pod addresses (the first host is the
// node's gateway); the sixth ADD fails with an error that says so, and leaves nothing.
func TestOverlayExhaustedSubnet(t *testing.T) {
	node := newTestNode(t, "10.244.1.1/29")
	conf := node.conf(ModeOverlay, nil)
	for i := range 5 {
		node.add(t, newPod(t, "fill"+string(rune('a'+i))), conf)
	}
	extra := newPod(t, "one-too-many")
	_, err := node.run("ADD", extra, conf)
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != types.ErrTryAgainLater || !strings.Contains(ce.Msg, "no free pod IP left in this node's subnet 10.244.1.0/29") {
		t.Fatalf("sixth ADD: %v, want code 11 saying the subnet 10.244.1.0/29 is full", err)
	}
	if !strings.Contains(ce.Msg, "default/one-too-many") {
		t.Errorf("error does not name the pod: %s", ce.Msg)
	}
	if n := len(reservations(t, node)); n != 5 {
		t.Errorf("%d reservations, want 5", n)
	}
	if n := countVeths(t, node); n != 5 {
		t.Errorf("%d veths on the node, want 5", n)
	}
}

func countVeths(t *testing.T, node *testNode) int {
	n := 0
	for _, l := range links(t, node.NS) {
		if strings.HasPrefix(l, "v-h") {
			n++
		}
	}
	return n
}

// TestOverlayFailedAddRollsBack: an ADD that fails after reserving an address (the pod
// already has an interface of the requested name) releases it and leaves no veth.
func TestOverlayFailedAddRollsBack(t *testing.T) {
	node := newTestNode(t, "10.244.3.1/24")
	conf := node.conf(ModeOverlay, nil)
	p := newPod(t, "taken")
	err := p.NS.Do(func(ns.NetNS) error {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = "eth0"
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0-peer"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.run("ADD", p, conf); err == nil || !strings.Contains(err.Error(), "eth0") {
		t.Fatalf("ADD into a pod that has eth0: %v, want an error naming eth0", err)
	}
	assertNodeClean(t, node)
}

// TestOverlayConcurrentAdds: 20 ADDs at once on one node, as the kubelet starts pods in
// parallel, get 20 different addresses; 20 DELs at once leave nothing.
func TestOverlayConcurrentAdds(t *testing.T) {
	node := newTestNode(t, "10.244.4.1/24")
	conf := node.conf(ModeOverlay, nil)
	pods := make([]*pod, 20)
	for i := range pods {
		pods[i] = newPod(t, "burst")
	}
	results := make([]types.Result, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() { results[i], errs[i] = node.run("ADD", p, conf) })
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("ADD %d: %v", i, errs[i])
		}
		res, _ := current.NewResultFromResult(r)
		ip := podIP(t, res).String()
		if seen[ip] {
			t.Errorf("address %s given twice", ip)
		}
		seen[ip] = true
	}
	if n := len(reservations(t, node)); n != 20 {
		t.Errorf("%d reservations, want 20", n)
	}
	for i, p := range pods {
		wg.Go(func() { _, errs[i] = node.run("DEL", p, conf) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("DEL %d: %v", i, err)
		}
	}
	assertNodeClean(t, node)
}

// TestHostModeIsANoOp: a host-network pod gets an empty result and nothing on the node.
func TestHostModeIsANoOp(t *testing.T) {
	node := newTestNode(t, "10.244.5.1/24")
	conf := node.conf(ModeHost, nil)
	p := newPod(t, "hostnet")
	res := node.add(t, p, conf)
	if len(res.IPs) != 0 || len(res.Interfaces) != 0 {
		t.Errorf("host mode result %+v, want no interfaces and no IPs", res)
	}
	if l := links(t, p.NS); !slices.Equal(l, []string{"lo"}) {
		t.Errorf("host mode changed the pod's links: %v", l)
	}
	if err := node.check(p, conf, res); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	node.del(t, p, conf)
	if ips := reservations(t, node); len(ips) > 0 {
		t.Errorf("host mode reserved %v", ips)
	}
}

// TestModeFromCNIArgs: GALAXY_NETWORK_MODE overrides defaultMode for one pod.
func TestModeFromCNIArgs(t *testing.T) {
	node := newTestNode(t, "10.244.6.1/24")
	conf := node.conf(ModeOverlay, nil)
	p := newPod(t, "hostnet")
	p.CNIArgs += ";GALAXY_NETWORK_MODE=host"
	if res := node.add(t, p, conf); len(res.IPs) != 0 {
		t.Errorf("pod with GALAXY_NETWORK_MODE=host got %+v", res.IPs)
	}
}

// TestStatus: STATUS fails with code 50 (plugin not available) until flanneld has
// written the node's subnet, and passes after.
func TestStatus(t *testing.T) {
	node := newTestNode(t, "10.244.7.1/24")
	missing := node.conf(ModeOverlay, map[string]any{"cniVersion": "1.1.0", "flannel": map[string]any{"subnetFile": filepath.Join(node.DataDir, "absent.env")}})
	p := newPod(t, "status")
	_, err := node.run("STATUS", p, missing)
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != types.ErrPluginNotAvailable || !strings.Contains(ce.Msg, "absent.env") {
		t.Errorf("STATUS without the subnet file: %v, want code 50 naming the file", err)
	}
	ok := node.conf(ModeOverlay, map[string]any{"cniVersion": "1.1.0"})
	if _, err := node.run("STATUS", p, ok); err != nil {
		t.Errorf("STATUS with the subnet file: %v", err)
	}
}

// TestDelNeverTouchesTheNodesInterfaces: a DEL whose sandbox is the node's own namespace
// (a host-network pod) leaves the node's eth0 alone, even though eth0 is a veth here.
// CNI's skel refuses such a call before the plugin runs; the plugin checks again.
func TestDelNeverTouchesTheNodesInterfaces(t *testing.T) {
	node := newTestNode(t, "10.244.11.1/24")
	other := newNetNS(t)
	linkNamespaces(t, node.NS, "eth0", "172.31.0.1/24", other, "eth0", "172.31.0.2/24", "")
	hostPod := &pod{NS: node.NS, ContainerID: "hostnet-sandbox", IfName: "eth0"}
	for _, mode := range []Mode{ModeOverlay, ModeHost} {
		node.run("DEL", hostPod, node.conf(mode, nil))
		if l := links(t, node.NS); !slices.Contains(l, "eth0") {
			t.Fatalf("DEL in %s mode with the node's namespace deleted the node's eth0: %v", mode, l)
		}
	}
	err := node.NS.Do(func(ns.NetNS) error { return deletePodLink(node.NS.Path(), "eth0") })
	if l := links(t, node.NS); err != nil || !slices.Contains(l, "eth0") {
		t.Fatalf("deletePodLink of the node's own namespace: %v, links %v", err, l)
	}
}

// TestEverySpecVersion: ADD answers in the configuration's spec version, CHECK passes
// where the version has it, DEL cleans up, for every version the plugin supports.
func TestEverySpecVersion(t *testing.T) {
	for _, v := range SupportedVersions.SupportedVersions() {
		t.Run(v, func(t *testing.T) {
			node := newTestNode(t, "10.244.12.1/24")
			conf := node.conf(ModeOverlay, map[string]any{"cniVersion": v})
			p := newPod(t, "v"+strings.ReplaceAll(v, ".", ""))
			r, err := node.run("ADD", p, conf)
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			if r.Version() != v {
				t.Errorf("result version %s, want %s", r.Version(), v)
			}
			if _, err := current.NewResultFromResult(r); err != nil {
				t.Fatal(err)
			}
			if testutils.SpecVersionHasCHECK(v) {
				if err := node.check(p, conf, r); err != nil {
					t.Errorf("CHECK: %v", err)
				}
			}
			node.del(t, p, conf)
			assertNodeClean(t, node)
		})
	}
}

// TestAddIntoMissingNamespace: a sandbox path that is not a namespace is CNI error 8,
// the message names the pod and the path, and nothing is left on the node.
func TestAddIntoMissingNamespace(t *testing.T) {
	node := newTestNode(t, "10.244.13.1/24")
	conf := node.conf(ModeOverlay, nil)
	p := newPod(t, "gone")
	p.NS.Close()
	testutils.UnmountNS(p.NS)
	_, err := node.run("ADD", p, conf)
	var ce *types.Error
	if !errors.As(err, &ce) || ce.Code != types.ErrInvalidNetNS || !strings.Contains(ce.Msg, p.NS.Path()) || !strings.Contains(ce.Msg, "default/gone") {
		t.Fatalf("ADD: %v, want code 8 naming the pod and %s", err, p.NS.Path())
	}
	assertNodeClean(t, node)
	node.del(t, p, conf)
}
