package schema

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestQuotaResourceNames(t *testing.T) {
	valid := []string{
		"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory",
		"pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas",
		"requests.storage", "services.loadbalancers", "services.nodeports",
		"count/deployments.apps", "count/tapps.apps.tkestack.io", "count/pods",
		"requests.nvidia.com/gpu", "nvidia.com/gpu", "tencent.com/vcuda-core", "tencent.com/vcuda-memory",
		"requests.tencent.com/vcuda-core", "hugepages-2Mi", "requests.hugepages-1Gi",
		"gold.storageclass.storage.k8s.io/requests.storage", "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
	}
	for _, name := range valid {
		if msg := quotaResourceProblem(name); msg != "" {
			t.Errorf("quotaResourceProblem(%q) = %q, want valid", name, msg)
		}
	}
	for _, name := range []string{"cpus", "gpu", "storage", "requests.gpu", "hugepages-", "Foo Bar", "a/b/c", "/gpu", "nvidia.com/"} {
		if quotaResourceProblem(name) == "" {
			t.Errorf("quotaResourceProblem(%q) accepted an invalid name", name)
		}
	}
	for _, name := range []string{"cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "nvidia.com/gpu", "tencent.com/vcuda-core", "example.com/foo"} {
		if msg := containerResourceProblem(name); msg != "" {
			t.Errorf("containerResourceProblem(%q) = %q, want valid", name, msg)
		}
	}
	for _, name := range []string{"pods", "requests.cpu", "requests.nvidia.com/gpu", "storage", "gpu"} {
		if containerResourceProblem(name) == "" {
			t.Errorf("containerResourceProblem(%q) accepted an invalid name", name)
		}
	}
}

