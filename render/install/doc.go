// Package install builds the objects that run gitfleet itself in the management cluster:
// its Namespace, a ServiceAccount, the least-privilege RBAC that `gitfleet serve` needs
// there, a Deployment of two replicas that elect a leader, and a Service in front of the
// metrics and push-webhook ports.
//
// What serve does in the management cluster, and so all the RBAC grants, all inside
// gitfleet's own namespace:
//
//   - leader election: creates one Lease, then reads and renews only that Lease by name;
//   - Events: the manager may record Events about itself;
//   - Secrets: reads (get, by name) the Secrets that fleet files refer to
//     ({secret: {name, key}}): SMTP passwords, webhook tokens, SSH keys of machines.
//
// Nothing cluster-wide and nothing in another namespace: the member clusters, the
// management cluster's own objects included when it is also a member, are reached through
// the kubeconfig in the gitfleet-clusters Secret, with whatever rights that kubeconfig's
// users have. A fleet that refers to Secrets in other namespaces (--secret-namespaces) needs
// a Role and RoleBinding there as well; the install does not guess them.
//
// The image is always pinned by digest: an install names exactly the bytes it runs, and an
// upgrade is a change of that digest in the fleet repository.
package install
