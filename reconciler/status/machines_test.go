package status

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestMachinesInStatusFiles: a cluster's machines round-trip through its status file,
// and the README gets a row per machine and a line per failed check with its fix.
func TestMachinesInStatusFiles(t *testing.T) {
	c := Cluster{Cluster: "sh-gpu", Phase: Synced, Health: "Healthy", Machines: []Machine{
		{IP: "10.2.0.21", Hostname: "gpu-1", Role: "worker", Node: "10.2.0.21",
			Facts: &MachineFacts{OS: "CentOS Linux 7 (Core)", Kernel: "3.10.0-957.21.3.el7.x86_64", CPUs: 16, Memory: "32011Mi",
				Disks: []MachineDisk{{Name: "vda", Size: "200Gi"}}, GPUs: []MachineGPU{{Model: "Tesla T4", Memory: "15109Mi"}}},
			Checks: []MachineCheck{{ID: "swap", Result: "fail", Seen: "2.0 GiB of swap active", Fix: "swapoff -a"}, {ID: "cpu", Result: "pass", Seen: "16 cores"}, {ID: "firewall", Result: "warn", Seen: "ufw active", Fix: "turn it off"}}},
		{IP: "10.2.0.22", Role: "worker", Error: "ssh root@10.2.0.22:22: timeout", Checks: []MachineCheck{{ID: "ssh", Result: "fail", Seen: "timeout", Fix: "make sure the machine is up"}}},
	}}
	files, err := Files([]Cluster{c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var back Cluster
	if err := yaml.Unmarshal(files["status/clusters/sh-gpu.yaml"], &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("status file round trip (-want +got):\n%s", diff)
	}
	readme := string(files["status/README.md"])
	for _, want := range []string{
		"| sh-gpu | 10.2.0.21 | gpu-1 | 16 | 32011Mi | 1 | 1 | 1 |",
		"| sh-gpu | 10.2.0.22 | - | - | - | - | 1 | 0 |",
		"- sh-gpu 10.2.0.21: swap failed: 2.0 GiB of swap active. Fix: swapoff -a",
		"- sh-gpu 10.2.0.22: ssh failed: timeout. Fix: make sure the machine is up",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q:\n%s", want, readme)
		}
	}
	if strings.Contains(readme, "cpu failed") {
		t.Errorf("README lists a passed check as failed:\n%s", readme)
	}
}