func TestQuotaResourceName(t *testing.T) {
	for name, want := range map[string]string{
		"cpu":                     "requests.cpu",
		"requests.cpu":            "requests.cpu",
		"limits.cpu":              "limits.cpu",
		"memory":                  "requests.memory",
		"ephemeral-storage":       "requests.ephemeral-storage",
		"hugepages-2Mi":           "requests.hugepages-2Mi",
		"requests.hugepages-2Mi":  "requests.hugepages-2Mi",
		"nvidia.com/gpu":          "requests.nvidia.com/gpu",
		"requests.nvidia.com/gpu": "requests.nvidia.com/gpu",
		"tencent.com/vcuda-core":  "requests.tencent.com/vcuda-core",
		"limits.nvidia.com/gpu":   "limits.nvidia.com/gpu",
		"pods":                    "pods",
		"count/pods":              "count/pods",
		"count/deployments.apps":  "count/deployments.apps",
		"requests.storage":        "requests.storage",
		"kubernetes.io/something": "kubernetes.io/something",
		"gold.storageclass.storage.k8s.io/requests.storage": "gold.storageclass.storage.k8s.io/requests.storage",
	} {
		if got := QuotaResourceName(name); got != want {
			t.Errorf("QuotaResourceName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestQuotaArithmetic checks sums across units: 500m + 1.5 cpu is exactly 2, and
// 512Mi + 1Gi is exactly 1536Mi (= 1.5Gi).
func TestQuotaArithmetic(t *testing.T) {
	cases := []struct {
		parts   []string
		want    string
		equalTo string
	}{
		{[]string{"500m", "1.5"}, "2", "2000m"},
		{[]string{"512Mi", "1Gi"}, "1536Mi", "1.5Gi"},
		{[]string{"250m", "250m", "0.5"}, "1", "1"},
		{[]string{"1G", "500M"}, "1500M", "1.5G"},
	}
	for _, tc := range cases {
		var claims []claim
		for _, p := range tc.parts {
			claims = append(claims, claim{q: resource.MustParse(p)})
		}
		got := sumClaims(claims)
		if got.String() != tc.want {
			t.Errorf("sum of %v = %s, want %s", tc.parts, got.String(), tc.want)
		}
		if want := resource.MustParse(tc.equalTo); got.Cmp(want) != 0 {
			t.Errorf("sum of %v = %s, want it equal to %s", tc.parts, got.String(), tc.equalTo)
		}
	}
	if got := formatRat(ratOf(resource.MustParse("64Gi")), resource.BinarySI); got != "64Gi" {
		t.Errorf("formatRat(64Gi) = %s", got)
	}
}

// mixed is a parent with a child and a namespace on gz-dev; the quotas are written in
// mixed units (500m + 1.5 cpu, 512Mi + 1Gi memory).
func mixed(parentQuota string) map[string]string {
	return map[string]string{
		"clusters/gz-dev.yaml": gzDev,
		"businesses/p.yaml":    obj("Business", "p", "  quota:\n    gz-dev:\n"+parentQuota),
		"businesses/c.yaml":    obj("Business", "c", "  parent: p\n  quota:\n    gz-dev: {cpu: 500m, memory: 512Mi}\n"),
		"namespaces/n.yaml":    nsFile("n", "p", "gz-dev", "  quota: {requests.cpu: \"1.5\", requests.memory: 1Gi}\n"),
	}
}

func TestQuotaMixedUnitsFit(t *testing.T) {
	// Exactly full: 2 cpu and 1.5Gi of memory.
	if _, got := areaErrors(t, mixed("      cpu: \"2\"\n      memory: 1.5Gi\n")); len(got) != 0 {
		t.Errorf("unexpected errors: %v", got)
	}
}

func TestQuotaErrors(t *testing.T) {
	runAreaCases(t, []areaCase{
		{
			name: "quota resource names and quantities",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/a.yaml": obj("Business", "a", `  quota:
    gz-dev:
      cpus: 4
      gpu: 1
      "Foo Bar": 1
      hugepages-huge: 1Gi
      tencent.com/vcuda-core: "1.5"
      pods: "2.5"
      memory: -1Gi
      cpu: 2
      requests.cpu: 2
`),
			},
			want: []string{
				`businesses/a.yaml:8:13: spec.quota.gz-dev.cpus: unknown quota resource "cpus"; did you mean "cpu"?`,
				`businesses/a.yaml:9:12: spec.quota.gz-dev.gpu: unknown quota resource "gpu"; did you mean "requests.nvidia.com/gpu"?`,
				`businesses/a.yaml:10:18: spec.quota.gz-dev.Foo Bar: "Foo Bar" is not a valid resource name: write a name such as cpu or requests.memory, or a domain, '/' and a name such as requests.nvidia.com/gpu (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)`,
				`businesses/a.yaml:11:23: spec.quota.gz-dev.hugepages-huge: "hugepages-huge": the huge page size "huge" is not a size such as 2Mi or 1Gi`,
				`businesses/a.yaml:12:31: spec.quota.gz-dev.tencent.com/vcuda-core: tencent.com/vcuda-core is counted in whole numbers, found 1.5`,
				`businesses/a.yaml:13:13: spec.quota.gz-dev.pods: pods is counted in whole numbers, found 2.5`,
				`businesses/a.yaml:14:15: spec.quota.gz-dev.memory: must not be negative, found -1Gi`,
				`businesses/a.yaml:16:21: spec.quota.gz-dev.requests.cpu: cpu and requests.cpu are the same limit (both count as requests.cpu); set only one of them`,
			},
		},
		{
			name: "unknown quota resource without a close match lists the valid ones",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/a.yaml":    obj("Business", "a", "  quota:\n    gz-dev: {deployments: 3}\n"),
			},
			want: []string{`businesses/a.yaml:7:27: spec.quota.gz-dev.deployments: unknown quota resource "deployments"; expected one of: configmaps, cpu, ephemeral-storage, limits.cpu, limits.ephemeral-storage, limits.memory, memory, persistentvolumeclaims, pods, replicationcontrollers, requests.cpu, requests.ephemeral-storage, requests.memory, requests.storage, resourcequotas, secrets, services, services.loadbalancers, services.nodeports, hugepages-<size>, or a name with a domain such as requests.nvidia.com/gpu, tencent.com/vcuda-core or count/deployments.apps`},
		},
		{
			name: "namespace quota and limit range",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/p.yaml":    obj("Business", "payments", "  quota:\n    gz-dev: {}\n"),
				"namespaces/n.yaml": nsFile("n", "payments", "gz-dev", `  quota:
    storage: 10Gi
  limitRange:
    min:
      cpu: 2
      memory: 64Mi
    max:
      cpu: 1
      memory: 1Gi
    default:
      memory: 2Gi
      ephemeral-storage: 1Gi
      nvidia.com/gpu: 1
      requests.nvidia.com/gpu: 1
    defaultRequest:
      memory: 32Mi
      ephemeral-storage: 2Gi
      nvidia.com/gpu: 0
      pods: 1
`),
			},
			want: []string{
				`namespaces/n.yaml:9:14: spec.quota.storage: unknown quota resource "storage"; did you mean "requests.storage"?`,
				`namespaces/n.yaml:12:12: spec.limitRange.min.cpu: min 2 is more than max 1 for cpu; lower min or raise max`,
				`namespaces/n.yaml:18:15: spec.limitRange.default.memory: default 2Gi is above max 1Gi for memory; it must lie between min and max`,
				`namespaces/n.yaml:21:32: spec.limitRange.default.requests.nvidia.com/gpu: "requests.nvidia.com/gpu": a LimitRange names a resource without the requests. prefix of quotas; write nvidia.com/gpu`,
				`namespaces/n.yaml:23:15: spec.limitRange.defaultRequest.memory: defaultRequest 32Mi is below min 64Mi for memory; it must lie between min and max`,
				`namespaces/n.yaml:24:26: spec.limitRange.defaultRequest.ephemeral-storage: defaultRequest 2Gi is more than default 1Gi for ephemeral-storage; a container's default limit must be at least its default request`,
				`namespaces/n.yaml:25:23: spec.limitRange.defaultRequest.nvidia.com/gpu: nvidia.com/gpu cannot be overcommitted, so defaultRequest (0) must equal default (1)`,
				`namespaces/n.yaml:26:13: spec.limitRange.defaultRequest.pods: unknown container resource "pods"; expected one of: cpu, ephemeral-storage, memory, hugepages-<size>, or an extended resource such as nvidia.com/gpu or tencent.com/vcuda-core`,
			},
		},
		{
			name: "limit range: default below min, request above max, fractional GPU",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/p.yaml":    obj("Business", "payments", "  quota:\n    gz-dev: {}\n"),
				"namespaces/n.yaml": nsFile("n", "payments", "gz-dev", `  limitRange:
    min: {cpu: 500m}
    max: {cpu: "2", tencent.com/vcuda-core: "0.5"}
    default: {cpu: 100m}
    defaultRequest: {cpu: "3"}
`),
			},
			want: []string{
				`namespaces/n.yaml:10:45: spec.limitRange.max.tencent.com/vcuda-core: tencent.com/vcuda-core is counted in whole numbers, found 0.5`,
				`namespaces/n.yaml:11:20: spec.limitRange.default.cpu: default 100m is below min 500m for cpu; it must lie between min and max`,
				`namespaces/n.yaml:12:27: spec.limitRange.defaultRequest.cpu: defaultRequest 3 is above max 2 for cpu; it must lie between min and max`,
				`namespaces/n.yaml:12:27: spec.limitRange.defaultRequest.cpu: defaultRequest 3 is more than default 100m for cpu; a container's default limit must be at least its default request`,
			},
		},
		{
			name: "children and namespaces exceed the business quota",
			files: map[string]string{
				"clusters/gz-dev.yaml":         gzDev,
				"businesses/payments.yaml":     obj("Business", "payments", "  quota:\n    gz-dev:\n      cpu: 20\n      memory: 64Gi\n"),
				"businesses/payments-dev.yaml": obj("Business", "payments-dev", "  parent: payments\n  quota:\n    gz-dev: {cpu: 16}\n"),
				"businesses/ns/pay-prod.yaml":  nsFile("pay-prod", "payments", "gz-dev", "  quota: {requests.cpu: 8, memory: 8Gi}\n"),
				"businesses/ns/other-pay.yaml": nsFile("pay-test", "payments", "gz-dev", "  quota: {memory: 8Gi}\n"),
				"businesses/ns/unlimited.yaml": nsFile("pay-free", "payments", "gz-dev", ""),
			},
			want: []string{`businesses/payments.yaml:8:12: spec.quota.gz-dev.cpu: children and namespaces of business "payments" ask for 24 cpu on cluster gz-dev, more than its quota of 20 (child "payments-dev" 16, namespace "pay-prod" 8)`},
		},
		{
			name: "namespaces alone exceed the business quota, mixed binary units",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/g.yaml":    obj("Business", "games", "  quota:\n    gz-dev: {requests.memory: 1Gi}\n"),
				"namespaces/g1.yaml":   nsFile("g1", "games", "gz-dev", "  quota: {memory: 512Mi}\n"),
				"namespaces/g2.yaml":   nsFile("g2", "games", "gz-dev", "  quota: {requests.memory: 1Gi}\n"),
			},
			want: []string{`businesses/g.yaml:7:31: spec.quota.gz-dev.requests.memory: namespaces of business "games" ask for 1536Mi requests.memory on cluster gz-dev, more than its quota of 1Gi (namespace "g1" 512Mi, namespace "g2" 1Gi)`},
		},
		{
			name:  "mixed units over quota",
			files: mixed("      cpu: 1999m\n      memory: 1500Mi\n"),
			want: []string{
				`businesses/p.yaml:8:12: spec.quota.gz-dev.cpu: children and namespaces of business "p" ask for 2 cpu on cluster gz-dev, more than its quota of 1999m (child "c" 500m, namespace "n" 1500m)`,
				`businesses/p.yaml:9:15: spec.quota.gz-dev.memory: children and namespaces of business "p" ask for 1536Mi memory on cluster gz-dev, more than its quota of 1500Mi (child "c" 512Mi, namespace "n" 1Gi)`,
			},
		},
		{
			name: "an unlimited middle level passes its children's quotas up",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/top.yaml":  obj("Business", "top", "  quota:\n    gz-dev: {cpu: 10}\n"),
				"businesses/mid.yaml":  obj("Business", "mid", "  parent: top\n  quota:\n    gz-dev: {}\n"),
				"businesses/leaf.yaml": obj("Business", "leaf", "  parent: mid\n  quota:\n    gz-dev: {cpu: 6}\n"),
				"namespaces/m1.yaml":   nsFile("m1", "mid", "gz-dev", "  quota: {cpu: 6}\n"),
			},
			want: []string{`businesses/top.yaml:7:19: spec.quota.gz-dev.cpu: children of business "top" ask for 12 cpu on cluster gz-dev, more than its quota of 10 (child "mid" 12)`},
		},
		{
			name: "top-level businesses exceed cluster capacity, with and without overcommit",
			files: map[string]string{
				"clusters/gz-dev.yaml":  obj("Cluster", "gz-dev", "  capacity:\n    cpu: 100\n    memory: 64Gi\n"),
				"clusters/gz-prod.yaml": obj("Cluster", "gz-prod", "  capacity:\n    cpu: 10\n    memory: 16Gi\n  overcommit: 1.5\n"),
				"clusters/bj.yaml":      obj("Cluster", "bj", ""),
				"businesses/a.yaml":     obj("Business", "a", "  quota:\n    gz-dev: {cpu: 60, memory: 32Gi}\n    gz-prod: {cpu: 10}\n    bj: {cpu: 1000}\n"),
				"businesses/b.yaml":     obj("Business", "b", "  quota:\n    gz-dev: {requests.cpu: 50}\n    gz-prod: {}\n"),
				"businesses/c.yaml":     obj("Business", "c", "  parent: a\n  quota:\n    gz-dev: {cpu: 10}\n"),
				"namespaces/b1.yaml":    nsFile("b1", "b", "gz-prod", "  quota: {cpu: 6, memory: 25Gi}\n"),
			},
			want: []string{
				`clusters/gz-dev.yaml:7:10: spec.capacity.cpu: top-level businesses ask for 110 cpu on cluster gz-dev, more than its capacity of 100 (business "a" 60, business "b" 50)`,
				`clusters/gz-prod.yaml:7:10: spec.capacity.cpu: top-level businesses ask for 16 cpu on cluster gz-prod, more than its capacity of 10 × overcommit 1.5 = 15 (business "a" 10, business "b" 6)`,
				`clusters/gz-prod.yaml:8:13: spec.capacity.memory: top-level businesses ask for 25Gi memory on cluster gz-prod, more than its capacity of 16Gi × overcommit 1.5 = 24Gi (business "b" 25Gi)`,
			},
		},
		{
			name: "a broken hierarchy adds no quota sums",
			files: map[string]string{
				"clusters/gz-dev.yaml": obj("Cluster", "gz-dev", "  capacity:\n    cpu: 1\n"),
				"businesses/c.yaml":    obj("Business", "c", "  parent: d\n  quota:\n    gz-dev: {cpu: 5}\n"),
				"businesses/d.yaml":    obj("Business", "d", "  parent: c\n  quota:\n    gz-dev: {cpu: 1}\n"),
			},
			want: []string{
				`businesses/c.yaml:6:11: spec.parent: parent cycle: c → d → c; a business cannot be its own ancestor, so remove one of these parents`,
				`businesses/d.yaml:6:11: spec.parent: parent cycle: d → c → d; a business cannot be its own ancestor, so remove one of these parents`,
			},
		},
	})
}
