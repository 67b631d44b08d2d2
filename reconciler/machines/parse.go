package machines

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrProbeIncomplete is a probe whose output stopped before its end marker: the
// connection dropped or the shell is not a POSIX shell.
var ErrProbeIncomplete = errors.New("the probe's output is incomplete (the login shell must be a POSIX sh: bash, dash or ash)")

// ParseProbe turns the probe script's output into Facts. Sections that printed nothing
// leave their facts unknown.
func ParseProbe(out []byte) (Facts, error) {
	secs := sections(out)
	if _, ok := secs["end"]; !ok {
		return Facts{}, ErrProbeIncomplete
	}
	var f Facts
	f.Hostname = first(secs["hostname"])
	f.OS, f.OSID, f.OSVersion = parseOSRelease(secs["os-release"])
	// CentOS's os-release says only "7"; the minor release the seed asks for (7.6) is in
	// /etc/redhat-release: "CentOS Linux release 7.6.1810 (Core)".
	if v := redhatVersion.FindString(first(secs["redhat-release"])); strings.HasPrefix(v, f.OSVersion+".") {
		f.OSVersion = v
	}
	if fields := strings.Fields(first(secs["uname"])); len(fields) == 2 {
		f.Kernel, f.Arch = fields[0], fields[1]
	}
	f.CPUs, _ = strconv.Atoi(first(secs["cpus"]))
	if _, model, ok := strings.Cut(first(secs["cpuinfo"]), ":"); ok {
		f.CPUModel = strings.Join(strings.Fields(model), " ")
	}
	var swapTotal int64
	f.MemoryBytes, swapTotal = parseMeminfo(secs["meminfo"])
	f.SwapBytes = parseSwaps(secs["swaps"])
	if f.SwapBytes == 0 && secs["swaps"] == nil {
		f.SwapBytes = swapTotal
	}
	f.RootFSBytes = parseDF(secs["rootfs"])
	f.Disks = parseLsblk(secs["disks"])
	f.Listeners = parseSS(secs["listen"])
	if len(f.Listeners) == 0 {
		f.Listeners = parseProcNetTCP(secs["proc-net-tcp"])
	}
	f.SELinux = parseSELinux(first(secs["selinux"]))
	f.Runtimes = parseRuntimes(secs["runtimes"], secs["packages"])
	f.Routes = parseRoutes(secs["routes"])
	f.GPUs = parseNvidiaSMI(secs["gpus"])
	f.GPUDevices = append([]string(nil), secs["gpu-devices"]...)
	f.UID, _ = strconv.Atoi(first(secs["uid"]))
	if secs["uid"] == nil {
		f.UID = -1
	}
	f.Sudo = first(secs["sudo"]) == "ok"
	f.Kubelet = first(secs["kubelet"]) != ""
	f.Timezone = strings.TrimPrefix(first(secs["timezone"]), "/usr/share/zoneinfo/")
	f.Timezone = strings.TrimPrefix(f.Timezone, "../usr/share/zoneinfo/")
	f.Firewalls = append([]string(nil), secs["firewall"]...)
	return f, nil
}

func first(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[0])
}

// parseOSRelease reads PRETTY_NAME, ID and VERSION_ID of /etc/os-release.
func parseOSRelease(lines []string) (pretty, id, version string) {
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "PRETTY_NAME":
			pretty = v
		case "ID":
			id = v
		case "VERSION_ID":
			version = v
		}
	}
	return pretty, id, version
}

// parseMeminfo returns MemTotal and SwapTotal in bytes (meminfo prints kB, meaning KiB).
func parseMeminfo(lines []string) (mem, swap int64) {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			mem = n * 1024
		case "SwapTotal:":
			swap = n * 1024
		}
	}
	return mem, swap
}

// parseSwaps sums the sizes (KiB) of the active swap areas in /proc/swaps.
func parseSwaps(lines []string) int64 {
	var total int64
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] == "Filename" {
			continue
		}
		if n, err := strconv.ParseInt(f[2], 10, 64); err == nil {
			total += n * 1024
		}
	}
	return total
}

// parseDF reads the size of the filesystem from `df -Pk /`.
func parseDF(lines []string) int64 {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 6 || f[0] == "Filesystem" {
			continue
		}
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			return n * 1024
		}
	}
	return 0
}

