// Package addons renders what an Addon of the fleet repository puts into a member
// cluster: the controllers, DaemonSets, CRDs, RBAC, webhooks and configuration of each
// addon type of TKEStack v1.5.0 (TApp, CronHPA, Monitoring, LogAgent, GPUManager,
// NvidiaDevicePlugin, CSIOperator, LBCF, Galaxy, GalaxyIPAM, PersistentEvent, Audit,
// MetricsServer).
//
// # What comes out
//
// Render(addon, cluster) returns the objects, sorted as they are applied (CRDs, the
// Namespace, ServiceAccounts and RBAC first). Every object is labelled
// app.kubernetes.io/part-of: gitfleet-addons and gitfleet.dev/addon: <addon name>, and
// so are the pods of its workloads. Names, kinds and namespaces are the seed's (its table
// of addon objects, reproduced in schema.AddonCatalog); each type adds the
// ServiceAccounts, RBAC and configuration its workloads need to run, which the seed does
// not list. Everything goes into kube-system except Audit, which runs in tke.
//
// The same inputs always give the same bytes: a render depends only on the Addon, the
// Cluster and Options, and reads nothing else (no files, no environment, no network).
//
// # Images and resources
//
// Images are schema.AddonCatalog's, pinned as TKEStack v1.5.0 released them, after the
// Addon's spec.version (the type's primary images), spec.registry and spec.images.
// Per-architecture images are taken for amd64, and their workloads are kept on amd64
// nodes. GPUManager's node agent and Galaxy's CNI installer are gitfleet's own images
// (gitfleet-gpu, gitfleet-cni), tagged with the gitfleet release (Options).
//
// A workload's container resources are the Addon's spec.resources entry as written, else
// the catalog's default as both requests and limits (1 core and 512Mi for
// tapp-controller, 0.3 core and 250Mi for logagent, ...).
//
// # Parameters
//
// Each type's parameter block becomes configuration in the cluster: the Prometheus
// retention and remote storage, GPU-Manager's metrics port, the CSI drivers and their
// StorageClasses, the LBCF drivers, Galaxy's network mode and flannel backend, the
// floating IP pools of floatingip-config, the Elasticsearch of PersistentEvent and Audit.
// Credentials must be {secret: {name, key}} references to a Secret in the member
// cluster's addon namespace; an {env} or {file} reference is an error at its field (see
// secretref.go for why). Key material is never rendered: LBCF's webhook certificate
// Secret is rendered empty and filled in out of band.
//
// # Removal
//
// CRDs and the tke Namespace carry gitfleet.dev/prune: disabled, so that removing an
// addon does not delete every TApp, CronHPA or floating IP record of the cluster, nor the
// TKEStack platform.
//
// # The catalog
//
// The manifests are Go text/templates under catalog/<Release>/<type>/, embedded in the
// binary; params.go turns each type's parameters into the values they place. A template
// that writes a value from the fleet writes it as JSON, so no name or address can break
// the YAML around it.
package addons
