// Package cni is gitfleet-cni, the CNI plugin behind gitfleet's Galaxy addon: it gives
// pods the network modes of TKEStack's Galaxy (overlay, floating IP, NAT, host) on every
// node of a member cluster. cmd/gitfleet-cni is its binary; the addon's DaemonSet runs the
// same binary as the installer that puts it on the node.
//
// # Configuration
//
// The Galaxy addon renders /etc/cni/net.d/00-galaxy.conflist (render/addons, galaxyConf):
//
//	{"cniVersion": "1.0.0", "name": "galaxy", "plugins": [{
//	  "type": "gitfleet-cni",
//	  "defaultMode": "overlay",            // overlay | floatingIP | nat | host: the cluster's spec.network.mode
//	  "flannel": {"subnetFile": "/run/flannel/subnet.env", "backend": "ipip"},
//	  "device": "eth0",                    // the node NIC floating IPs are bridged onto (spec.networkDevice)
//	  "capabilities": {"portMappings": true}
//	}]}
//
// Optional fields: "bridge" (the underlay bridge, default galaxy-br0) and "dataDir" (the
// IPAM reservations and per-pod records, default /var/lib/cni/networks). The runtime adds
// runtimeConfig.portMappings (pods' hostPorts) and may add "args" (below).
//
// # Modes
//
// A pod's mode is, in order: CNI_ARGS GALAXY_NETWORK_MODE (or args.networkMode);
// floatingIP when the pod has a floating IP (below); else defaultMode.
//
//   - overlay (TKEStack's default): flanneld gives the node a pod subnet and writes it to
//     subnetFile (FLANNEL_SUBNET, FLANNEL_MTU). The pod gets an address from it through
//     host-local's allocator (reservations are host-local's files under
//     <dataDir>/<name>, serialised by an flock, so parallel ADDs never collide), a veth
//     whose node end is named v-h<9 hex> as Galaxy's are, and routes as flannel's host-gw
//     lays them: the node end carries the subnet's gateway address (FLANNEL_SUBNET's
//     address, the same /32 on every pod veth) and a /32 route to the pod; the pod routes
//     everything through that gateway. There is no bridge, as in the seed ("same-node
//     pod traffic is routed by host routes"): pod-to-pod traffic on a node is routed by
//     the node, where policy and flannel's routes to other nodes apply. The pod's MTU is
//     FLANNEL_MTU.
//   - floatingIP: the pod's address is the one galaxy-ipam chose from the floatingip-config
//     pools, on the node NIC's own network. The NIC becomes a port of the bridge (its
//     addresses, routes and MAC move to the bridge, once per node, under a lock) and the
//     pod's veth another port; the pod's default route is the pool's gateway. The plugin
//     reserves nothing: galaxy-ipam owns floating IPs. Tagged VLANs (vlan != 0) are refused.
//   - nat: overlay wiring plus the pod's port mappings as iptables DNAT rules; a mapping
//     with hostPort 0 gets a free host port, as Galaxy maps a random port when the user
//     gives none. Host ports given in overlay or floatingIP mode are mapped too; hostPort
//     0 is refused there.
//   - host: nothing is attached; ADD answers an empty result (no interfaces, no IPs): the
//     pod shares the node's network.
//
// # Floating-IP contract
//
// galaxy-ipam writes the pod annotation k8s.v1.cni.galaxy.io/args, for example
//
//	{"common":{"ipinfos":[{"ip":"192.168.64.202/24","vlan":0,"gateway":"192.168.64.1","routable_subnet":"172.21.64.0/20"}]}}
//
// The plugin never calls the API server; whoever runs it passes the annotation's
// ipinfos in one of two ways, as Galaxy's daemon does for its vlan plugin:
//
//   - CNI_ARGS: ipinfos=<the JSON array> (with K8S_POD_NAME etc. and IgnoreUnknown=1);
//   - the network configuration's "args": the annotation's value as is, i.e.
//     "args": {"common": {"ipinfos": [...]}}.
//
// Exactly one ipinfo is taken: ip with its prefix length, gateway inside that prefix,
// vlan 0. A pod in floatingIP mode without one fails ADD with CNI error 7, naming the
// annotation.
//
// # Verbs
//
// ADD undoes every step it made when a later one fails (reservation, veth, routes, DNAT
// rules), so a failed ADD leaves nothing. A repeated ADD of a pod that is fully in place
// returns the first result; of a pod partly gone it rebuilds the attachment, keeping the
// address. DEL finds everything by name (the v-h veth, the container's reservation, the
// pod's iptables chain), so it works without the pod's namespace and for containers
// never added, and it is repeatable. CHECK compares the runtime's prevResult with the
// pod's interface, addresses and routes (the plugins' ip.ValidateExpected* checks) and
// with the node's veth, route or bridge port, reservation and DNAT rules. STATUS fails
// with CNI error 50 while flanneld has not written the subnet file (overlay, nat), the
// device is missing (floatingIP) or iptables is missing (nat). Per pod, a record under
// <dataDir>/<name>.attachments/ keeps the result and the host ports given.
//
// Errors name the pod (K8S_POD_NAMESPACE/K8S_POD_NAME), the mode and the field or file
// at fault; configuration errors are CNI error 7, an exhausted subnet error 11.
package cni
