// Package reference holds the tests that compare gitfleet's renderer with the tools people
// would otherwise run by hand: `kustomize build` (sigs.k8s.io/kustomize/kustomize/v5) and
// `helm template --include-crds` (helm.sh/helm/v3), both built by `make tools` from the same
// library versions gitfleet links.
//
// Every input in test/testdata (and a selection of Helm's own test charts, copied out of the
// module cache at test time) is put into a one-cluster fleet repository in memory and rendered
// by render.Renderer, and the same files are written to disk and rendered by the binaries.
// The two object sets must match object for object, apart from the labels gitfleet adds
// (render.LabelManagedBy, render.LabelApp, render.LabelFleet) and the Go type of numbers. An
// App is translated to the command a person would type:
//
//   - kustomize: `kustomize build PATH`; with spec.namespace, `kustomize build` of a
//     kustomization that sets the namespace over PATH (what Flux's targetNamespace does).
//   - Helm: `helm template RELEASE CHART --namespace NS --include-crds`, --kube-version from
//     the Cluster's spec.version, one --api-versions per spec.apiVersions entry, one -f per
//     spec.source.helm.valuesFiles entry, and the App's values, its matching valuesByLabel
//     entries and its valuesByCluster entry merged in that order and passed as --set flags
//     (one per leaf; JSON for lists, floats and strings so that their type survives).
//
// BenchmarkRender measures the renderer on a generated 100-cluster fleet against the two
// binaries run over the same inputs in the same run; `make bench` prints the ratio.
package reference
