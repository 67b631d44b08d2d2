package machines

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"gitfleet.dev/gitfleet/schema"
)

// Result is a check's verdict.
type Result string

const (
	Pass Result = "pass"
	// Warn: the machine works but is off the seed's recommendation, or the probe could
	// not tell.
	Warn Result = "warn"
	// Fail: the seed says installation or the cluster fails this way.
	Fail Result = "fail"
)

// Check is one preflight check of one machine.
type Check struct {
	// ID names the check (os, kernel, cpu, memory, disk, swap, ports, selinux, firewall,
	// clock, timezone, runtime, routes, gpu, root, ssh).
	ID     string `json:"id"`
	Result Result `json:"result"`
	// Seen is what the machine showed.
	Seen string `json:"seen"`
	// Fix is what to do, as the seed words it; empty on pass.
	Fix string `json:"fix,omitempty"`
}

// Minimum is what a machine of one role needs (seed §2.2's table).
type Minimum struct {
	// Role names the machine's kind in messages ("business-cluster node").
	Role        string
	CPUs        int
	MemoryBytes int64
	// SystemDiskBytes is the size of the system disk, read as the filesystem at /.
	SystemDiskBytes int64
}

const gib = int64(1) << 30

// MinimumFor returns the seed's minimum for a machine: every machine of the Global
// cluster 8 cores/16G; in a business cluster, master & etcd 4 cores/8G and nodes
// 8 cores/16G; a 100G system disk everywhere. "G" is read as GiB.
func MinimumFor(c *schema.Cluster, m schema.Machine) Minimum {
	switch {
	case IsGlobalCluster(c):
		return Minimum{Role: "Global cluster machine", CPUs: 8, MemoryBytes: 16 * gib, SystemDiskBytes: 100 * gib}
	case m.Role == schema.RoleMaster:
		return Minimum{Role: "business-cluster master", CPUs: 4, MemoryBytes: 8 * gib, SystemDiskBytes: 100 * gib}
	default:
		return Minimum{Role: "business-cluster node", CPUs: 8, MemoryBytes: 16 * gib, SystemDiskBytes: 100 * gib}
	}
}

// IsGlobalCluster is schema's rule for the platform's Global cluster: named global, or
// labelled gitfleet.dev/role: global.
func IsGlobalCluster(c *schema.Cluster) bool {
	return c.Metadata.Name == "global" || c.Metadata.Labels["gitfleet.dev/role"] == "global"
}

// RequiredPorts are the ports the seed says must be free for (or open to) the platform:
// 80, 443, 8080, 6443, 2379, 2380, 10250-10255 and 31138. 22 is left out: the probe
// itself comes in through SSH.
var RequiredPorts = []int{80, 443, 2379, 2380, 6443, 8080, 10250, 10251, 10252, 10253, 10254, 10255, 31138}

// clusterPrograms are the programs that own the required ports on a machine that
// already runs the platform: their listening is not a conflict.
var clusterPrograms = []string{"kube", "etcd", "tke", "dockerd", "docker-proxy", "containerd", "keepalived", "haproxy", "nginx-ingress"}

// maxClockSkew is the seed's bound on clock differences between hosts.
const maxClockSkew = 2 * time.Second

// memoryTolerance: MemTotal leaves out what firmware and the kernel reserve, and df's
// size of / leaves out filesystem metadata, so a machine with exactly the minimum
// installed reads a few percent below it. Within this fraction below the minimum is a
// warning, further below a failure.
const memoryTolerance = 0.9

// minKernel is the seed's minimum kernel, 3.10.0-957.10.1.el7.
var minKernel = []int{3, 10, 0, 957, 10, 1}

// supportedOS are the seed's operating systems (os-release ID -> VERSION_ID prefixes).
var supportedOS = map[string][]string{
	"ubuntu": {"16.04", "18.04"},
	"centos": {"7"},
	"tlinux": {"2.2"},
}

// Evaluate judges one machine's facts. Cluster-wide checks (timezone) are added by
// EvaluateCluster.
func Evaluate(f Facts, c *schema.Cluster, m schema.Machine) []Check {
	min := MinimumFor(c, m)
	return []Check{
		checkOS(f),
		checkKernel(f),
		checkCPU(f, min),
		checkMemory(f, min),
		checkDisk(f, min),
		checkSwap(f),
		checkPorts(f),
		checkSELinux(f),
		checkFirewall(f),
		checkClock(f),
		checkRuntime(f),
		checkRoutes(f, c),
		checkGPU(f, m),
		checkRoot(f),
	}
}

