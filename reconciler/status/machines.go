package status

import (
	"fmt"
	"strings"
)

// Machine is what the last preflight check of one of a cluster's machines found: the
// machine's facts (used as the cluster's capacity when it declares none) and every
// check's verdict. Nothing in it changes between checks of an unchanged machine (no
// timestamps, no free memory, the clock only as "within 2 s" or whole seconds), so an
// uneventful check makes no commit.
type Machine struct {
	IP       string `json:"ip"`
	Hostname string `json:"hostname,omitempty"`
	Role     string `json:"role,omitempty"`
	// Node is the Kubernetes Node the machine's labels and taints were applied to.
	Node   string         `json:"node,omitempty"`
	Facts  *MachineFacts  `json:"facts,omitempty"`
	Checks []MachineCheck `json:"checks,omitempty"`
	// Error is why the machine could not be checked or its Node not updated.
	Error string `json:"error,omitempty"`
}

// MachineFacts are a machine's hardware and system.
type MachineFacts struct {
	OS       string `json:"os,omitempty"`
	Kernel   string `json:"kernel,omitempty"`
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpuModel,omitempty"`
	// Memory is MemTotal as a Kubernetes quantity (e.g. 15914Mi).
	Memory string        `json:"memory"`
	Disks  []MachineDisk `json:"disks,omitempty"`
	GPUs   []MachineGPU  `json:"gpus,omitempty"`
}

// MachineDisk is a whole disk.
type MachineDisk struct {
	Name string `json:"name"`
	Size string `json:"size"`
}

// MachineGPU is one GPU card.
type MachineGPU struct {
	Model  string `json:"model"`
	Memory string `json:"memory"`
}

// MachineCheck is one preflight check's verdict.
type MachineCheck struct {
	ID     string `json:"id"`
	Result string `json:"result"`
	Seen   string `json:"seen"`
	Fix    string `json:"fix,omitempty"`
}

// failing lists the checks of a machine that did not pass.
func (m Machine) failing() (fail, warn []MachineCheck) {
	for _, c := range m.Checks {
		switch c.Result {
		case "fail":
			fail = append(fail, c)
		case "warn":
			warn = append(warn, c)
		}
	}
	return fail, warn
}

// machinesReadme is the README's machine section: one row per machine, then each
// failed check with its fix.
func machinesReadme(b *strings.Builder, clusters []Cluster) {
	listed := false
	for _, c := range clusters {
		listed = listed || len(c.Machines) > 0
	}
	if !listed {
		return
	}
	b.WriteString("\n## Machines\n\n| Cluster | Machine | Hostname | CPUs | Memory | GPUs | Failed | Warnings |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range clusters {
		for _, m := range c.Machines {
			fail, warn := m.failing()
			cpus, mem, gpus := "-", "-", "-"
			if m.Facts != nil {
				cpus, mem, gpus = fmt.Sprint(m.Facts.CPUs), m.Facts.Memory, fmt.Sprint(len(m.Facts.GPUs))
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %d | %d |\n", c.Cluster, m.IP, orDash(m.Hostname), cpus, mem, gpus, len(fail), len(warn))
		}
	}
	for _, c := range clusters {
		for _, m := range c.Machines {
			fail, _ := m.failing()
			for _, f := range fail {
				fmt.Fprintf(b, "- %s %s: %s failed: %s. Fix: %s\n", c.Cluster, m.IP, f.ID, oneLine(f.Seen), oneLine(f.Fix))
			}
		}
	}
}
