package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Extended resources and annotations the seed's platform gives meaning to.
const (
	ResourceVCUDACore   = "tencent.com/vcuda-core"
	ResourceVCUDAMemory = "tencent.com/vcuda-memory"
	ResourceNvidiaGPU   = "nvidia.com/gpu"
	ResourceENIIP       = "tke.cloud.tencent.com/eni-ip"
	// AnnotationNetworks with value NetworksFloatingIP asks Galaxy for a floating IP.
	AnnotationNetworks = "k8s.v1.cni.cncf.io/networks"
	NetworksFloatingIP = "galaxy-k8s-vlan"
)

// ClusterFacts is what the workload checks need to know about the target cluster; the
// caller derives it from the Cluster and its Addons.
type ClusterFacts struct {
	Name string
	// GPUManager and NvidiaDevicePlugin say which GPU addon the cluster runs.
	GPUManager, NvidiaDevicePlugin bool
	// GalaxyIPAM says floating IPs can be allocated.
	GalaxyIPAM bool
}

// WorkloadProblem is one rule a rendered object breaks.
type WorkloadProblem struct {
	// Object is Kind/namespace/name of the offending object.
	Object string
	// Field is the path inside the object, for example
	// spec.template.spec.containers[0].resources.limits.
	Field   string
	Message string
	// Kind is ProblemGPUAddon for a GPU resource the cluster's addons do not serve and
	// ProblemTenancy for CheckTenancy's problems; empty for the other workload rules.
	Kind ProblemKind
}

func (p WorkloadProblem) String() string {
	return fmt.Sprintf("%s %s: %s", p.Object, p.Field, p.Message)
}

// CheckWorkloads applies the seed's workload rules to the objects an App renders for one
// cluster: GPU and floating-IP resources only where the cluster's addons provide them,
// vcuda-core and vcuda-memory units, limits not below requests, environment variable
// names, cron schedules of CronJobs and CronHPAs, and TApp template references.
func CheckWorkloads(objs []*unstructured.Unstructured, facts ClusterFacts) []WorkloadProblem {
	var out []WorkloadProblem
	for _, o := range objs {
		id := objectID(o)
		for _, pt := range podTemplates(o) {
			out = append(out, checkPodTemplate(id, pt, facts)...)
		}
		switch o.GetKind() {
		case "CronJob":
			if s, ok, _ := unstructured.NestedString(o.Object, "spec", "schedule"); ok {
				if msg := checkCron(s); msg != "" {
					out = append(out, WorkloadProblem{Object: id, Field: "spec.schedule", Message: msg})
				}
			}
		case "CronHPA":
			crons, _, _ := unstructured.NestedSlice(o.Object, "spec", "crons")
			for i, c := range crons {
				m, _ := c.(map[string]any)
				s, _ := m["schedule"].(string)
				if msg := checkCron(s); msg != "" {
					out = append(out, WorkloadProblem{Object: id, Field: fmt.Sprintf("spec.crons[%d].schedule", i), Message: msg})
				}
			}
		case "TApp":
			out = append(out, checkTApp(id, o)...)
		case "Service":
			ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
			for i, p := range ports {
				pm, _ := p.(map[string]any)
				if np, ok := pm["nodePort"].(int64); ok && (np < 30000 || np > 32768) {
					out = append(out, WorkloadProblem{Object: id, Field: fmt.Sprintf("spec.ports[%d].nodePort", i), Message: fmt.Sprintf("node port %d is outside 30000-32768, the range the platform's security groups open", np)})
				}
			}
		}
	}
	return out
}

func objectID(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s/%s/%s", o.GetKind(), ns, o.GetName())
	}
	return fmt.Sprintf("%s/%s", o.GetKind(), o.GetName())
}

// podTemplate is a pod spec inside an object, with its path for messages.
type podTemplate struct {
	path        string
	spec        map[string]any
	annotations map[string]any
}