func checkOS(f Facts) Check {
	c := Check{ID: "os", Seen: orUnknown(f.OS) + " " + f.Arch}
	c.Seen = strings.TrimSpace(c.Seen)
	fix := "use Ubuntu 16.04/18.04 LTS 64-bit, CentOS Linux 7.6 64-bit or Tencent Linux 2.2 (the systems TKEStack supports)"
	if f.Arch != "" && f.Arch != "x86_64" && f.Arch != "aarch64" {
		c.Result, c.Fix = Fail, "a 64-bit system is required: "+fix
		return c
	}
	versions, known := supportedOS[f.OSID]
	if known && slices.ContainsFunc(versions, func(v string) bool { return strings.HasPrefix(f.OSVersion, v) }) {
		if f.OSID == "centos" && compareVersions(parseVersion(f.OSVersion), []int{7, 6}) < 0 {
			c.Result, c.Fix = Warn, fix
			return c
		}
		c.Result = Pass
		return c
	}
	c.Result, c.Fix = Warn, fix
	return c
}

func checkKernel(f Facts) Check {
	c := Check{ID: "kernel", Seen: orUnknown(f.Kernel)}
	fix := "upgrade the kernel to 3.10.0-957.10.1.el7 or later"
	switch {
	case f.Kernel == "":
		c.Result, c.Fix = Warn, "could not read the kernel version (uname -r); "+fix
	case compareVersions(parseVersion(f.Kernel), minKernel) < 0:
		c.Result, c.Fix = Fail, fix
	default:
		c.Result = Pass
	}
	return c
}

func checkCPU(f Facts, min Minimum) Check {
	c := Check{ID: "cpu", Seen: fmt.Sprintf("%d cores (minimum %d)", f.CPUs, min.CPUs)}
	switch {
	case f.CPUs == 0:
		c.Result, c.Seen, c.Fix = Warn, "unknown (nproc printed nothing)", fmt.Sprintf("the role needs %d cores", min.CPUs)
	case f.CPUs < min.CPUs:
		c.Result, c.Fix = Fail, fmt.Sprintf("give the machine at least %d cores: TKEStack's minimum for a %s (deployment fails below it)", min.CPUs, min.Role)
	default:
		c.Result = Pass
	}
	return c
}

func checkMemory(f Facts, min Minimum) Check {
	return sizeCheck("memory", f.MemoryBytes, min.MemoryBytes, "MemTotal",
		fmt.Sprintf("give the machine at least %s of memory: TKEStack's minimum for a %s", humanBytes(min.MemoryBytes), min.Role))
}

func checkDisk(f Facts, min Minimum) Check {
	return sizeCheck("disk", f.RootFSBytes, min.SystemDiskBytes, "size of /",
		fmt.Sprintf("give the machine a system disk of at least %s (TKEStack's minimum), and keep docker and kubelet data on a data disk (spec.extraArgs.docker data-root, spec.extraArgs.kubelet root-dir)", humanBytes(min.SystemDiskBytes)))
}

func sizeCheck(id string, have, want int64, what, fix string) Check {
	c := Check{ID: id, Seen: fmt.Sprintf("%s %s (minimum %s)", what, humanBytes(have), humanBytes(want))}
	switch {
	case have == 0:
		c.Result, c.Seen, c.Fix = Warn, "unknown ("+what+" could not be read)", fix
	case have >= want:
		c.Result = Pass
	case float64(have) >= float64(want)*memoryTolerance:
		c.Result, c.Fix = Warn, "slightly below the minimum, which reserved space can explain; "+fix
	default:
		c.Result, c.Fix = Fail, fix
	}
	return c
}

func checkSwap(f Facts) Check {
	if f.SwapBytes == 0 {
		return Check{ID: "swap", Result: Pass, Seen: "no active swap"}
	}
	return Check{ID: "swap", Result: Fail, Seen: humanBytes(f.SwapBytes) + " of swap active",
		Fix: "turn swap off: swapoff -a and remove the swap lines from /etc/fstab (or run the kubelet with --fail-swap-on=false)"}
}

