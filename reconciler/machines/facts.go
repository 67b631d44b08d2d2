package machines

import (
	"net/netip"
	"time"
)

// Facts are what a probe learned about a machine. Zero values mean unknown (the command
// was missing), which the checks report as a warning rather than guess.
type Facts struct {
	Hostname string
	// OS is os-release's PRETTY_NAME; OSID and OSVersion its ID and VERSION_ID.
	OS, OSID, OSVersion string
	Kernel              string
	Arch                string
	CPUs                int
	CPUModel            string
	// MemoryBytes is MemTotal: installed memory less what firmware and kernel reserve.
	MemoryBytes int64
	// SwapBytes is the size of the active swap areas.
	SwapBytes int64
	// RootFSBytes is the size of the filesystem mounted at /.
	RootFSBytes int64
	Disks       []Disk
	GPUs        []GPU
	// GPUDevices are the /dev/nvidia* device nodes.
	GPUDevices []string
	Listeners  []Listener
	// SELinux is Enforcing, Permissive or Disabled; empty when SELinux is not there.
	SELinux string
	// Runtimes lists container runtime binaries and packages found.
	Runtimes []string
	Routes   []Route
	// UID is the login's user id; Sudo says a non-root login may sudo without a password.
	UID  int
	Sudo bool
	// Kubelet says a kubelet is running: the machine already belongs to a cluster.
	Kubelet  bool
	Timezone string
	// Firewalls are the firewall services active (firewalld, ufw).
	Firewalls []string
	// ClockOffset is the machine's clock minus gitfleet's, measured to within
	// ClockUncertainty (half the round trip).
	ClockOffset, ClockUncertainty time.Duration
}

// Disk is a whole block device (not a partition).
type Disk struct {
	Name       string
	SizeBytes  int64
	Rotational bool
}

// GPU is one card as nvidia-smi reports it.
type GPU struct {
	Model     string
	MemoryMiB int64
}

// Listener is a TCP port something listens on.
type Listener struct {
	Port int
	// Process is the program's name when the probe could see it (root, or its own).
	Process string
}

// Route is one IPv4 route of the machine's main table.
type Route struct {
	Dest netip.Prefix
	// Line is the route as `ip route` printed it, for messages.
	Line string
}
