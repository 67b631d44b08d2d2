// Package render turns a loaded fleet repository into the Kubernetes objects each member
// cluster must hold.
//
// A Renderer is made once per repository revision. It copies the repository into an
// in-memory filesystem (kustomize reads nothing from disk and nothing from the network),
// builds each App with kustomize's krusty engine, and labels every object with the App it
// came from. An App's output is built once and shared by every cluster it targets.
//
// The one thing a render may read from the network is a Helm chart that an App takes from
// a Helm repository or OCI registry (or a dependency its Chart.yaml declares there), and
// only the version and archive digest the repository's ChartLock pins, through
// Options.Charts (package remotechart, which also keeps the archives in a cache on disk).
// A chart that is not locked, whose lock is stale, whose archive has another digest, or
// that cannot be fetched fails its App like any other broken input.
//
// A broken App does not stop the others: its result carries an *Error naming the App,
// the cluster, the file and the reason, and it has no objects, so nothing of it can be
// applied or pruned.
//
// A render is bounded (Limits): every YAML or JSON file is checked by yamlbound before any
// parser decodes it (size, nesting, nodes with aliases expanded), kustomize inclusions are
// counted with their multiplicity before the build, rendered output is counted in objects
// and bytes, and each App's render has a timeout. A file over a bound fails the Apps that
// read it, not the revision: it is still in the in-memory copy, but reading it is its error.
package render