func checkPorts(f Facts) Check {
	c := Check{ID: "ports"}
	var busy, platform []string
	for _, p := range RequiredPorts {
		i := slices.IndexFunc(f.Listeners, func(l Listener) bool { return l.Port == p })
		if i < 0 {
			continue
		}
		l := f.Listeners[i]
		desc := strconv.Itoa(p)
		if l.Process != "" {
			desc += " (" + l.Process + ")"
		}
		if slices.ContainsFunc(clusterPrograms, func(prefix string) bool { return strings.HasPrefix(l.Process, prefix) }) {
			platform = append(platform, desc)
		} else {
			busy = append(busy, desc)
		}
	}
	switch {
	case len(busy) > 0:
		c.Result, c.Seen = Fail, "in use: "+strings.Join(busy, ", ")
		c.Fix = "stop what listens on these ports: the platform needs 80, 443, 8080, 6443, 2379, 2380, 10250-10255 and 31138 (TKEStack's clean-up before re-adding a node: kill the processes on 80 2379 6443 8086 10249-10259)"
	case len(platform) > 0:
		c.Result, c.Seen = Pass, "used by the platform: "+strings.Join(platform, ", ")
	default:
		c.Result, c.Seen = Pass, "80, 443, 2379, 2380, 6443, 8080, 10250-10255, 31138 free"
	}
	return c
}

func checkSELinux(f Facts) Check {
	c := Check{ID: "selinux", Seen: orValue(f.SELinux, "not present")}
	fix := "turn SELinux off: setenforce 0 and SELINUX=disabled in /etc/selinux/config"
	switch f.SELinux {
	case "Enforcing":
		c.Result, c.Fix = Fail, fix
	case "Permissive":
		c.Result, c.Fix = Warn, "SELinux only logs in permissive mode; "+fix
	default:
		c.Result = Pass
	}
	return c
}

func checkFirewall(f Facts) Check {
	if len(f.Firewalls) == 0 {
		return Check{ID: "firewall", Result: Pass, Seen: "no firewalld or ufw active"}
	}
	return Check{ID: "firewall", Result: Warn, Seen: strings.Join(f.Firewalls, ", ") + " active",
		Fix: "turn the firewall off (systemctl disable --now " + f.Firewalls[0] + "), or open 22, 80, 8080, 443, 6443, 2379, 2380, 10250-10255, 31138 and the NodePort range 30000-32768"}
}

func checkClock(f Facts) Check {
	c := Check{ID: "clock"}
	skew := f.ClockOffset.Abs() - f.ClockUncertainty
	fix := "synchronise the clock with chrony (chronyc makestep; enable chronyd): TKEStack allows at most 2 s between hosts"
	switch {
	case skew > maxClockSkew:
		direction := "ahead of"
		if f.ClockOffset < 0 {
			direction = "behind"
		}
		// Whole seconds: a status file that changed with every millisecond of drift
		// would make a commit each check.
		c.Result, c.Seen, c.Fix = Fail, fmt.Sprintf("%d s %s gitfleet's clock", int(f.ClockOffset.Abs().Round(time.Second)/time.Second), direction), fix
	case f.ClockUncertainty > maxClockSkew:
		c.Result, c.Seen, c.Fix = Warn, "could not be measured precisely (slow round trip)", fix
	default:
		c.Result, c.Seen = Pass, "within 2 s of gitfleet's clock"
	}
	return c
}

func checkRuntime(f Facts) Check {
	if len(f.Runtimes) == 0 {
		return Check{ID: "runtime", Result: Pass, Seen: "no docker or containerd installed"}
	}
	c := Check{ID: "runtime", Seen: "found " + strings.Join(f.Runtimes, ", ")}
	if f.Kubelet {
		// The platform installed them: the node already runs.
		c.Result, c.Seen = Pass, c.Seen+" (the machine runs a kubelet)"
		return c
	}
	c.Result, c.Fix = Fail, "remove the pre-installed runtime before the platform installs its own: yum remove docker-ce containerd docker-ce-cli (apt-get purge docker-ce docker-ce-cli containerd.io on Ubuntu)"
	return c
}

func checkRoutes(f Facts, c *schema.Cluster) Check {
	check := Check{ID: "routes"}
	cidr := c.Spec.Network.ClusterCIDR
	pod, err := netip.ParsePrefix(cidr)
	if cidr == "" || err != nil {
		check.Result, check.Seen = Pass, "the cluster declares no spec.network.clusterCIDR to clash with"
		return check
	}
	var clash []string
	for _, r := range f.Routes {
		if r.Dest.Overlaps(pod) {
			clash = append(clash, r.Line)
		}
	}
	if len(clash) == 0 {
		check.Result, check.Seen = Pass, "no route overlaps clusterCIDR "+cidr
		return check
	}
	check.Result = Fail
	check.Seen = fmt.Sprintf("routes overlapping clusterCIDR %s: %s", cidr, strings.Join(clash, "; "))
	check.Fix = "delete the conflicting routes (ip route del ...; for docker0, recreate it at 172.17.0.1/16) or choose a spec.network.clusterCIDR that does not overlap them"
	return check
}