// parseLsblk reads `lsblk -b -d -n -o NAME,SIZE,TYPE,ROTA`: whole disks only.
func parseLsblk(lines []string) []Disk {
	var disks []Disk
	for _, l := range lines {
		f := strings.Fields(l)
		// zram devices are compressed memory (swap), not disks.
		if len(f) < 3 || f[2] != "disk" || strings.HasPrefix(f[0], "zram") {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size == 0 {
			continue
		}
		disks = append(disks, Disk{Name: f[0], SizeBytes: size, Rotational: len(f) > 3 && f[3] == "1"})
	}
	return disks
}

var redhatVersion = regexp.MustCompile(`[0-9]+(\.[0-9]+)+`)

var ssProcess = regexp.MustCompile(`users:\(\("([^"]+)"`)

// parseSS reads `ss -ltnp` (with or without its header): the listening ports and, when
// visible, the program behind each.
func parseSS(lines []string) []Listener {
	var out []Listener
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] == "State" {
			continue
		}
		// LISTEN Recv-Q Send-Q Local:Port Peer:Port [Process]
		local := f[3]
		i := strings.LastIndex(local, ":")
		if i < 0 {
			continue
		}
		port, err := strconv.Atoi(local[i+1:])
		if err != nil {
			continue
		}
		lis := Listener{Port: port}
		if m := ssProcess.FindStringSubmatch(l); m != nil {
			lis.Process = m[1]
		}
		out = addListener(out, lis)
	}
	return out
}

// parseProcNetTCP reads /proc/net/tcp and tcp6 for sockets in state 0A (LISTEN), for
// machines without ss. The program is not known then.
func parseProcNetTCP(lines []string) []Listener {
	var out []Listener
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] == "sl" || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseInt(hexPort, 16, 32)
		if err != nil {
			continue
		}
		out = addListener(out, Listener{Port: int(port)})
	}
	return out
}

// addListener keeps one entry per port (IPv4 and IPv6 sockets of one program are one).
func addListener(list []Listener, l Listener) []Listener {
	for i := range list {
		if list[i].Port == l.Port {
			if list[i].Process == "" {
				list[i].Process = l.Process
			}
			return list
		}
	}
	return append(list, l)
}

func parseSELinux(s string) string {
	switch strings.ToLower(s) {
	case "enforcing":
		return "Enforcing"
	case "permissive":
		return "Permissive"
	case "disabled":
		return "Disabled"
	}
	return ""
}

// parseRuntimes lists the container runtimes found: binaries by name, packages by
// package name.
func parseRuntimes(binaries, packages []string) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, b := range binaries {
		add(b[strings.LastIndex(b, "/")+1:])
	}
	for _, p := range packages {
		name := strings.Fields(p)[0]
		// rpm -q prints name-version-release.arch.
		for _, known := range []string{"docker-ce-cli", "docker-ce", "containerd.io", "containerd", "docker.io"} {
			if name == known || strings.HasPrefix(name, known+"-") {
				name = known
				break
			}
		}
		add("package " + name)
	}
	return out
}

// parseRoutes reads `ip -4 route show`; routes without a prefix (default) are skipped,
// as they cannot clash with a cluster's CIDR.
func parseRoutes(lines []string) []Route {
	var out []Route
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		dest := f[0]
		if dest == "unreachable" || dest == "blackhole" || dest == "prohibit" || dest == "local" || dest == "broadcast" {
			if len(f) < 2 {
				continue
			}
			dest = f[1]
		}
		if dest == "default" {
			continue
		}
		if !strings.Contains(dest, "/") {
			dest += "/32"
		}
		p, err := netip.ParsePrefix(dest)
		if err != nil {
			continue
		}
		out = append(out, Route{Dest: p.Masked(), Line: strings.Join(f, " ")})
	}
	return out
}

// parseNvidiaSMI reads `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`.
func parseNvidiaSMI(lines []string) []GPU {
	var out []GPU
	for _, l := range lines {
		i := strings.LastIndex(l, ",")
		if i < 0 {
			continue
		}
		mem, err := strconv.ParseInt(strings.TrimSpace(l[i+1:]), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, GPU{Model: strings.TrimSpace(l[:i]), MemoryMiB: mem})
	}
	return out
}

// parseClock reads `date +%s.%N`. A date without %N (busybox) prints "1700000000.%N" or
// "1700000000.N"; the whole seconds are used then, and the caller widens the uncertainty.
func parseClock(out string) (t time.Time, precise bool, err error) {
	s := strings.TrimSpace(out)
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the machine's clock: %q is not `date +%%s.%%N` output", s)
	}
	if len(frac) != 9 {
		return time.Unix(sec, 0), false, nil
	}
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Unix(sec, 0), false, nil
	}
	return time.Unix(sec, ns), true, nil
}
