package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func objects(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		// Through JSON, as the renderer does, so numbers are int64 as on the real path.
		data, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func deployment(resources string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: train, namespace: ml}
spec:
  template:
    spec:
      containers:
      - name: trainer
        image: trainer:1
` + resources
}

func problems(ps []WorkloadProblem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestCheckWorkloads(t *testing.T) {
	gpu := ClusterFacts{Name: "gz-gpu", GPUManager: true}
	cases := []struct {
		name  string
		docs  []string
		facts ClusterFacts
		want  []string
	}{
		{
			name:  "a share of one card and whole cards are fine",
			docs:  []string{deployment("        resources:\n          limits: {tencent.com/vcuda-core: 30, tencent.com/vcuda-memory: 20}\n          requests: {tencent.com/vcuda-core: 30, tencent.com/vcuda-memory: 20}\n"), deployment("        resources:\n          limits: {tencent.com/vcuda-core: 200}\n")},
			facts: gpu,
		},
		{
			name:  "a card and a part, fractional memory, differing request",
			docs:  []string{deployment("        resources:\n          limits: {tencent.com/vcuda-core: 150, tencent.com/vcuda-memory: 0.5}\n          requests: {tencent.com/vcuda-core: 100}\n")},
			facts: gpu,
			want: []string{
				"Deployment/ml/train spec.template.spec.containers[0].resources: tencent.com/vcuda-core request 100 and limit 150 differ; extended resources need requests equal to limits",
				"Deployment/ml/train spec.template.spec.containers[0].resources: tencent.com/vcuda-core 150 is not allowed: ask for 1 to 100 (a share of one card) or a multiple of 100 (whole cards); a card and a part, such as 150, is not possible",
				"Deployment/ml/train spec.template.spec.containers[0].resources: tencent.com/vcuda-memory 0.5 is not allowed: a whole number of 256 MiB units (20 = 5 GiB)",
			},
		},
		{
			name:  "a GPU share cannot set the variables that carry it",
			docs:  []string{deployment("        resources:\n          limits: {tencent.com/vcuda-core: 30}\n        env:\n        - {name: CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, value: \"100\"}\n        - {name: NVIDIA_VISIBLE_DEVICES, value: all}\n        - {name: CUDA_CACHE_PATH, value: /tmp}\n"), deployment("        env:\n        - {name: NVIDIA_VISIBLE_DEVICES, value: all}\n")},
			facts: gpu,
			want: []string{
				"Deployment/ml/train spec.template.spec.containers[0].env[0].name: CUDA_MPS_ACTIVE_THREAD_PERCENTAGE is set by GPU-Manager for a container with tencent.com/vcuda-core: the container's own value would override the share it was given; remove it",
				"Deployment/ml/train spec.template.spec.containers[0].env[1].name: NVIDIA_VISIBLE_DEVICES is set by GPU-Manager for a container with tencent.com/vcuda-core: the container's own value would override the share it was given; remove it",
			},
		},
		{
			name:  "GPU resources on a cluster without the addon",
			docs:  []string{deployment("        resources:\n          limits: {tencent.com/vcuda-core: 50, nvidia.com/gpu: 1}\n")},
			facts: ClusterFacts{Name: "gz-dev"},
			want: []string{
				"Deployment/ml/train spec.template.spec.containers[0].resources: tencent.com/vcuda-core is served by GPU-Manager, which cluster gz-dev does not run: add a GPUManager Addon for it (spec.gpuType vGPU) or do not target it",
				"Deployment/ml/train spec.template.spec.containers[0].resources: nvidia.com/gpu is served by the NVIDIA device plugin, which cluster gz-dev does not run: add a NvidiaDevicePlugin Addon for it (spec.gpuType pGPU) or do not target it",
			},
		},
		{
			name:  "floating IP without the annotation, limits below requests, env names",
			docs:  []string{deployment("        env: [{name: 1ST, value: x}, {name: app.mode, value: y}]\n        resources:\n          limits: {tke.cloud.tencent.com/eni-ip: 1, cpu: 500m, memory: 1Gi}\n          requests: {tke.cloud.tencent.com/eni-ip: 1, cpu: \"1\", memory: 1Gi}\n")},
			facts: ClusterFacts{Name: "gz-dev", GalaxyIPAM: true},
			want: []string{
				"Deployment/ml/train spec.template.spec: a pod asking for tke.cloud.tencent.com/eni-ip needs the pod annotation k8s.v1.cni.cncf.io/networks: galaxy-k8s-vlan (Galaxy's floating-IP checklist)",
				"Deployment/ml/train spec.template.spec.containers[0].resources.limits.cpu: cpu limit 500m is below its request 1; the limit must be at least the request",
				`Deployment/ml/train spec.template.spec.containers[0].env[0].name: "1ST" is not a valid environment variable name: letters, digits, '_' and '.', not starting with a digit`,
			},
		},
		{
			name: "cron schedules of CronHPA and CronJob",
			docs: []string{
				"apiVersion: extensions.tkestack.io/v1\nkind: CronHPA\nmetadata: {name: web, namespace: web}\nspec:\n  crons:\n  - {schedule: \"0 23 * * 7\", targetReplicas: 30}\n  - {schedule: \"0 24 * * 5\", targetReplicas: 60}\n  - {schedule: \"0 8 * *\", targetReplicas: 1}\n",
				"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: hello, namespace: web}\nspec:\n  schedule: \"*/1 * 31-1 * *\"\n  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: i}]}}}}\n",
			},
			want: []string{
				`CronHPA/web/web spec.crons[1].schedule: schedule "0 24 * * 5": hour "24" must be a number from 0 to 23`,
				`CronHPA/web/web spec.crons[2].schedule: schedule "0 8 * *" must have 5 fields: minute (0-59) hour (0-23) day of month (1-31) month (1-12) day of week (0-6, 7 is Sunday too)`,
				`CronJob/web/hello spec.schedule: schedule "*/1 * 31-1 * *": day of month range 31-1 runs backwards`,
			},
		},
		{
			name: "node ports outside the range the security groups open",
			docs: []string{"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: web}\nspec:\n  type: NodePort\n  ports:\n  - {port: 80, nodePort: 30080}\n  - {port: 443, nodePort: 8443}\n"},
			want: []string{"Service/web/web spec.ports[1].nodePort: node port 8443 is outside 30000-32768, the range the platform's security groups open"},
		},
		{
			name: "TApp template and status references",
			docs: []string{"apiVersion: apps.tkestack.io/v1\nkind: TApp\nmetadata: {name: example-tapp, namespace: web}\nspec:\n  replicas: 3\n  template: {spec: {containers: [{name: nginx, image: nginx}]}}\n  templatePool:\n    test2: {spec: {containers: [{name: nginx, image: \"nginx:1.7.9\"}]}}\n  templates: {\"1\": test2, \"2\": test3, \"5\": test2}\n  updateStrategy: {template: test, maxUnavailable: 1}\n  statuses: {\"1\": Killed, \"2\": Stopped}\n"},
			want: []string{
				`TApp/web/example-tapp spec.templates.2: template "test3" is not in spec.templatePool (test2)`,
				`TApp/web/example-tapp spec.templates.5: "5" is not an instance ID of this TApp: IDs are "0" to "2" (spec.replicas - 1)`,
				`TApp/web/example-tapp spec.updateStrategy.template: template "test" is not in spec.templatePool`,
				`TApp/web/example-tapp spec.statuses.2: desired status "Stopped" must be Running or Killed`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(CheckWorkloads(objects(t, tc.docs...), tc.facts))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckTenancy(t *testing.T) {
	objs := objects(t,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: pay-prod}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: elsewhere, namespace: kube-system}\n",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: admin-everything}\n",
	)
	want := []string{
		`ConfigMap/kube-system/elsewhere metadata.namespace: namespace "kube-system" does not belong to business "payments" (its namespaces here: pay-prod, pay-dev)`,
		`ClusterRole/admin-everything kind: business "payments" may not create cluster-scoped ClusterRole objects; they come only from platform Apps and Addons`,
	}
	if diff := cmp.Diff(want, problems(CheckTenancy(objs, "payments", []string{"pay-prod", "pay-dev"}))); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
