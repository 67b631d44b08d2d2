package schema

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestQuotaOverrunData pins the numbers a quota overrun carries beside its message: gitfleet
// plan reports them from these fields, not from the wording.
func TestQuotaOverrunData(t *testing.T) {
	t.Run("past the parent's quota", func(t *testing.T) {
		repo, _ := areaErrors(t, mixed("      cpu: 1999m\n      memory: 1500Mi\n"))
		want := ErrorList{
			{
				Position: Position{File: "businesses/p.yaml", Line: 8, Column: 12}, Field: "spec.quota.gz-dev.cpu",
				Message: `children and namespaces of business "p" ask for 2 cpu on cluster gz-dev, more than its quota of 1999m (child "c" 500m, namespace "n" 1500m)`,
				Kind:    ProblemQuota, Quota: &QuotaOverrun{Cluster: "gz-dev", Resource: "cpu", Asked: "2", Available: "1999m"},
			},
			{
				Position: Position{File: "businesses/p.yaml", Line: 9, Column: 15}, Field: "spec.quota.gz-dev.memory",
				Message: `children and namespaces of business "p" ask for 1536Mi memory on cluster gz-dev, more than its quota of 1500Mi (child "c" 512Mi, namespace "n" 1Gi)`,
				Kind:    ProblemQuota, Quota: &QuotaOverrun{Cluster: "gz-dev", Resource: "memory", Asked: "1536Mi", Available: "1500Mi"},
			},
		}
		if diff := cmp.Diff(want, repo.quotaNesting()); diff != "" {
			t.Errorf("quota nesting errors (-want +got):\n%s", diff)
		}
	})

	t.Run("past the cluster's capacity", func(t *testing.T) {
		repo, _ := areaErrors(t, map[string]string{
			"clusters/gz-dev.yaml":  obj("Cluster", "gz-dev", "  capacity:\n    cpu: 100\n"),
			"clusters/gz-prod.yaml": obj("Cluster", "gz-prod", "  capacity:\n    memory: 16Gi\n  overcommit: 1.5\n"),
			"businesses/a.yaml":     obj("Business", "a", "  quota:\n    gz-dev: {cpu: 110}\n    gz-prod: {memory: 25Gi}\n"),
		})
		// Available is what the asks must fit in: with overcommit, the product, not the
		// declared capacity.
		want := ErrorList{
			{
				Position: Position{File: "clusters/gz-dev.yaml", Line: 7, Column: 10}, Field: "spec.capacity.cpu",
				Message: `top-level businesses ask for 110 cpu on cluster gz-dev, more than its capacity of 100 (business "a" 110)`,
				Kind:    ProblemQuota, Quota: &QuotaOverrun{Cluster: "gz-dev", Resource: "cpu", Asked: "110", Available: "100"},
			},
			{
				Position: Position{File: "clusters/gz-prod.yaml", Line: 7, Column: 13}, Field: "spec.capacity.memory",
				Message: `top-level businesses ask for 25Gi memory on cluster gz-prod, more than its capacity of 16Gi × overcommit 1.5 = 24Gi (business "a" 25Gi)`,
				Kind:    ProblemQuota, Quota: &QuotaOverrun{Cluster: "gz-prod", Resource: "memory", Asked: "25Gi", Available: "24Gi"},
			},
		}
		got := repo.CapacityProblems([]string{"gz-dev", "gz-prod"})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("capacity errors (-want +got):\n%s", diff)
		}
	})

	t.Run("past the capacity measured on the machines", func(t *testing.T) {
		repo, _ := areaErrors(t, map[string]string{
			"clusters/gz-dev.yaml": gzDev,
			"businesses/a.yaml":    obj("Business", "a", "  quota:\n    gz-dev: {cpu: 40}\n"),
		})
		c := repo.Cluster("gz-dev")
		c.Spec.Capacity = ResourceList{"cpu": resource.MustParse("32")}
		c.Spec.CapacityMeasured = true
		got := repo.CapacityProblems([]string{"gz-dev"})
		want := &QuotaOverrun{Cluster: "gz-dev", Resource: "cpu", Asked: "40", Available: "32"}
		if len(got) != 1 || got[0].Kind != ProblemQuota || got[0].Field != "spec.machines" {
			t.Fatalf("got %v, want one quota problem at spec.machines", got)
		}
		if diff := cmp.Diff(want, got[0].Quota); diff != "" {
			t.Errorf("quota overrun (-want +got):\n%s", diff)
		}
	})
}

