// Package fleetgen generates large, valid fleet repositories for benchmarks: clusters,
// businesses with per-cluster quotas, namespaces, and kustomize apps, in the layout of
// fleet-example/.
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
}

// Generate returns the repository as files (path -> content).
func Generate(o Options) map[string]string {
	files := map[string]string{
		"fleet.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: generated\nspec:\n  interval: 5m\n",
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
		files[dir+"/app.yaml"] = fmt.Sprintf(`apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata:
  name: app-%03d
spec:
  source:
    kustomize:
      path: %s/manifests
  namespace: app-%03d
  targets:
    selector: {matchLabels: {env: prod}}
`, a, dir, a)
		var res []string
		for i := range o.ObjectsPerApp {
			name := fmt.Sprintf("cm-%03d.yaml", i)
			res = append(res, name)
			files[dir+"/manifests/"+name] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%03d-%03d\ndata:\n  index: \"%d\"\n", a, i, i)
		}
		files[dir+"/manifests/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + strings.Join(res, "\n- ") + "\n"
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
