package machines

import (
	"bytes"
	"strings"
)

// ProbeScript is the one command gitfleet runs on a machine to learn its facts. It is a
// constant: no value from the fleet repository is ever put into it, so a machine's
// labels, names or addresses cannot reach a shell. Each section starts with a marker
// line; every command tolerates being absent (older distributions, busybox) and prints
// nothing then, which the parsers read as "unknown".
//
// LC_ALL=C keeps the output in the format the parsers expect; PATH includes the sbin
// directories a non-root login often lacks.
const ProbeScript = `export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
s() { echo "` + sectionMarker + `$1"; }
s hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
s os-release; cat /etc/os-release 2>/dev/null
s redhat-release; cat /etc/redhat-release 2>/dev/null
s uname; uname -rm
s cpus; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN
s cpuinfo; grep -m1 '^model name' /proc/cpuinfo 2>/dev/null
s meminfo; grep -E '^(MemTotal|SwapTotal):' /proc/meminfo
s swaps; cat /proc/swaps 2>/dev/null
s rootfs; df -Pk / 2>/dev/null
s disks; lsblk -b -d -n -o NAME,SIZE,TYPE,ROTA 2>/dev/null
s listen; ss -ltnpH 2>/dev/null || ss -ltnp 2>/dev/null
s proc-net-tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
s selinux; getenforce 2>/dev/null || { test -r /sys/fs/selinux/enforce && sed 's/^1$/Enforcing/;s/^0$/Permissive/' /sys/fs/selinux/enforce; }
s runtimes; for b in docker dockerd containerd; do command -v "$b"; done 2>/dev/null
s packages; { dpkg-query -W -f '${Package} ${Status}\n' docker-ce docker-ce-cli containerd containerd.io docker.io 2>/dev/null | grep ' installed$'; rpm -q docker-ce docker-ce-cli containerd.io 2>/dev/null | grep -v 'is not installed'; } 2>/dev/null
s routes; ip -4 route show 2>/dev/null
s gpus; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>/dev/null
s gpu-devices; ls -1 /dev 2>/dev/null | grep '^nvidia'
s uid; id -u
s sudo; test "$(id -u)" = 0 || { sudo -n true 2>/dev/null && echo ok; }
s kubelet; pidof kubelet 2>/dev/null
s timezone; { timedatectl show -p Timezone --value 2>/dev/null || cat /etc/timezone 2>/dev/null || readlink /etc/localtime; } | head -n1
s firewall; for u in firewalld ufw; do test "$(systemctl is-active "$u" 2>/dev/null)" = active && echo "$u"; done
s end
true`

// ClockCommand reads the machine's clock alone, so that the round trip around it is
// short and the offset from gitfleet's clock is measured to a few milliseconds.
const ClockCommand = `date +%s.%N`

const sectionMarker = "@@gitfleet-probe:"

// sections splits the probe's output into its sections: name -> lines, trailing spaces
// trimmed, empty lines dropped.
func sections(out []byte) map[string][]string {
	secs := map[string][]string{}
	current := ""
	for _, raw := range bytes.Split(out, []byte("\n")) {
		line := strings.TrimRight(string(raw), " \t\r")
		if name, ok := strings.CutPrefix(line, sectionMarker); ok {
			current = name
			if _, seen := secs[current]; !seen {
				secs[current] = nil
			}
			continue
		}
		if current == "" || strings.TrimSpace(line) == "" {
			continue
		}
		secs[current] = append(secs[current], line)
	}
	return secs
}
