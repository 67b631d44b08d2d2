package machines

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

func testCluster(name string, mutate ...func(*schema.Cluster)) *schema.Cluster {
	c := &schema.Cluster{Object: schema.Object{Metadata: schema.ObjectMeta{Name: name}}}
	c.Spec.Type = schema.ClusterBaremetal
	c.Spec.Network.ClusterCIDR = "172.16.0.0/16"
	for _, m := range mutate {
		m(c)
	}
	return c
}

func healthyFacts(t *testing.T) Facts {
	t.Helper()
	f, err := ParseProbe([]byte(probeOutput(nil)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func verdicts(checks []Check) map[string]Result {
	out := map[string]Result{}
	for _, c := range checks {
		out[c.ID] = c.Result
	}
	return out
}

// TestEvaluateHealthy: the healthy machine passes every check, and every check the seed
// asks for is there.
func TestEvaluateHealthy(t *testing.T) {
	got := verdicts(Evaluate(healthyFacts(t), testCluster("gz-dev"), schema.Machine{IP: "10.0.0.21", Role: schema.RoleWorker}))
	want := map[string]Result{}
	for _, id := range []string{"os", "kernel", "cpu", "memory", "disk", "swap", "ports", "selinux", "firewall", "clock", "runtime", "routes", "gpu", "root"} {
		want[id] = Pass
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

// TestEvaluate: each problem the seed names fails (or warns about) its own check, and
// only that one, with a fix.
func TestEvaluate(t *testing.T) {
	master := schema.Machine{IP: "10.0.0.11", Role: schema.RoleMaster}
	worker := schema.Machine{IP: "10.0.0.21", Role: schema.RoleWorker}
	gpuWorker := schema.Machine{IP: "10.0.0.22", Role: schema.RoleWorker, GPU: true}
	for _, tc := range []struct {
		name    string
		cluster *schema.Cluster
		machine schema.Machine
		facts   func(*Facts)
		id      string
		want    Result
		seen    string
	}{
		{"global master needs 8 cores", testCluster("global"), master, func(f *Facts) { f.CPUs = 4 }, "cpu", Fail, "4 cores (minimum 8)"},
		{"global by label", testCluster("platform", func(c *schema.Cluster) { c.Metadata.Labels = map[string]string{"gitfleet.dev/role": "global"} }), master, func(f *Facts) { f.CPUs = 4 }, "cpu", Fail, "minimum 8"},
		{"business master needs 4 cores", testCluster("gz-dev"), master, func(f *Facts) { f.CPUs = 4 }, "cpu", Pass, "4 cores (minimum 4)"},
		{"business worker needs 8 cores", testCluster("gz-dev"), worker, func(f *Facts) { f.CPUs = 4 }, "cpu", Fail, "minimum 8"},
		{"global master needs 16G", testCluster("global"), master, func(f *Facts) { f.MemoryBytes = 8 * gib }, "memory", Fail, "8.0 GiB (minimum 16.0 GiB)"},
		{"MemTotal a little under 16G", testCluster("global"), master, func(f *Facts) { f.MemoryBytes = 16*gib - 400<<20 }, "memory", Warn, "minimum 16.0 GiB"},
		{"small system disk", testCluster("gz-dev"), worker, func(f *Facts) { f.RootFSBytes = 40 * gib }, "disk", Fail, "size of / 40.0 GiB"},
		{"old kernel", testCluster("gz-dev"), worker, func(f *Facts) { f.Kernel = "3.10.0-862.el7.x86_64" }, "kernel", Fail, "3.10.0-862"},
		{"unsupported OS", testCluster("gz-dev"), worker, func(f *Facts) { f.OS, f.OSID, f.OSVersion = "Debian GNU/Linux 12", "debian", "12" }, "os", Warn, "Debian"},
		{"CentOS 7.5", testCluster("gz-dev"), worker, func(f *Facts) { f.OSVersion = "7.5" }, "os", Warn, "CentOS"},
		{"Ubuntu 18.04", testCluster("gz-dev"), worker, func(f *Facts) { f.OS, f.OSID, f.OSVersion = "Ubuntu 18.04.6 LTS", "ubuntu", "18.04" }, "os", Pass, "Ubuntu"},
		{"32-bit", testCluster("gz-dev"), worker, func(f *Facts) { f.Arch = "i686" }, "os", Fail, "i686"},
		{"swap on", testCluster("gz-dev"), worker, func(f *Facts) { f.SwapBytes = 2 * gib }, "swap", Fail, "2.0 GiB of swap"},
		{"port taken", testCluster("gz-dev"), worker, func(f *Facts) { f.Listeners = append(f.Listeners, Listener{Port: 8080, Process: "java"}) }, "ports", Fail, "8080 (java)"},
		{"port of a joined node", testCluster("gz-dev"), worker, func(f *Facts) { f.Listeners = append(f.Listeners, Listener{Port: 10250, Process: "kubelet"}) }, "ports", Pass, "10250 (kubelet)"},
		{"selinux enforcing", testCluster("gz-dev"), worker, func(f *Facts) { f.SELinux = "Enforcing" }, "selinux", Fail, "Enforcing"},
		{"selinux permissive", testCluster("gz-dev"), worker, func(f *Facts) { f.SELinux = "Permissive" }, "selinux", Warn, "Permissive"},
		{"firewalld", testCluster("gz-dev"), worker, func(f *Facts) { f.Firewalls = []string{"firewalld"} }, "firewall", Warn, "firewalld active"},
		{"clock ahead", testCluster("gz-dev"), worker, func(f *Facts) { f.ClockOffset, f.ClockUncertainty = 5*time.Second, 10*time.Millisecond }, "clock", Fail, "5 s ahead of"},
		{"clock behind", testCluster("gz-dev"), worker, func(f *Facts) { f.ClockOffset = -3 * time.Second }, "clock", Fail, "3 s behind"},
		{"clock within bounds", testCluster("gz-dev"), worker, func(f *Facts) { f.ClockOffset = 1900 * time.Millisecond }, "clock", Pass, "within 2 s"},
		{"pre-installed docker", testCluster("gz-dev"), worker, func(f *Facts) { f.Runtimes = []string{"docker", "package docker-ce"} }, "runtime", Fail, "docker, package docker-ce"},
		{"docker on a joined node", testCluster("gz-dev"), worker, func(f *Facts) { f.Runtimes, f.Kubelet = []string{"dockerd"}, true }, "runtime", Pass, "kubelet"},
		{"docker0 in the pod network", testCluster("gz-dev", func(c *schema.Cluster) { c.Spec.Network.ClusterCIDR = "172.16.0.0/12" }), worker,
			func(f *Facts) {
				f.Routes = parseRoutes([]string{"172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1"})
			}, "routes", Fail, "172.17.0.0/16 dev docker0"},
		{"declared GPU missing", testCluster("sh-gpu"), gpuWorker, func(*Facts) {}, "gpu", Fail, "no NVIDIA GPU"},
		{"declared GPU present", testCluster("sh-gpu"), gpuWorker, func(f *Facts) {
			f.GPUs, f.GPUDevices = []GPU{{Model: "Tesla T4", MemoryMiB: 15109}}, []string{"nvidia0", "nvidiactl", "nvidia-uvm"}
		}, "gpu", Pass, "Tesla T4 15109 MiB"},
		{"GPU without nvidia-uvm", testCluster("sh-gpu"), gpuWorker, func(f *Facts) { f.GPUDevices = []string{"nvidia0", "nvidiactl"} }, "gpu", Warn, "/dev/nvidia0"},
		{"undeclared GPU", testCluster("sh-gpu"), worker, func(f *Facts) { f.GPUs = []GPU{{Model: "A100", MemoryMiB: 40960}} }, "gpu", Warn, "A100"},
		{"no root", testCluster("gz-dev"), worker, func(f *Facts) { f.UID = 1000 }, "root", Fail, "uid 1000 without"},
		{"sudo", testCluster("gz-dev"), worker, func(f *Facts) { f.UID, f.Sudo = 1000, true }, "root", Pass, "password-less sudo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyFacts(t)
			tc.facts(&f)
			checks := Evaluate(f, tc.cluster, tc.machine)
			i := slices.IndexFunc(checks, func(c Check) bool { return c.ID == tc.id })
			if i < 0 {
				t.Fatalf("no check %q", tc.id)
			}
			c := checks[i]
			if c.Result != tc.want || !strings.Contains(c.Seen, tc.seen) {
				t.Errorf("%s: got %s %q, want %s with %q", tc.id, c.Result, c.Seen, tc.want, tc.seen)
			}
			if (c.Result == Pass) != (c.Fix == "") {
				t.Errorf("%s: result %s with fix %q: a fix belongs to every check that did not pass", tc.id, c.Result, c.Fix)
			}
			for _, other := range checks {
				if other.ID != tc.id && other.Result != Pass {
					t.Errorf("check %s also %s (%s): only %s should be affected", other.ID, other.Result, other.Seen, tc.id)
				}
			}
		})
	}
}

func TestEvaluateTimezones(t *testing.T) {
	sh, utc := &Facts{Timezone: "Asia/Shanghai"}, &Facts{Timezone: "Etc/UTC"}
	got := EvaluateTimezones([]*Facts{sh, utc, nil, sh})
	want := []Result{Pass, Warn, "", Pass}
	for i, c := range got {
		if c.Result != want[i] {
			t.Errorf("machine %d: %s %q, want %s", i, c.Result, c.Seen, want[i])
		}
	}
}
