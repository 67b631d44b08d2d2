// Package machines makes the machines a fleet repository declares (spec.machines of a
// Baremetal Cluster) real: it checks them over SSH against TKEStack's host requirements,
// records their facts, and keeps their Nodes' labels and taints as declared.
//
// # Checks
//
// Run logs in to each machine (package sshrun: host keys checked against known_hosts,
// credentials resolved from references, every step under a timeout) and runs two fixed
// commands: ProbeScript, which prints the machine's facts in marked sections, and
// ClockCommand, timed on both sides to measure the clock offset. No value from the
// repository is ever part of a command. Parsing is pure (ParseProbe) and the verdicts
// come from the facts alone (Evaluate), each check with an id, pass/warn/fail, what was
// seen and the fix:
//
//	os        Ubuntu 16.04/18.04, CentOS 7.6, Tencent Linux 2.2, 64-bit (other: warn)
//	kernel    3.10.0-957.10.1 or later
//	cpu       Global cluster 8 cores; business cluster master 4, node 8
//	memory    Global 16G; business master 8G, node 16G (up to 10% under: warn, as
//	          MemTotal leaves out reserved memory)
//	disk      100G at /
//	swap      none active
//	ports     80 443 2379 2380 6443 8080 10250-10255 31138 free, or held by the
//	          platform's own programs on a machine that already joined
//	selinux   not enforcing (permissive: warn)
//	firewall  firewalld/ufw active: warn
//	clock     within 2 s of gitfleet's clock, less half the measuring round trip
//	timezone  the same on every machine of a cluster (warn)
//	runtime   no docker/containerd before the platform installs its own (a machine
//	          running a kubelet already joined and passes)
//	routes    no route overlapping spec.network.clusterCIDR (docker0 and the like)
//	gpu       NVIDIA GPUs present exactly when the machine says gpu: true;
//	          /dev/nvidia-uvm present on GPU machines (warn)
//	root      root login or password-less sudo
//	ssh       the machine could not be reached or logged in to (the only check then)
//
// Machines are checked in parallel up to a bound; a machine that is down costs its own
// dial timeout and never delays the others. A failure to reach a machine is part of its
// result, not an error of the run.
//
// # Facts and capacity
//
// StatusOf turns results into the machines section of status/clusters/<name>.yaml: OS,
// kernel, CPUs, memory, disks and GPUs with model and memory, and every check. Nothing
// there changes between checks of an unchanged machine, so an uneventful check makes no
// commit. Capacity and FillCapacity give a cluster that declares no spec.capacity the sum
// of its machines' CPUs and memory, and its GPUs in the resources of its GPU type
// (vGPU: tencent.com/vcuda-core 100 per card and vcuda-memory in 256 MiB units; pGPU:
// nvidia.com/gpu), for the quota checks.
//
// # Node labels and taints
//
// ApplyNodes applies each machine's labels and taints to its Node with server-side apply
// under gitfleet's field manager, and takes them away when the repository drops them or
// the machine. The Node is the one named by the machine's IP (TKEStack's naming), else
// the one whose InternalIP is the machine's IP, else the one named by its hostname fact;
// a machine without a Node is reported, and no Node is ever created. Taints are one
// atomic list in Kubernetes, so gitfleet applies the whole list, carrying over the taints
// others set, and records its own in the gitfleet.dev/taints annotation.
package machines
