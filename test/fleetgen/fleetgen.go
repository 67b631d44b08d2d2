// Package fleetgen generates large, valid fleet repositories for benchmarks: clusters,
// businesses with per-cluster quotas, namespaces, kustomize apps and Helm apps with their
// charts, in the layout of fleet-example/.
package fleetgen

import (
	"fmt"
	"strings"
	"testing/fstest"
)

// Options size the generated fleet.
type Options struct {
	Clusters   int
	Businesses int
	// Namespaces are spread round-robin over businesses and clusters.
	Namespaces int
	// Apps are kustomize apps, each targeting every cluster, each with ObjectsPerApp
	// ConfigMaps.
	Apps          int
	ObjectsPerApp int
	// HelmApps are Helm apps, each with its own chart in the repository, targeting every
	// cluster and rendering ObjectsPerApp objects (a Deployment and a Service per workload,
	// a ConfigMap per config). Their values are layered as real fleets layer them: a values
	// file, the App's values, and one valuesByLabel entry per region label, so that each
	// chart has one distinct render per region (at most 10, the regions clusters get).
	HelmApps int
	// Suffix is appended to the Fleet's name and every App's namespace, so that a
	// benchmark applying the fleet afresh to the same API servers gets new objects each
	// time, in a fleet of their own (gitfleet prunes what its fleet no longer renders).
	Suffix string
	// ClusterApps gives every cluster its own copy of each kustomize and Helm App, named
	// and namespaced after it and targeting only it, instead of one App targeting every
	// cluster. Cluster entries that share an API server then keep to their own
	// namespaces, and every cluster costs gitfleet its own render and apply, as distinct
	// clusters would.
	ClusterApps bool
	// ScaledToZero gives every Helm workload zero replicas: its Deployments become
	// healthy on an API server with a controller manager and no nodes, so an apply's
	// health wait measures gitfleet, not pod scheduling.
	ScaledToZero bool
	// AppNamespaces gives every App its own Namespace object, for fleets applied to API
	// servers that do not have them (gitfleet creates only business namespaces): in a
	// kustomize App the namespace transformer names it after the App's namespace, in a
	// Helm chart a template does, from .Release.Namespace.
	AppNamespaces bool
}

// Generate returns the repository as files (path -> content).
func Generate(o Options) map[string]string {
	files := map[string]string{
		"fleet.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: generated" + o.Suffix + "\nspec:\n  interval: 5m\n",
	}
	for c := range o.Clusters {
		files[fmt.Sprintf("clusters/cls-%04d.yaml", c)] = fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: Cluster
metadata:
  name: cls-%04d
  labels: {region: r%d, env: prod}
spec:
  displayName: Cluster %d
  type: Imported
  version: "1.18.3"
  capacity: {cpu: "%d", memory: %dGi}
`, c, c%10, c, 64*max(o.Businesses, 1), 256*max(o.Businesses, 1))
	}
	nsPerBusinessCluster := 1
	if o.Businesses > 0 && o.Clusters > 0 {
		nsPerBusinessCluster = max(1, (o.Namespaces+o.Businesses*o.Clusters-1)/(o.Businesses*o.Clusters))
	}
	for b := range o.Businesses {
		var quota strings.Builder
		for c := range o.Clusters {
			fmt.Fprintf(&quota, "    cls-%04d: {cpu: \"%d\", memory: %dGi}\n", c, 16*nsPerBusinessCluster, 64*nsPerBusinessCluster)
		}
		files[fmt.Sprintf("businesses/biz-%03d.yaml", b)] = fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: Business
metadata:
  name: biz-%03d
spec:
  displayName: Business %d
  quota:
%s`, b, b, quota.String())
	}
	for n := range o.Namespaces {
		if o.Businesses == 0 || o.Clusters == 0 {
			break
		}
		b := n % o.Businesses
		c := (n / o.Businesses) % o.Clusters
		files[fmt.Sprintf("businesses/biz-%03d/namespaces/ns-%05d.yaml", b, n)] = fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: Namespace
metadata:
  name: ns-%05d
spec:
  business: biz-%03d
  cluster: cls-%04d
  quota: {cpu: "8", memory: 32Gi}
`, n, b, c)
	}
	for a := range o.Apps {
		dir := fmt.Sprintf("apps/app-%03d", a)
		for _, cp := range copies(o) {
			name := fmt.Sprintf("app-%03d%s", a, cp.suffix)
			files[dir+"/app"+cp.suffix+".yaml"] = fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  source:
    kustomize:
      path: %s/manifests
  namespace: %s%s
  targets:
%s`, name, dir, name, o.Suffix, cp.targets)
		}
		var res []string
		if o.AppNamespaces {
			res = append(res, "namespace.yaml")
			files[dir+"/manifests/namespace.yaml"] = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: renamed-by-kustomize\n"
		}
		for i := range o.ObjectsPerApp {
			name := fmt.Sprintf("cm-%03d.yaml", i)
			res = append(res, name)
			files[dir+"/manifests/"+name] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%03d-%03d\ndata:\n  index: \"%d\"\n", a, i, i)
		}
		files[dir+"/manifests/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + strings.Join(res, "\n- ") + "\n"
	}
	for a := range o.HelmApps {
		helmApp(files, a, o)
	}
	return files
}

