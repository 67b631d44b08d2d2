// Package reconciler applies rendered fleets to member clusters.
//
// One apply of a revision is, per cluster and independently of every other cluster:
//
//  1. connect, and stop there if the cluster cannot be reached (the others go on);
//  2. apply each App that rendered, in dependsOn order, with server-side apply under the
//     field manager "gitfleet" (CRDs and namespaces first), then wait for its objects to
//     become healthy (kstatus) before the Apps that depend on it;
//  3. prune: objects recorded in an App's inventory that the App no longer renders, and
//     everything of Apps that no longer target the cluster, are deleted, but only objects
//     that still carry the App's gitfleet label;
//  4. record the new inventories in the cluster (ConfigMaps in gitfleet-system).
//
// An App whose render failed is neither applied nor pruned: its objects stay as they were
// and its inventory is kept, so a broken commit cannot wipe a cluster. The prune guard
// refuses to delete most of a cluster's objects at once unless told to (AllowMassPrune).
//
// Applying an unchanged revision again sends no writes and no dry runs: every applied
// object carries a hash of what gitfleet applied (gitfleet.dev/applied-hash); one LIST per
// kind finds the objects whose hash still matches and that no other field manager changed
// since, and those are "unchanged" with no further request. Everything else is compared
// with a server-side dry run and applied only when it differs.
package reconciler