func checkGPU(f Facts, m schema.Machine) Check {
	c := Check{ID: "gpu"}
	var cards []string
	for _, g := range f.GPUs {
		cards = append(cards, fmt.Sprintf("%s %d MiB", g.Model, g.MemoryMiB))
	}
	var devices []string
	for _, d := range f.GPUDevices {
		if d != "nvidiactl" && d != "nvidia-uvm" && d != "nvidia-uvm-tools" && d != "nvidia-modeset" && strings.HasPrefix(d, "nvidia") {
			devices = append(devices, "/dev/"+d)
		}
	}
	present := len(cards) > 0 || len(devices) > 0
	switch {
	case len(cards) > 0:
		c.Seen = strings.Join(cards, ", ")
	case len(devices) > 0:
		c.Seen = strings.Join(devices, ", ") + " (nvidia-smi printed nothing)"
	default:
		c.Seen = "no NVIDIA GPU (no nvidia-smi output, no /dev/nvidia[0-9]*)"
	}
	switch {
	case m.GPU && !present:
		c.Result, c.Fix = Fail, "the machine is declared gpu: true but has no GPU the driver sees: install the NVIDIA driver (the platform installs it on GPU machines of a cluster with a gpuType) or set gpu: false"
	case !m.GPU && present:
		c.Result, c.Fix = Warn, "the machine has GPUs but is not declared gpu: true, so the GPU plugins will not use them"
	case m.GPU && !slices.Contains(f.GPUDevices, "nvidia-uvm"):
		c.Result, c.Fix = Warn, "/dev/nvidia-uvm is missing, so GPU containers fail with \"lstat /dev/nvidia-uvm\": run nvidia-modprobe -u -c=0 on the machine"
	default:
		c.Result = Pass
	}
	return c
}

func checkRoot(f Facts) Check {
	switch {
	case f.UID == 0:
		return Check{ID: "root", Result: Pass, Seen: "logged in as root"}
	case f.Sudo:
		return Check{ID: "root", Result: Pass, Seen: fmt.Sprintf("uid %d with password-less sudo", f.UID)}
	}
	return Check{ID: "root", Result: Fail, Seen: fmt.Sprintf("uid %d without password-less sudo", f.UID),
		Fix: "log in as root (username: root) or give the user password-less sudo: the platform installs packages and configures the kernel"}
}

// EvaluateTimezones adds the seed's "same timezone on all hosts" check to each reached
// machine of a cluster: machines off the most common timezone get a warning.
func EvaluateTimezones(facts []*Facts) []Check {
	count := map[string]int{}
	common := ""
	for _, f := range facts {
		if f == nil || f.Timezone == "" {
			continue
		}
		count[f.Timezone]++
		if count[f.Timezone] > count[common] || (count[f.Timezone] == count[common] && f.Timezone < common) {
			common = f.Timezone
		}
	}
	out := make([]Check, len(facts))
	for i, f := range facts {
		switch {
		case f == nil:
			continue
		case f.Timezone == "":
			out[i] = Check{ID: "timezone", Result: Warn, Seen: "unknown", Fix: "set the same timezone on every host (recommended Asia/Shanghai): timedatectl set-timezone Asia/Shanghai"}
		case f.Timezone != common:
			out[i] = Check{ID: "timezone", Result: Warn, Seen: f.Timezone + ", most machines of the cluster use " + common, Fix: "set the same timezone on every host (recommended Asia/Shanghai): timedatectl set-timezone " + common}
		default:
			out[i] = Check{ID: "timezone", Result: Pass, Seen: f.Timezone}
		}
	}
	return out
}

// parseVersion reads the numbers of a dotted/dashed version: "3.10.0-957.10.1.el7.x86_64"
// -> 3 10 0 957 10 1 (it stops at the first part that is not a number).
func parseVersion(s string) []int {
	var out []int
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '_' || r == '+' }) {
		n, err := strconv.Atoi(part)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

func compareVersions(a, b []int) int {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func humanBytes(n int64) string {
	if n >= gib {
		return strconv.FormatFloat(float64(n)/float64(gib), 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/float64(1<<20), 'f', 0, 64) + " MiB"
}

func orUnknown(s string) string { return orValue(s, "unknown") }

func orValue(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
