// Package gpu is the kubelet device plugin behind the GPUManager addon: it shares a node's
// NVIDIA GPUs between containers as two extended resources, and reports what each container
// asked for and uses.
//
// # Resources
//
// Every card is offered as 100 units of tencent.com/vcuda-core and as many 256 MiB units of
// tencent.com/vcuda-memory as its memory holds (an 80 GB card is 320 units). A container asks
// for either:
//
//   - 1-100 core units: a share of one card (30 is 30% of its streaming multiprocessors).
//     The share always stays on one card.
//   - a multiple of 100: that many whole cards, each given entirely to the container.
//
// 150 or 250 (a whole card plus a share) are refused with a message saying so. Memory is
// always on one card: the card that serves the container's cores. A container of whole cards
// needs no vcuda-memory; it has all of its cards' memory.
//
// # How the kubelet sees it
//
// The kubelet's device-plugin API knows only opaque device IDs, one per unit. The IDs name
// their card (<GPU UUID>_core<N>, <GPU UUID>_mem<N>), so the kubelet's own books (which
// IDs a pod holds, which are free, its checkpoint across restarts) are per card, and the
// plugin keeps no allocation state of its own. One gRPC server per resource (the API ties a
// socket to one resource) registers with the kubelet at kubelet.sock in the device-plugin
// directory; the plugin registers again when the kubelet restarts (it removes the plugins'
// sockets and creates a new kubelet.sock, which the plugin notices within a second).
//
// GetPreferredAllocation steers the kubelet: a share goes to the fullest card it fits on, so
// whole cards stay free; whole cards are cards with all 100 units free, and several of them
// are the best-connected free set (the seed's topology-aware allocation: NVLink first, then
// the nearest common PCIe ancestor NVML reports). The kubelet places a container's resources
// one after the other and says nothing of which container asks, so the first of core and
// memory picks the card and the second follows it (within ManagerOptions.PairWindow): cores
// asked right after memory must go to its card or are refused (nobody asks for memory
// without cores); memory asked right after cores goes to their card when it fits there
// (those cores may have been an earlier container's, asked without memory). Allocate then
// checks what the
// kubelet actually chose against the rules above and refuses, in the pod's events, anything
// else: a share over two cards, a split whole card, memory on another card than the cores, a
// card that has become unhealthy, or a device node missing on the node.
//
// # With TKEStack's scheduler extender
//
// The GPUManager addon runs gpu-quota-admission as a kube-scheduler extender. It chooses the
// card of every GPU container when it schedules the pod and writes the choice on the pod:
// tencent.com/predicate-gpu-idx-<container index> (the card's NVML index, comma-separated
// for whole cards), tencent.com/predicate-time and tencent.com/predicate-node. When the
// plugin can reach the API server (the DaemonSet's service account, or gitfleet-gpu's
// --kubeconfig) it follows that choice, as TKEStack's gpu-manager does: the kubelet does not
// say which pod it admits, so the candidate is the pending pod bound to this node with those
// annotations and without tencent.com/gpu-assigned=true, the oldest predicate-time first,
// whose not yet placed container asks for as many units as the kubelet allocates.
// GetPreferredAllocation and Allocate then use the annotated card for that container's cores
// and its memory alike (so memory follows cores without the pairing window, in either order;
// one index for several whole cards is completed with the best-connected free cards), under
// the same rules as above: a card without room, or IDs the kubelet took elsewhere, are refused
// naming the pod and the annotation. Once every GPU container of the pod has its cards the
// plugin sets tencent.com/gpu-assigned=true on the pod. Pods without the annotations, and a
// plugin without an API server (or one that does not answer within
// PlacementOptions.Timeout), get the cards the plugin chooses itself.
//
// # How a share is enforced
//
// A share is not trusted to stay within its units: it runs as a client of the node's CUDA
// MPS (Multi-Process Service) control daemon, and the CUDA driver enforces the limits the
// Allocate answer sets:
//
//   - CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=<core units>: the fraction of the card's SMs the
//     container's kernels may occupy.
//   - CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=<units x 256>M: the device memory the container may
//     allocate on its card (device 0 is its only visible card); allocations beyond it fail
//     with an out-of-memory error in the container, not on its neighbours.
//   - CUDA_MPS_PIPE_DIRECTORY and CUDA_MPS_LOG_DIRECTORY, with the daemon's pipe and log
//     directories mounted at CUDA's defaults (/tmp/nvidia-mps, /var/log/nvidia-mps), and the
//     daemon's shared-memory directory mounted as the container's /dev/shm (MPS clients and
//     server exchange data through POSIX shared memory).
//
// Every GPU container gets its cards' device nodes (/dev/nvidiaN, /dev/nvidiactl,
// /dev/nvidia-uvm, and /dev/nvidia-uvm-tools and /dev/nvidia-modeset when present) and
// NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES naming its cards by UUID. Whole cards skip
// MPS: the container has them to itself.
//
// What the node needs: the NVIDIA driver, and an MPS control daemon started with the
// directories of ResponseOptions (gitfleet-gpu's --mps-* flags), for example from systemd:
//
//	mkdir -p /run/gitfleet/mps/pipe /run/gitfleet/mps/log /run/gitfleet/mps/shm
//	mount -t tmpfs -o size=1g tmpfs /run/gitfleet/mps/shm
//	unshare --mount --propagation private sh -c 'mount --bind /run/gitfleet/mps/shm /dev/shm &&
//	  CUDA_MPS_PIPE_DIRECTORY=/run/gitfleet/mps/pipe CUDA_MPS_LOG_DIRECTORY=/run/gitfleet/mps/log \
//	  exec nvidia-cuda-mps-control -f'
//
// Without the daemon CUDA would run a share outside MPS, that is without limits, so while the
// daemon's control pipe (<pipe dir>/control) is missing the plugin refuses shares
// (ResponseOptions.RequireMPS; the plugin must see the pipe directory at its host path) and
// serves whole cards only. MPS limits are applied in the container's CUDA driver from its
// environment: a pod that sets CUDA_MPS_* or *_VISIBLE_DEVICES itself overrides them, so
// admission should refuse such pods; and with the cards in EXCLUSIVE_PROCESS compute mode only the MPS server
// can open a context on them, so no process bypasses MPS (at the cost that a whole-card
// container gets one CUDA process per card).
//
// # Health
//
// NVML events mark a card unhealthy: Xid critical errors except those an application causes
// (13, 31, 43, 45, 68, 109), and double-bit ECC errors. ListAndWatch then sends the card's
// units as Unhealthy and the kubelet stops placing pods on them. The card is offered again
// once NVML can read it and it has had no critical event for HealthOptions.RecoveryQuiet.
//
// # Metrics
//
// NewMetricsHandler serves /metrics (and /metric, the path of the seed's example), and
// /usage, a table for people. Per GPU container, labelled container_name, namespace, node and
// pod_name, with the seed's names:
//
//   - container_request_gpu_utilization{req_of_gpu="total"}: requested cards (30 units is
//     0.30000001192092896, GPU-Manager's float32 value).
//   - container_request_gpu_memory{req_of_gpu_memory="total"}: requested MiB.
//   - container_gpu_utilization{gpu="gpuN"|"total"}: SM utilisation of the container's
//     processes, as a fraction of one card.
//   - container_gpu_memory_total{gpu_memory="gpuN"|"total"}: device memory of the
//     container's processes, in MiB.
//
// and gitfleet_gpu_card_healthy{gpu, uuid} per card. Containers come from the kubelet's
// pod-resources API (which IDs each container holds); processes come from NVML, and each is
// matched to its container by the allocation ID the Allocate answer put in its environment
// (GITFLEET_VCUDA_ALLOCATION, read from /proc/<pid>/environ, hence the DaemonSet's hostPID).
package gpu