// TestFieldErrorJSON checks that the structured fields appear in `gitfleet validate -o
// json` only on the problems that have them.
func TestFieldErrorJSON(t *testing.T) {
	plain := (Origin{File: "apps/a.yaml"}).Errorf("spec.source", "no source")
	quota := plain.WithQuota(QuotaOverrun{Cluster: "bj", Resource: "cpu", Asked: "24", Available: "20"})
	for _, tc := range []struct {
		e    *FieldError
		want string
	}{
		{plain, `{"file":"apps/a.yaml","field":"spec.source","message":"no source"}`},
		{quota, `{"file":"apps/a.yaml","field":"spec.source","message":"no source","kind":"quota","quota":{"cluster":"bj","resource":"cpu","asked":"24","available":"20"}}`},
	} {
		got, err := json.Marshal(tc.e)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("json = %s, want %s", got, tc.want)
		}
	}
	if plain.Kind != "" || plain.Quota != nil {
		t.Errorf("WithQuota changed the error it copied: %+v", plain)
	}
}

// TestProblemKinds checks the kinds the tenancy and GPU-addon checks give their problems,
// and that other rules get none.
func TestProblemKinds(t *testing.T) {
	kinds := func(ps []WorkloadProblem) map[string]ProblemKind {
		out := map[string]ProblemKind{}
		for _, p := range ps {
			out[p.Message[:strings.Index(p.Message, " ")]] = p.Kind
		}
		return out
	}
	objs := objects(t, deployment("        resources:\n          limits: {tencent.com/vcuda-core: 30, nvidia.com/gpu: 1, cpu: 1}\n          requests: {cpu: 2}\n"))
	got := kinds(CheckWorkloads(objs, ClusterFacts{Name: "bj"}))
	want := map[string]ProblemKind{"tencent.com/vcuda-core": ProblemGPUAddon, "nvidia.com/gpu": ProblemGPUAddon, "cpu": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("workload problem kinds by resource (-want +got):\n%s", diff)
	}
	for _, p := range CheckTenancy(objs, "payments", []string{"pay-prod"}) {
		if p.Kind != ProblemTenancy {
			t.Errorf("tenancy problem %s has kind %q, want %q", p, p.Kind, ProblemTenancy)
		}
	}

	repo, _ := areaErrors(t, map[string]string{
		"clusters/gz-dev.yaml":  gzDev,
		"businesses/pay.yaml":   obj("Business", "pay", "  quota:\n    gz-dev: {cpu: 1}\n"),
		"businesses/games.yaml": obj("Business", "games", "  quota:\n    gz-dev: {cpu: 1}\n"),
		"namespaces/g1.yaml":    nsFile("g1", "games", "gz-dev", ""),
		"apps/web.yaml":         obj("App", "web", "  business: pay\n  source: {repo: https://example.com/x.git, path: web}\n  targets:\n    namespaces: [g1]\n"),
	})
	var tenancy int
	for _, e := range repo.validateTenancy() {
		if strings.HasPrefix(e.Message, "tenancy violation") {
			tenancy++
			if e.Kind != ProblemTenancy {
				t.Errorf("%v: kind %q, want %q", e, e.Kind, ProblemTenancy)
			}
		}
	}
	if tenancy != 1 {
		t.Errorf("want one tenancy violation, got %d: %v", tenancy, repo.validateTenancy())
	}
}
