package cni

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// pluginBin is gitfleet-cni built once for the package, so that the tests run the plugin
// the way a container runtime does: a process with CNI_* in its environment and the
// configuration on stdin.
var pluginBin string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "nodeplugins/cni tests create network namespaces, veths, bridges and iptables rules: run them as root (CI does)")
		os.Exit(1)
	}
	for _, tool := range []string{"iptables", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "nodeplugins/cni tests need %s in PATH (make sysdeps installs iptables): %v\n", tool, err)
			os.Exit(1)
		}
	}
	dir, err := os.MkdirTemp("", "gitfleet-cni-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBin = filepath.Join(dir, "gitfleet-cni")
	build := exec.Command("go", "build", "-o", pluginBin, "gitfleet.dev/gitfleet/cmd/gitfleet-cni")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build gitfleet-cni: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testNode is a node of its own: a network namespace standing for the node's root
// namespace (so tests never touch the machine's links, routes or iptables), flannel's
// subnet file and the IPAM data directory.
type testNode struct {
	NS         ns.NetNS
	DataDir    string
	SubnetFile string
	Subnet     string // FLANNEL_SUBNET
}

func newTestNode(t *testing.T, subnet string) *testNode {
	t.Helper()
	n := &testNode{NS: newNetNS(t), DataDir: t.TempDir(), Subnet: subnet}
	n.SubnetFile = filepath.Join(n.DataDir, "subnet.env")
	env := fmt.Sprintf("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n", subnet)
	if err := os.WriteFile(n.SubnetFile, []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// newNetNS makes a namespace with its loopback up, closed and unmounted when the test
// ends, failed or not.
func newNetNS(t *testing.T) ns.NetNS {
	t.Helper()
	netns, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create a network namespace: %v", err)
	}
	t.Cleanup(func() {
		netns.Close()
		testutils.UnmountNS(netns)
	})
	err = netns.Do(func(ns.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	if err != nil {
		t.Fatalf("set lo up in %s: %v", netns.Path(), err)
	}
	return netns
}

// conf is the conflist entry the Galaxy addon renders, as the runtime hands it to the
// plugin (name and cniVersion from the list), pointed at the test node's files.
func (n *testNode) conf(mode Mode, extra map[string]any) []byte {
	c := map[string]any{
		"cniVersion":   "1.0.0",
		"name":         "galaxy",
		"type":         "gitfleet-cni",
		"defaultMode":  mode,
		"flannel":      map[string]any{"subnetFile": n.SubnetFile, "backend": "ipip"},
		"device":       "eth0",
		"capabilities": map[string]bool{"portMappings": true},
		"dataDir":      n.DataDir,
	}
	for k, v := range extra {
		c[k] = v
	}
	data, _ := json.Marshal(c)
	return data
}

// pod is one sandbox: its namespace, container ID and interface.
type pod struct {
	NS          ns.NetNS
	ContainerID string
	IfName      string
	CNIArgs     string
}

func newPod(t *testing.T, name string) *pod {
	b := make([]byte, 6)
	rand.Read(b)
	return &pod{NS: newNetNS(t), ContainerID: name + "-" + hex.EncodeToString(b), IfName: "eth0",
		CNIArgs: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + name}
}

// run executes the plugin binary in the node's namespace, as the kubelet's runtime does
// in the root namespace.
func (n *testNode) run(cmd string, p *pod, conf []byte) (types.Result, error) {
	args := &invoke.Args{Command: cmd, ContainerID: p.ContainerID, NetNS: p.NS.Path(), IfName: p.IfName, PluginArgsStr: p.CNIArgs, Path: filepath.Dir(pluginBin)}
	var res types.Result
	err := n.NS.Do(func(ns.NetNS) error {
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		exe := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: io.Discard}, PluginDecoder: version.PluginDecoder{}}
		if cmd == "ADD" {
			res, err = invoke.ExecPluginWithResult(ctx, pluginBin, conf, args, exe)
			return err
		}
		return invoke.ExecPluginWithoutResult(ctx, pluginBin, conf, args, exe)
	})
	return res, err
}

func (n *testNode) add(t *testing.T, p *pod, conf []byte) *current.Result {
	t.Helper()
	r, err := n.run("ADD", p, conf)
	if err != nil {
		t.Fatalf("ADD %s: %v", p.ContainerID, err)
	}
	res, err := current.NewResultFromResult(r)
	if err != nil {
		t.Fatalf("ADD %s: result: %v", p.ContainerID, err)
	}
	return res
}

func (n *testNode) del(t *testing.T, p *pod, conf []byte) {
	t.Helper()
	if _, err := n.run("DEL", p, conf); err != nil {
		t.Fatalf("DEL %s: %v", p.ContainerID, err)
	}
}

// check runs CHECK with the ADD's result as prevResult, as libcni does.
func (n *testNode) check(p *pod, conf []byte, prev types.Result) error {
	var c map[string]any
	json.Unmarshal(conf, &c)
	raw, _ := json.Marshal(prev)
	var pr map[string]any
	json.Unmarshal(raw, &pr)
	c["prevResult"] = pr
	withPrev, _ := json.Marshal(c)
	_, err := n.run("CHECK", p, withPrev)
	return err
}

// podIP is the pod's address in res.
func podIP(t *testing.T, res *current.Result) net.IP {
	t.Helper()
	if len(res.IPs) != 1 {
		t.Fatalf("result has %d IPs, want 1: %+v", len(res.IPs), res)
	}
	return res.IPs[0].Address.IP
}

// serveEcho listens on port in netns and echoes one line per connection.
func serveEcho(t *testing.T, netns ns.NetNS, addr string) {
	t.Helper()
	var l net.Listener
	err := netns.Do(func(ns.NetNS) error {
		var err error
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, netns.Path(), err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Write([]byte(line))
			}()
		}
	}()
}

// echo dials addr from netns and expects its message back.
func echo(netns ns.NetNS, addr string) error {
	return netns.Do(func(ns.NetNS) error {
		c, err := net.DialTimeout("tcp4", addr, 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		msg := "hello from " + netns.Path() + "\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		got, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if got != msg {
			return fmt.Errorf("echo from %s: got %q, want %q", addr, got, msg)
		}
		return nil
	})
}

// links lists the link names in netns.
func links(t *testing.T, netns ns.NetNS) []string {
	t.Helper()
	var names []string
	err := netns.Do(func(ns.NetNS) error {
		ls, err := netlink.LinkList()
		for _, l := range ls {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// hostRoutes lists the node's IPv4 routes, as `ip route` prints them.
func hostRoutes(t *testing.T, netns ns.NetNS) string {
	t.Helper()
	var out []string
	err := netns.Do(func(ns.NetNS) error {
		rs, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range rs {
			out = append(out, r.String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

// iptablesNAT is `iptables -t nat -S` in netns.
func iptablesNAT(t *testing.T, netns ns.NetNS) string {
	t.Helper()
	var out []byte
	err := netns.Do(func(ns.NetNS) error {
		var err error
		out, err = exec.Command("iptables", "-w", "-t", "nat", "-S").CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("iptables -t nat -S: %v\n%s", err, out)
	}
	return string(out)
}

// reservations lists the files of the IPAM store that are reservations.
func reservations(t *testing.T, n *testNode) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(n.DataDir, "galaxy"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}
