// Package render turns a loaded fleet repository into the Kubernetes objects each member
// cluster must hold.
//
// A Renderer is made once per repository revision. It copies the repository into an
// in-memory filesystem (kustomize reads nothing from disk and nothing from the network),
// builds each App with kustomize's krusty engine, and labels every object with the App it
// came from. An App's output is built once and shared by every cluster it targets.
//
// A broken App does not stop the others: its result carries an *Error naming the App,
// the cluster, the file and the reason, and it has no objects, so nothing of it can be
// applied or pruned.
package render