// podTemplates finds the pod specs of every workload kind the seed's platform runs.
func podTemplates(o *unstructured.Unstructured) []podTemplate {
	at := func(path ...string) []podTemplate {
		tmpl, ok, _ := unstructured.NestedMap(o.Object, path...)
		if !ok {
			return nil
		}
		spec, _ := tmpl["spec"].(map[string]any)
		meta, _ := tmpl["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		if spec == nil {
			return nil
		}
		return []podTemplate{{path: strings.Join(path, ".") + ".spec", spec: spec, annotations: ann}}
	}
	switch o.GetKind() {
	case "Pod":
		spec, _, _ := unstructured.NestedMap(o.Object, "spec")
		ann, _, _ := unstructured.NestedMap(o.Object, "metadata", "annotations")
		return []podTemplate{{path: "spec", spec: spec, annotations: ann}}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		return at("spec", "template")
	case "CronJob":
		return at("spec", "jobTemplate", "spec", "template")
	case "TApp":
		out := at("spec", "template")
		pool, _, _ := unstructured.NestedMap(o.Object, "spec", "templatePool")
		for _, name := range sortedKeys(pool) {
			out = append(out, at("spec", "templatePool", name)...)
		}
		return out
	}
	return nil
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

func checkPodTemplate(id string, pt podTemplate, facts ClusterFacts) []WorkloadProblem {
	var out []WorkloadProblem
	add := func(field, format string, args ...any) {
		out = append(out, WorkloadProblem{Object: id, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, list := range []string{"initContainers", "containers"} {
		containers, _ := pt.spec[list].([]any)
		for i, c := range containers {
			cm, _ := c.(map[string]any)
			cpath := fmt.Sprintf("%s.%s[%d]", pt.path, list, i)
			res, _ := cm["resources"].(map[string]any)
			requests := quantities(res["requests"])
			limits := quantities(res["limits"])
			for _, name := range []string{ResourceVCUDACore, ResourceVCUDAMemory, ResourceNvidiaGPU, ResourceENIIP} {
				req, hasReq := requests[name]
				lim, hasLim := limits[name]
				if !hasReq && !hasLim {
					continue
				}
				q := lim
				if !hasLim {
					q = req
				}
				if hasReq && hasLim && req.Cmp(lim.Quantity) != 0 {
					add(cpath+".resources", "%s request %s and limit %s differ; extended resources need requests equal to limits", name, req.String(), lim.String())
				}
				if msg, kind := checkExtendedResource(name, q, facts); msg != "" {
					out = append(out, WorkloadProblem{Object: id, Field: cpath + ".resources", Message: msg, Kind: kind})
				}
				if name == ResourceENIIP && pt.annotations[AnnotationNetworks] != NetworksFloatingIP {
					add(pt.path, "a pod asking for %s needs the pod annotation %s: %s (Galaxy's floating-IP checklist)", ResourceENIIP, AnnotationNetworks, NetworksFloatingIP)
				}
			}
			for _, r := range []string{"cpu", "memory"} {
				req, hasReq := requests[r]
				lim, hasLim := limits[r]
				if hasReq && hasLim && lim.Cmp(req.Quantity) < 0 {
					add(cpath+".resources.limits."+r, "%s limit %s is below its request %s; the limit must be at least the request", r, lim.String(), req.String())
				}
			}
			vcuda := false
			for _, q := range []map[string]amount{requests, limits} {
				_, core := q[ResourceVCUDACore]
				_, memory := q[ResourceVCUDAMemory]
				vcuda = vcuda || core || memory
			}
			env, _ := cm["env"].([]any)
			for j, e := range env {
				em, _ := e.(map[string]any)
				name, _ := em["name"].(string)
				if !envVarName.MatchString(name) {
					add(fmt.Sprintf("%s.env[%d].name", cpath, j), "%q is not a valid environment variable name: letters, digits, '_' and '.', not starting with a digit", name)
				}
				if vcuda && gpuShareEnv(name) {
					add(fmt.Sprintf("%s.env[%d].name", cpath, j), "%s is set by GPU-Manager for a container with %s: the container's own value would override the share it was given; remove it", name, ResourceVCUDACore)
				}
			}
		}
	}
	return out
}

// gpuShareEnv says whether an environment variable is one through which gitfleet-gpu
// gives a container its share of a card (which cards it sees, its MPS limits).
func gpuShareEnv(name string) bool {
	return strings.HasPrefix(name, "CUDA_MPS_") || name == "CUDA_VISIBLE_DEVICES" || name == "NVIDIA_VISIBLE_DEVICES"
}

// amount is a quantity with the text it was written as: messages echo what the person
// wrote ("2.5"), not the canonical form ("2500m") they would not recognise.
type amount struct {
	resource.Quantity
	raw string
}

func (a amount) String() string { return a.raw }

func quantities(v any) map[string]amount {
	m, _ := v.(map[string]any)
	out := map[string]amount{}
	for k, raw := range m {
		s := fmt.Sprint(raw)
		if q, err := resource.ParseQuantity(s); err == nil {
			out[k] = amount{Quantity: q, raw: s}
		}
	}
	return out
}

// checkExtendedResource applies the seed's GPU and floating-IP rules to one amount. The
// kind is ProblemGPUAddon when the cluster runs no addon that serves a GPU resource.
func checkExtendedResource(name string, q amount, facts ClusterFacts) (string, ProblemKind) {
	whole, isWhole := q.AsInt64()
	switch name {
	case ResourceVCUDACore:
		switch {
		case !facts.GPUManager:
			return fmt.Sprintf("%s is served by GPU-Manager, which cluster %s does not run: add a GPUManager Addon for it (spec.gpuType vGPU) or do not target it", name, facts.Name), ProblemGPUAddon
		case !isWhole || whole < 1 || (whole > 100 && whole%100 != 0):
			return fmt.Sprintf("%s %s is not allowed: ask for 1 to 100 (a share of one card) or a multiple of 100 (whole cards); a card and a part, such as 150, is not possible", name, q.String()), ""
		}
	case ResourceVCUDAMemory:
		switch {
		case !facts.GPUManager:
			return fmt.Sprintf("%s is served by GPU-Manager, which cluster %s does not run: add a GPUManager Addon for it (spec.gpuType vGPU) or do not target it", name, facts.Name), ProblemGPUAddon
		case !isWhole || whole < 1:
			return fmt.Sprintf("%s %s is not allowed: a whole number of 256 MiB units (20 = 5 GiB)", name, q.String()), ""
		}
	case ResourceNvidiaGPU:
		switch {
		case !facts.NvidiaDevicePlugin:
			return fmt.Sprintf("%s is served by the NVIDIA device plugin, which cluster %s does not run: add a NvidiaDevicePlugin Addon for it (spec.gpuType pGPU) or do not target it", name, facts.Name), ProblemGPUAddon
		case !isWhole || whole < 1:
			return fmt.Sprintf("%s %s is not allowed: whole cards only", name, q.String()), ""
		}
	case ResourceENIIP:
		switch {
		case !facts.GalaxyIPAM:
			return fmt.Sprintf("%s needs Galaxy-IPAM to allocate floating IPs, which cluster %s does not run: add a GalaxyIPAM Addon for it", name, facts.Name), ""
		case !isWhole || whole != 1:
			return fmt.Sprintf("%s must be 1 (one floating IP per pod), found %s", name, q.String()), ""
		}
	}
	return "", ""
}

// cronFields are the ranges of the five crontab fields. The seed states 0-6 for the day
// of the week but its own examples use 7 for Sunday, as cron does; both are accepted.
var cronFields = []struct {
	name     string
	min, max int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}}

// checkCron validates a five-field crontab schedule; it returns "" when it is valid.
func checkCron(s string) string {
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Sprintf("schedule %q must have 5 fields: minute (0-59) hour (0-23) day of month (1-31) month (1-12) day of week (0-6, 7 is Sunday too)", s)
	}
	for i, f := range fields {
		spec := cronFields[i]
		for _, part := range strings.Split(f, ",") {
			rangePart, step, hasStep := strings.Cut(part, "/")
			if hasStep {
				if n, err := strconv.Atoi(step); err != nil || n < 1 {
					return fmt.Sprintf("schedule %q: %s step %q must be a positive number", s, spec.name, step)
				}
			}
			if rangePart == "*" {
				continue
			}
			lo, hi, isRange := strings.Cut(rangePart, "-")
			bounds := []string{lo}
			if isRange {
				bounds = append(bounds, hi)
			}
			var vals []int
			for _, b := range bounds {
				n, err := strconv.Atoi(b)
				if err != nil || n < spec.min || n > spec.max {
					return fmt.Sprintf("schedule %q: %s %q must be a number from %d to %d", s, spec.name, b, spec.min, spec.max)
				}
				vals = append(vals, n)
			}
			if len(vals) == 2 && vals[0] > vals[1] {
				return fmt.Sprintf("schedule %q: %s range %s runs backwards", s, spec.name, rangePart)
			}
		}
	}
	return ""
}

// checkTApp applies the TApp rules of the seed: templates name templatePool entries,
// statuses are Running or Killed, and both are keyed by instance IDs 0..replicas-1.
func checkTApp(id string, o *unstructured.Unstructured) []WorkloadProblem {
	var out []WorkloadProblem
	replicas, hasReplicas, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
	pool, _, _ := unstructured.NestedMap(o.Object, "spec", "templatePool")
	instance := func(field, key string) {
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 || (hasReplicas && int64(n) >= replicas) {
			out = append(out, WorkloadProblem{Object: id, Field: field, Message: fmt.Sprintf("%q is not an instance ID of this TApp: IDs are \"0\" to \"%d\" (spec.replicas - 1)", key, max(replicas-1, 0))})
		}
	}
	templates, _, _ := unstructured.NestedStringMap(o.Object, "spec", "templates")
	for _, k := range sortedKeys(templates) {
		field := "spec.templates." + k
		instance(field, k)
		if _, ok := pool[templates[k]]; !ok {
			out = append(out, WorkloadProblem{Object: id, Field: field, Message: fmt.Sprintf("template %q is not in spec.templatePool (%s)", templates[k], strings.Join(sortedKeys(pool), ", "))})
		}
	}
	if t, ok, _ := unstructured.NestedString(o.Object, "spec", "updateStrategy", "template"); ok && t != "" {
		if _, inPool := pool[t]; !inPool {
			out = append(out, WorkloadProblem{Object: id, Field: "spec.updateStrategy.template", Message: fmt.Sprintf("template %q is not in spec.templatePool", t)})
		}
	}
	statuses, _, _ := unstructured.NestedStringMap(o.Object, "spec", "statuses")
	for _, k := range sortedKeys(statuses) {
		field := "spec.statuses." + k
		instance(field, k)
		if v := statuses[k]; !slices.Contains([]string{"Running", "Killed"}, v) {
			out = append(out, WorkloadProblem{Object: id, Field: field, Message: fmt.Sprintf("desired status %q must be Running or Killed", v)})
		}
	}
	return out
}

// clusterScopedKinds are the cluster-scoped kinds of Kubernetes 1.37 and of the addons
// gitfleet installs, as GroupKind strings (Kind.group; Kind alone for the core group).
var clusterScopedKinds = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true,
	"ClusterRole.rbac.authorization.k8s.io": true, "ClusterRoleBinding.rbac.authorization.k8s.io": true,
	"CustomResourceDefinition.apiextensions.k8s.io": true,
	"APIService.apiregistration.k8s.io":             true,
	"StorageClass.storage.k8s.io":                   true, "CSIDriver.storage.k8s.io": true, "CSINode.storage.k8s.io": true,
	"VolumeAttachment.storage.k8s.io": true, "VolumeAttributesClass.storage.k8s.io": true,
	"PriorityClass.scheduling.k8s.io": true, "RuntimeClass.node.k8s.io": true,
	"IngressClass.networking.k8s.io": true, "IPAddress.networking.k8s.io": true, "ServiceCIDR.networking.k8s.io": true,
	"MutatingWebhookConfiguration.admissionregistration.k8s.io":     true,
	"ValidatingWebhookConfiguration.admissionregistration.k8s.io":   true,
	"ValidatingAdmissionPolicy.admissionregistration.k8s.io":        true,
	"ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io": true,
	"MutatingAdmissionPolicy.admissionregistration.k8s.io":          true,
	"MutatingAdmissionPolicyBinding.admissionregistration.k8s.io":   true,
	"FlowSchema.flowcontrol.apiserver.k8s.io":                       true,
	"PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io":       true,
	"CertificateSigningRequest.certificates.k8s.io":                 true,
	"ClusterTrustBundle.certificates.k8s.io":                        true,
	"DeviceClass.resource.k8s.io":                                   true,
	"ResourceSlice.resource.k8s.io":                                 true,
	"ClusterIssuer.cert-manager.io":                                 true,
	"FloatingIP.galaxy.k8s.io":                                      true,
}

// ClusterScopedKind says whether a kind, as a GroupKind string (Kind.group), has no
// namespace: a built-in cluster-scoped kind or one of the addons' cluster-scoped custom
// resources. Custom resources of the fleet's own CRDs are not known here.
func ClusterScopedKind(groupKind string) bool { return clusterScopedKinds[groupKind] }

// CheckTenancy reports objects of a business App that leave the business's namespaces:
// cluster-scoped kinds, and namespaced objects in a namespace the business does not own.
func CheckTenancy(objs []*unstructured.Unstructured, business string, namespaces []string) []WorkloadProblem {
	var out []WorkloadProblem
	for _, o := range objs {
		id := objectID(o)
		switch {
		case ClusterScopedKind(o.GroupVersionKind().GroupKind().String()):
			out = append(out, WorkloadProblem{Object: id, Field: "kind", Kind: ProblemTenancy, Message: fmt.Sprintf("business %q may not create cluster-scoped %s objects; they come only from platform Apps and Addons", business, o.GetKind())})
		case o.GetNamespace() != "" && !slices.Contains(namespaces, o.GetNamespace()):
			out = append(out, WorkloadProblem{Object: id, Field: "metadata.namespace", Kind: ProblemTenancy, Message: fmt.Sprintf("namespace %q does not belong to business %q (its namespaces here: %s)", o.GetNamespace(), business, strings.Join(namespaces, ", "))})
		}
	}
	return out
}