// FS returns the generated repository as an in-memory filesystem.
func FS(o Options) fstest.MapFS {
	out := fstest.MapFS{}
	for name, content := range Generate(o) {
		out[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	return out
}

// appCopy is one copy of an App: what its name and namespace end with, and its targets.
type appCopy struct{ suffix, targets string }

// copies are the copies of each App: one targeting every cluster, or with ClusterApps
// one per cluster.
func copies(o Options) []appCopy {
	if !o.ClusterApps {
		return []appCopy{{targets: "    selector: {matchLabels: {env: prod}}\n"}}
	}
	out := make([]appCopy, o.Clusters)
	for c := range out {
		out[c] = appCopy{suffix: fmt.Sprintf("-cls-%04d", c), targets: fmt.Sprintf("    clusters: [cls-%04d]\n", c)}
	}
	return out
}

// regions is how many distinct region labels Generate gives clusters (cls-N is in rN%10).
const regions = 10

// helmApp adds Helm app number a: the App, its values file and its chart.
func helmApp(files map[string]string, a int, o Options) {
	dir := fmt.Sprintf("apps/helm-%03d", a)
	var byRegion strings.Builder
	for r := range min(regions, o.Clusters) {
		fmt.Fprintf(&byRegion, `      - selector: {matchLabels: {region: r%d}}
        values:
          region: r%d
          replicas: %d
          ingressHost: helm-%03d.r%d.example.com
`, r, r, replicas(o, 2+r%3), a, r)
	}
	for _, cp := range copies(o) {
		name := fmt.Sprintf("helm-%03d%s", a, cp.suffix)
		files[dir+"/app"+cp.suffix+".yaml"] = fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  namespace: %s%s
  source:
    helm:
      chart: %s/chart
      valuesFiles: [%s/values-prod.yaml]
      values:
        image: {tag: "1.%d.0"}
      valuesByLabel:
%s  targets:
%s`, name, name, o.Suffix, dir, dir, a, byRegion.String(), cp.targets)
	}
	files[dir+"/values-prod.yaml"] = "logLevel: info\nresources:\n  requests: {cpu: 100m, memory: 128Mi}\n  limits: {memory: 256Mi}\n"

	// ObjectsPerApp objects: a Deployment and a Service per workload, a ConfigMap per config.
	workloads := o.ObjectsPerApp / 3
	configs := o.ObjectsPerApp - 2*workloads
	var values strings.Builder
	fmt.Fprintf(&values, `image:
  repository: registry.example.com/helm-%03d/app
  tag: latest
replicas: %d
region: none
ingressHost: helm-%03d.example.com
logLevel: debug
resources: {}
workloads:
`, a, replicas(o, 1), a)
	for w := range workloads {
		fmt.Fprintf(&values, "- name: w-%03d\n  port: %d\n  args: [--worker=%d, --queue=q-%03d]\n", w, 8000+w, w, w)
	}
	if workloads == 0 {
		values.WriteString("  []\n")
	}
	values.WriteString("configs:\n")
	for c := range configs {
		fmt.Fprintf(&values, "- name: c-%03d\n  data:\n    index: \"%d\"\n    feature.flags: |\n      alpha=%t\n      beta=%t\n", c, c, c%2 == 0, c%3 == 0)
	}
	if configs == 0 {
		values.WriteString("  []\n")
	}
	chart := dir + "/chart"
	files[chart+"/Chart.yaml"] = fmt.Sprintf("apiVersion: v2\nname: helm-%03d\nversion: 0.1.%d\nappVersion: \"1.%d.0\"\n", a, a, a)
	files[chart+"/values.yaml"] = values.String()
	files[chart+"/templates/_helpers.tpl"] = chartHelpers
	files[chart+"/templates/deployments.yaml"] = chartDeployments
	files[chart+"/templates/services.yaml"] = chartServices
	files[chart+"/templates/configmaps.yaml"] = chartConfigMaps
	if o.AppNamespaces {
		files[chart+"/templates/namespace.yaml"] = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Release.Namespace }}\n"
	}
}

// replicas is n, or zero for a ScaledToZero fleet.
func replicas(o Options, n int) int {
	if o.ScaledToZero {
		return 0
	}
	return n
}

const chartHelpers = `{{- define "gen.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "gen.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
topology.example.com/region: {{ .Values.region }}
{{- end -}}
`

const chartDeployments = `{{- range .Values.workloads }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "gen.fullname" $ }}-{{ .name }}
  labels:
    {{- include "gen.labels" $ | nindent 4 }}
spec:
  replicas: {{ $.Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ $.Release.Name }}
      workload: {{ .name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ $.Release.Name }}
        workload: {{ .name }}
    spec:
      containers:
      - name: {{ .name }}
        image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}"
        args:
        {{- range .args }}
        - {{ . | quote }}
        {{- end }}
        env:
        - name: LOG_LEVEL
          value: {{ $.Values.logLevel | quote }}
        - name: PUBLIC_HOST
          value: {{ $.Values.ingressHost | quote }}
        ports:
        - name: http
          containerPort: {{ .port }}
        {{- with $.Values.resources }}
        resources:
          {{- toYaml . | nindent 10 }}
        {{- end }}
{{- end }}
`

const chartServices = `{{- range .Values.workloads }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gen.fullname" $ }}-{{ .name }}
  labels:
    {{- include "gen.labels" $ | nindent 4 }}
spec:
  selector:
    app.kubernetes.io/instance: {{ $.Release.Name }}
    workload: {{ .name }}
  ports:
  - name: http
    port: 80
    targetPort: {{ .port }}
{{- end }}
`

const chartConfigMaps = `{{- range .Values.configs }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "gen.fullname" $ }}-{{ .name }}
  labels:
    {{- include "gen.labels" $ | nindent 4 }}
data:
  {{- toYaml .data | nindent 2 }}
  region: {{ $.Values.region | quote }}
{{- end }}
`
