package machines

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// healthySections is the probe output of a machine that passes every check of a business
// cluster worker: CentOS 7.6, 16 cores, 32 GiB, no swap, nothing on the platform's ports.
var healthySections = map[string]string{
	"hostname":       "node-a",
	"os-release":     "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"",
	"redhat-release": "CentOS Linux release 7.6.1810 (Core)",
	"uname":          "3.10.0-957.21.3.el7.x86_64 x86_64",
	"cpus":           "16",
	"cpuinfo":        "model name\t: Intel(R) Xeon(R) Gold 6133 CPU @ 2.50GHz",
	"meminfo":        "MemTotal:       32779608 kB\nSwapTotal:             0 kB",
	"swaps":          "Filename\t\t\t\tType\t\tSize\tUsed\tPriority",
	"rootfs":         "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/vda1       209702892  10485760 199217132       6% /",
	"disks":          "zram0 0 disk 0\nvda 214748364800 disk 1\nvdb 322122547200 disk 0\nsr0 1073741312 rom 1",
	"listen":         "LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:((\"sshd\",pid=1021,fd=3))",
	"proc-net-tcp":   "",
	"selinux":        "Disabled",
	"runtimes":       "",
	"packages":       "",
	"routes":         "default via 10.0.0.1 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.21",
	"gpus":           "",
	"gpu-devices":    "",
	"uid":            "0",
	"sudo":           "",
	"kubelet":        "",
	"timezone":       "Asia/Shanghai",
	"firewall":       "",
}

// probeOutput builds probe output from the healthy machine's sections with some replaced.
func probeOutput(replace map[string]string) string {
	order := []string{"hostname", "os-release", "redhat-release", "uname", "cpus", "cpuinfo", "meminfo", "swaps", "rootfs", "disks", "listen", "proc-net-tcp", "selinux", "runtimes", "packages", "routes", "gpus", "gpu-devices", "uid", "sudo", "kubelet", "timezone", "firewall"}
	var b strings.Builder
	for _, name := range order {
		body, ok := replace[name]
		if !ok {
			body = healthySections[name]
		}
		b.WriteString(sectionMarker + name + "\n")
		if body != "" {
			b.WriteString(body + "\n")
		}
	}
	b.WriteString(sectionMarker + "end\n")
	return b.String()
}

func TestParseProbe(t *testing.T) {
	f, err := ParseProbe([]byte(probeOutput(map[string]string{
		"swaps":       "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/dm-1                               partition\t8388604\t\t0\t\t-2",
		"listen":      "LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=1,fd=3))\nLISTEN 0 4096 *:10250 *:* users:((\"kubelet\",pid=9,fd=20))\nLISTEN 0 4096 [::]:10250 [::]:* users:((\"kubelet\",pid=9,fd=21))",
		"selinux":     "Enforcing",
		"runtimes":    "/usr/bin/docker\n/usr/bin/containerd",
		"packages":    "docker-ce-19.03.14-3.el7.x86_64\ncontainerd.io-1.4.3-3.1.el7.x86_64",
		"routes":      "default via 10.0.0.1 dev eth0\n172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown\nblackhole 10.244.3.0/24 proto bird",
		"gpus":        "Tesla T4, 15109\nTesla T4, 15109",
		"gpu-devices": "nvidia0\nnvidia1\nnvidiactl\nnvidia-uvm",
		"kubelet":     "4242",
		"firewall":    "firewalld",
	})))
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		Hostname: "node-a", OS: "CentOS Linux 7 (Core)", OSID: "centos", OSVersion: "7.6.1810",
		Kernel: "3.10.0-957.21.3.el7.x86_64", Arch: "x86_64",
		CPUs: 16, CPUModel: "Intel(R) Xeon(R) Gold 6133 CPU @ 2.50GHz",
		MemoryBytes: 32779608 * 1024, SwapBytes: 8388604 * 1024, RootFSBytes: 209702892 * 1024,
		Disks:      []Disk{{Name: "vda", SizeBytes: 214748364800, Rotational: true}, {Name: "vdb", SizeBytes: 322122547200}},
		GPUs:       []GPU{{Model: "Tesla T4", MemoryMiB: 15109}, {Model: "Tesla T4", MemoryMiB: 15109}},
		GPUDevices: []string{"nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"},
		Listeners:  []Listener{{Port: 22, Process: "sshd"}, {Port: 10250, Process: "kubelet"}},
		SELinux:    "Enforcing",
		Runtimes:   []string{"docker", "containerd", "package docker-ce", "package containerd.io"},
		Routes: []Route{
			{Dest: netip.MustParsePrefix("172.17.0.0/16"), Line: "172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown"},
			{Dest: netip.MustParsePrefix("10.244.3.0/24"), Line: "blackhole 10.244.3.0/24 proto bird"},
		},
		UID: 0, Kubelet: true, Timezone: "Asia/Shanghai", Firewalls: []string{"firewalld"},
	}
	if diff := cmp.Diff(want, f, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}
}

func TestParseProbeIncomplete(t *testing.T) {
	out := probeOutput(nil)
	out = out[:strings.Index(out, sectionMarker+"routes")]
	if _, err := ParseProbe([]byte(out)); err != ErrProbeIncomplete {
		t.Fatalf("output cut short: got %v, want ErrProbeIncomplete", err)
	}
}

func TestParseListeners(t *testing.T) {
	// ss without -H prints a header; a machine without ss falls back to /proc/net/tcp.
	ss := []string{
		"State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
		"LISTEN 0      511          0.0.0.0:80        0.0.0.0:*",
	}
	if diff := cmp.Diff([]Listener{{Port: 80}}, parseSS(ss)); diff != "" {
		t.Errorf("ss with header (-want +got):\n%s", diff)
	}
	proc := []string{
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
		"   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0",
		"   1: 0100007F:0016 0100007F:A2B4 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1",
		"   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0",
	}
	if diff := cmp.Diff([]Listener{{Port: 8080}}, parseProcNetTCP(proc)); diff != "" {
		t.Errorf("/proc/net/tcp (-want +got):\n%s", diff)
	}
}

func TestParseClock(t *testing.T) {
	got, precise, err := parseClock("1700000000.250000000\n")
	if err != nil || !precise || !got.Equal(time.Unix(1700000000, 250000000)) {
		t.Errorf("GNU date: %v %v %v", got, precise, err)
	}
	got, precise, err = parseClock("1700000000.%N")
	if err != nil || precise || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("busybox date: %v %v %v", got, precise, err)
	}
	if _, _, err := parseClock("Thu Nov 23"); err == nil {
		t.Error("a date that is not seconds: want an error")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		kernel string
		below  bool
	}{
		{"3.10.0-957.10.1.el7.x86_64", false},
		{"3.10.0-957.1.3.el7.x86_64", true},
		{"3.10.0-862.el7.x86_64", true},
		{"3.10.0-1160.el7.x86_64", false},
		{"4.15.0-213-generic", false},
		{"2.6.32-754.el6.x86_64", true},
	} {
		if got := compareVersions(parseVersion(tc.kernel), minKernel) < 0; got != tc.below {
			t.Errorf("%s below 3.10.0-957.10.1: got %v, want %v", tc.kernel, got, tc.below)
		}
	}
}
