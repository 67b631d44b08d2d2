package machines

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// TestCapacityFromFacts: facts become the status file's machine entries, and their sum
// the capacity of a cluster that declares none, in its GPU type's resources; a declared
// capacity is kept.
func TestCapacityFromFacts(t *testing.T) {
	gpuFacts := healthyFacts(t)
	gpuFacts.GPUs = []GPU{{Model: "Tesla T4", MemoryMiB: 15109}, {Model: "Tesla T4", MemoryMiB: 15109}}
	plain := healthyFacts(t)
	results := []MachineResult{
		{Cluster: "sh-gpu", Machine: schema.Machine{IP: "10.2.0.21"}, Facts: &gpuFacts, Checks: []Check{{ID: "swap", Result: Pass, Seen: "no active swap"}}},
		{Cluster: "sh-gpu", Machine: schema.Machine{IP: "10.2.0.22"}, Facts: &plain},
		{Cluster: "sh-gpu", Machine: schema.Machine{IP: "10.2.0.23"}, Checks: []Check{{ID: "ssh", Result: Fail}}},
		{Cluster: "bj-prod", Machine: schema.Machine{IP: "10.1.0.21"}, Facts: &plain},
		{Cluster: "gz-dev", Machine: schema.Machine{IP: "10.3.0.21"}, Facts: &plain},
	}
	st := StatusOf(results)
	first := st["sh-gpu"][0]
	if first.Hostname != "node-a" || first.Facts.Memory != "32011Mi" || len(first.Facts.GPUs) != 2 || first.Facts.GPUs[0].Memory != "15109Mi" || first.Facts.Disks[0].Size != "200Gi" {
		t.Errorf("status of a machine: %+v %+v", first, first.Facts)
	}
	if len(st["sh-gpu"]) != 3 || st["sh-gpu"][2].Facts != nil {
		t.Errorf("the unreachable machine must be listed without facts: %+v", st["sh-gpu"])
	}

	vgpu := testCluster("sh-gpu", func(c *schema.Cluster) { c.Spec.GPUType = schema.GPUVirtual })
	pgpu := testCluster("bj-prod", func(c *schema.Cluster) { c.Spec.GPUType = schema.GPUPhysical })
	declared := testCluster("gz-dev", func(c *schema.Cluster) { c.Spec.Capacity = schema.ResourceList{"cpu": resource.MustParse("4")} })
	repo := &schema.Repo{Clusters: []*schema.Cluster{vgpu, pgpu, declared}}
	if diff := cmp.Diff([]string{"sh-gpu", "bj-prod"}, FillCapacity(repo, st)); diff != "" {
		t.Errorf("filled (-want +got):\n%s", diff)
	}
	want := map[string]string{"cpu": "32", "memory": "64022Mi", ResourceVCUDACore: "200", ResourceVCUDAMemory: "118"}
	got := map[string]string{}
	for k, v := range vgpu.Spec.Capacity {
		got[k] = v.String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vGPU capacity (-want +got):\n%s", diff)
	}
	if q := pgpu.Spec.Capacity[ResourceNvidiaGPU]; q.Value() != 0 {
		t.Errorf("pGPU cluster without GPUs: nvidia.com/gpu %s, want 0", q.String())
	}
	if q := declared.Spec.Capacity["cpu"]; q.String() != "4" || len(declared.Spec.Capacity) != 1 {
		t.Errorf("declared capacity changed: %v", declared.Spec.Capacity)
	}

	// The same facts read back from the status files a server committed.
	files, err := status.Files([]status.Cluster{{Cluster: "sh-gpu", Machines: st["sh-gpu"]}, {Cluster: "gz-dev"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{}
	for p, data := range files {
		tree[p] = &fstest.MapFile{Data: data}
	}
	if diff := cmp.Diff(map[string][]status.Machine{"sh-gpu": st["sh-gpu"]}, FactsFromStatus(tree)); diff != "" {
		t.Errorf("facts from status files (-want +got):\n%s", diff)
	}
}

// TestQuotasCheckedAgainstMeasuredCapacity: a cluster that declares no capacity has its
// businesses' quotas checked against what its machines have, named as measured.
func TestQuotasCheckedAgainstMeasuredCapacity(t *testing.T) {
	files := fstest.MapFS{
		"clusters/dev.yaml":  {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata: {name: dev}\nspec:\n  type: Imported\n")},
		"businesses/ml.yaml": {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Business\nmetadata: {name: ml}\nspec:\n  quota:\n    dev: {cpu: \"40\"}\n")},
	}
	repo, err := schema.Load(t.Context(), files)
	if err != nil {
		t.Fatal(err)
	}
	plain := healthyFacts(t) // 16 cores
	facts := StatusOf([]MachineResult{
		{Cluster: "dev", Machine: schema.Machine{IP: "10.0.0.1"}, Facts: &plain},
		{Cluster: "dev", Machine: schema.Machine{IP: "10.0.0.2"}, Facts: &plain},
	})
	err = CheckMeasuredCapacity(repo, facts)
	want := "clusters/dev.yaml:5:3: spec.machines: top-level businesses ask for 40 cpu on cluster dev, more than its capacity of 32, measured on its machines (status/clusters/dev.yaml) (business \"ml\" 40)"
	if err == nil || err.Error() != want {
		t.Errorf("quota past the measured capacity:\n got %v\nwant %s", err, want)
	}
	if err := CheckMeasuredCapacity(repo, nil); err != nil {
		t.Errorf("without facts nothing is checked: %v", err)
	}
}
