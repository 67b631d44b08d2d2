package machines

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// StatusOf turns check results into the machines section of each cluster's status file:
// cluster name -> machines, in the results' order.
func StatusOf(results []MachineResult) map[string][]status.Machine {
	out := map[string][]status.Machine{}
	for _, r := range results {
		m := status.Machine{IP: r.Machine.IP, Role: string(r.Machine.Role)}
		if r.Err != nil {
			m.Error = r.Err.Error()
		}
		if f := r.Facts; f != nil {
			m.Hostname = f.Hostname
			m.Facts = &status.MachineFacts{
				OS: f.OS, Kernel: f.Kernel, CPUs: f.CPUs, CPUModel: f.CPUModel,
				Memory: binaryQuantity(f.MemoryBytes),
			}
			for _, d := range f.Disks {
				m.Facts.Disks = append(m.Facts.Disks, status.MachineDisk{Name: d.Name, Size: binaryQuantity(d.SizeBytes)})
			}
			for _, g := range f.GPUs {
				m.Facts.GPUs = append(m.Facts.GPUs, status.MachineGPU{Model: g.Model, Memory: fmt.Sprintf("%dMi", g.MemoryMiB)})
			}
		}
		for _, c := range r.Checks {
			m.Checks = append(m.Checks, status.MachineCheck{ID: c.ID, Result: string(c.Result), Seen: c.Seen, Fix: c.Fix})
		}
		out[r.Cluster] = append(out[r.Cluster], m)
	}
	return out
}

// binaryQuantity writes bytes the way Kubernetes writes memory, rounded down to whole
// MiB so that the odd kilobyte the kernel reserves differently after a reboot does not
// make a status commit.
func binaryQuantity(n int64) string {
	q := resource.NewQuantity(n/(1<<20)*(1<<20), resource.BinarySI)
	return q.String()
}
