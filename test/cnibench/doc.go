// Package cnibench measures gitfleet-cni's ADD+DEL latency against the reference CNI
// plugins (bridge with host-local IPAM, containernetworking/plugins v1.9.1, built from
// the pinned module in baseline/) in the same run, as the runtime drives them: each
// plugin a process, the network configuration on stdin, one real network namespace per
// pod, and a namespace of its own standing for the node.
//
// Two benchmarks, each a ratio for test/benchreport: 100 pods set up one after another
// and then torn down (a node filling up and draining), and 20 pods set up and torn down
// at once (a burst of pods scheduled to one node). Run as root: make bench.
package cnibench
