package machines

import (
	"io/fs"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// GPU resources, per the cluster's GPU type: GPU-Manager counts 100 vcuda-core per card
// and vcuda-memory in units of 256 MiB; the NVIDIA device plugin counts whole cards.
const (
	ResourceVCUDACore   = "tencent.com/vcuda-core"
	ResourceVCUDAMemory = "tencent.com/vcuda-memory"
	ResourceNvidiaGPU   = "nvidia.com/gpu"
)

// Capacity is what a cluster's machines offer, from their facts: the sum of their CPUs
// and memory, and their GPUs in the resources of the cluster's GPU type. Machines whose
// facts are unknown count nothing: the capacity is then a lower bound, which errs on the
// side of refusing quotas rather than overcommitting.
func Capacity(c *schema.Cluster, machines []status.Machine) schema.ResourceList {
	var cpus, memory, cards, vcudaMemory int64
	for _, m := range machines {
		if m.Facts == nil {
			continue
		}
		cpus += int64(m.Facts.CPUs)
		if q, err := resource.ParseQuantity(m.Facts.Memory); err == nil {
			memory += q.Value()
		}
		for _, g := range m.Facts.GPUs {
			cards++
			if q, err := resource.ParseQuantity(g.Memory); err == nil {
				vcudaMemory += q.Value() / (256 << 20)
			}
		}
	}
	if cpus == 0 && memory == 0 {
		return nil
	}
	rl := schema.ResourceList{
		"cpu":    *resource.NewQuantity(cpus, resource.DecimalSI),
		"memory": *resource.NewQuantity(memory, resource.BinarySI),
	}
	switch c.Spec.GPUType {
	case schema.GPUVirtual:
		rl[ResourceVCUDACore] = *resource.NewQuantity(cards*100, resource.DecimalSI)
		rl[ResourceVCUDAMemory] = *resource.NewQuantity(vcudaMemory, resource.DecimalSI)
	case schema.GPUPhysical:
		rl[ResourceNvidiaGPU] = *resource.NewQuantity(cards, resource.DecimalSI)
	}
	return rl
}

// FillCapacity sets the capacity of each cluster that declares none from its machines'
// facts (cluster name -> machines, as StatusOf returns them or as the status files hold
// them), so that the quota checks have a capacity to check against. It returns the
// clusters it filled. Clusters that declare spec.capacity keep it: a declared capacity is
// a decision (reserving room for the platform, say), not a measurement.
func FillCapacity(repo *schema.Repo, facts map[string][]status.Machine) []string {
	var filled []string
	for _, c := range repo.Clusters {
		if len(c.Spec.Capacity) > 0 {
			continue
		}
		if rl := Capacity(c, facts[c.Metadata.Name]); len(rl) > 0 {
			c.Spec.Capacity = rl
			c.Spec.CapacityMeasured = true
			filled = append(filled, c.Metadata.Name)
		}
	}
	return filled
}

// CheckMeasuredCapacity fills in the capacity of clusters that declare none from their
// machines' facts (FillCapacity) and checks the businesses' quotas against it: the
// schema.ErrorList of the overruns, or nil.
func CheckMeasuredCapacity(repo *schema.Repo, facts map[string][]status.Machine) error {
	if errs := repo.CapacityProblems(FillCapacity(repo, facts)); len(errs) > 0 {
		return errs
	}
	return nil
}

// FactsFromStatus reads the machines sections of the status files in a repository tree
// (status/clusters/<name>.yaml): cluster name -> machines, for FillCapacity where no
// check has run in this process (gitfleet validate, plan, a freshly started server).
// Files that are missing or unreadable contribute nothing.
func FactsFromStatus(fsys fs.FS) map[string][]status.Machine {
	out := map[string][]status.Machine{}
	paths, _ := fs.Glob(fsys, "status/clusters/*.yaml")
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			continue
		}
		var c status.Cluster
		if yaml.Unmarshal(data, &c) != nil || len(c.Machines) == 0 {
			continue
		}
		out[c.Cluster] = c.Machines
	}
	return out
}
