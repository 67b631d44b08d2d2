package cnibench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
)

// plugins are the three binaries, built once per run into one directory (CNI_PATH).
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func buildPlugins(b *testing.B) string {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Fatal("the CNI benchmarks create network namespaces and veths: run them as root (make bench does in CI)")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "cnibench-")
		if buildErr != nil {
			return
		}
		builds := []*exec.Cmd{
			exec.Command("go", "build", "-o", filepath.Join(binDir, "gitfleet-cni"), "gitfleet.dev/gitfleet/cmd/gitfleet-cni"),
			// The reference plugins from their own module (baseline/go.mod pins
			// containernetworking/plugins v1.9.1 and what it needs).
			exec.Command("go", "build", "-o", binDir+"/",
				"github.com/containernetworking/plugins/plugins/main/bridge",
				"github.com/containernetworking/plugins/plugins/ipam/host-local"),
		}
		builds[1].Dir = "baseline"
		for _, c := range builds {
			c.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := c.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("%s (in %s): %w\n%s", c.String(), c.Dir, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		b.Fatalf("build the plugins: %v", buildErr)
	}
	return binDir
}

// plugin is one configuration under test.
type plugin struct {
	name string
	bin  string
	conf func(dataDir, subnetFile string) []byte
}

func plugins(dir string) []plugin {
	return []plugin{
		{name: "baseline-bridge-host-local", bin: filepath.Join(dir, "bridge"), conf: func(dataDir, _ string) []byte {
			return mustJSON(map[string]any{
				"cniVersion": "1.0.0", "name": "bench", "type": "bridge", "bridge": "cni0",
				"isGateway": true, "ipMasq": false,
				"ipam": map[string]any{"type": "host-local", "dataDir": dataDir,
					"ranges": [][]map[string]any{{{"subnet": "10.244.1.0/24", "gateway": "10.244.1.1"}}}},
			})
		}},
		{name: "gitfleet-overlay", bin: filepath.Join(dir, "gitfleet-cni"), conf: func(dataDir, subnetFile string) []byte {
			return mustJSON(map[string]any{
				"cniVersion": "1.0.0", "name": "bench", "type": "gitfleet-cni", "defaultMode": "overlay",
				"flannel": map[string]any{"subnetFile": subnetFile, "backend": "ipip"},
				"device":  "eth0", "dataDir": dataDir,
			})
		}},
	}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// bed is one node namespace with its pods' namespaces, made before the clock starts.
type bed struct {
	node ns.NetNS
	pods []ns.NetNS
	conf []byte
	p    plugin
	dir  string
}

func newBed(b *testing.B, p plugin, pods int) *bed {
	b.Helper()
	dir := b.TempDir()
	subnet := filepath.Join(dir, "subnet.env")
	os.WriteFile(subnet, []byte("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\n"), 0o644)
	bd := &bed{p: p, dir: dir, conf: p.conf(dir, subnet)}
	bd.node = newNS(b)
	for range pods {
		bd.pods = append(bd.pods, newNS(b))
	}
	return bd
}

func newNS(b *testing.B) ns.NetNS {
	n, err := testutils.NewNS()
	if err != nil {
		b.Fatalf("create a network namespace: %v", err)
	}
	b.Cleanup(func() {
		n.Close()
		testutils.UnmountNS(n)
	})
	return n
}

// call runs one verb for pod i in the node's namespace.
func (bd *bed) call(cmd string, i int) error {
	args := &invoke.Args{Command: cmd, ContainerID: fmt.Sprintf("bench-%d", i), NetNS: bd.pods[i].Path(),
		IfName: "eth0", Path: filepath.Dir(bd.p.bin), PluginArgsStr: fmt.Sprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-%d", i)}
	exe := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: io.Discard}, PluginDecoder: version.PluginDecoder{}}
	return bd.node.Do(func(ns.NetNS) error {
		if cmd == "ADD" {
			_, err := invoke.ExecPluginWithResult(context.Background(), bd.p.bin, bd.conf, args, exe)
			return err
		}
		return invoke.ExecPluginWithoutResult(context.Background(), bd.p.bin, bd.conf, args, exe)
	})
}

// BenchmarkCNIAddDel100Sequential: one op is 100 pods added one after another, then the
// 100 deleted.
func BenchmarkCNIAddDel100Sequential(b *testing.B) {
	dir := buildPlugins(b)
	for _, p := range plugins(dir) {
		b.Run(p.name, func(b *testing.B) {
			bd := newBed(b, p, 100)
			for b.Loop() {
				for i := range bd.pods {
					if err := bd.call("ADD", i); err != nil {
						b.Fatalf("ADD pod %d: %v", i, err)
					}
				}
				for i := range bd.pods {
					if err := bd.call("DEL", i); err != nil {
						b.Fatalf("DEL pod %d: %v", i, err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/100/1000, "ms/pod")
		})
	}
}

// BenchmarkCNIAddDel20Concurrent: one op is 20 pods, each added and then deleted, all at
// once.
func BenchmarkCNIAddDel20Concurrent(b *testing.B) {
	dir := buildPlugins(b)
	for _, p := range plugins(dir) {
		b.Run(p.name, func(b *testing.B) {
			bd := newBed(b, p, 20)
			errs := make([]error, len(bd.pods))
			for b.Loop() {
				var wg sync.WaitGroup
				for i := range bd.pods {
					wg.Go(func() {
						errs[i] = bd.call("ADD", i)
						if errs[i] == nil {
							errs[i] = bd.call("DEL", i)
						}
					})
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						b.Fatalf("pod %d: %v", i, err)
					}
				}
			}
		})
	}
}
