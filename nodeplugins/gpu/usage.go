package gpu

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	podresourcesapi "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// UsageOptions say where the reader finds containers and their processes.
type UsageOptions struct {
	// NodeName is the node label of every metric (the DaemonSet passes NODE_NAME).
	NodeName string
	// PodResourcesSocket is the kubelet's pod-resources API, which says which container
	// holds which device IDs.
	PodResourcesSocket string
	// ProcRoot is where the host's processes are visible (the DaemonSet runs with
	// hostPID, so /proc). A GPU process's environment names its container's allocation.
	ProcRoot string
	// Timeout bounds one read (the pod-resources call and the NVML queries).
	Timeout time.Duration
	// Logger receives what a read could not see.
	Logger *slog.Logger
}

// DefaultUsageOptions returns the kubelet's standard paths.
func DefaultUsageOptions() UsageOptions {
	return UsageOptions{
		PodResourcesSocket: "/var/lib/kubelet/pod-resources/kubelet.sock",
		ProcRoot:           "/proc",
		Timeout:            5 * time.Second,
		Logger:             slog.Default(),
	}
}

// Usage is one reading of the node: what each card and each GPU container requested and uses.
// The Prometheus metrics and the /usage page are both formatted from it.
type Usage struct {
	Node       string
	Cards      []CardUsage
	Containers []ContainerUsage
	// Problems are what the reading could not see (an NVML call that failed, the kubelet's
	// pod-resources socket not answering), for /usage and the logs.
	Problems []string
}

// CardUsage is one card's state.
type CardUsage struct {
	Card    Card
	Healthy bool
	Reason  string
	UsedMiB uint64
}

// ContainerUsage is one container holding vcuda units.
type ContainerUsage struct {
	Namespace, Pod, Container string
	CoreUnits                 int
	// MemoryMiB is the container's vcuda-memory; a container of whole cards without a
	// vcuda-memory request has the memory of its cards.
	MemoryMiB uint64
	// Cards are the NVML indexes of the cards serving the container.
	Cards []int
	// Utilization is per card index, as a fraction of the card (0.3 is 30% of its SMs).
	Utilization map[int]float64
	// UsedMiB is the device memory of the container's processes, per card index.
	UsedMiB map[int]uint64
}

// UsageReader reads Usage from NVML, the kubelet's pod-resources API and /proc.
type UsageReader struct {
	lib  nvml.Interface // nil on a node without a usable NVML
	mgr  *Manager
	opts UsageOptions

	mu sync.Mutex
	// lastSample is, per card, the newest NVML utilisation sample already read, so each
	// scrape reports the period since the previous one.
	lastSample map[string]uint64
}

// NewUsageReader returns a reader. lib may be nil (a node without GPUs): the reading is then
// empty.
func NewUsageReader(lib nvml.Interface, mgr *Manager, opts UsageOptions) *UsageReader {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &UsageReader{lib: lib, mgr: mgr, opts: opts, lastSample: map[string]uint64{}}
}

// Read takes one reading. It always returns what it could see; Problems says what it could not.
func (u *UsageReader) Read(ctx context.Context) Usage {
	usage := Usage{Node: u.opts.NodeName}
	cards := u.mgr.Cards()
	if len(cards) == 0 || u.lib == nil {
		return usage
	}
	ctx, cancel := context.WithTimeout(ctx, u.opts.Timeout)
	defer cancel()
	containers, err := u.containers(ctx)
	if err != nil {
		usage.Problems = append(usage.Problems, err.Error())
	}
	byAllocation := map[string]*ContainerUsage{}
	for i := range containers {
		if id := containers[i].allocationID; id != "" {
			byAllocation[id] = &containers[i].ContainerUsage
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range cards {
		cu := CardUsage{Card: c}
		cu.Healthy, cu.Reason = u.mgr.Health(c.UUID)
		dev, ret := u.lib.DeviceGetHandleByUUID(c.UUID)
		if ret != nvml.SUCCESS {
			usage.Problems = append(usage.Problems, (&NVMLError{Op: "DeviceGetHandleByUUID", Card: c.UUID, Ret: ret}).Error())
			usage.Cards = append(usage.Cards, cu)
			continue
		}
		if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			cu.UsedMiB = mem.Used >> 20
		}
		usage.Cards = append(usage.Cards, cu)
		usage.Problems = append(usage.Problems, u.accountProcesses(dev, c, byAllocation)...)
	}
	for _, c := range containers {
		usage.Containers = append(usage.Containers, c.ContainerUsage)
	}
	return usage
}

// accountProcesses adds the card's processes to their containers.
func (u *UsageReader) accountProcesses(dev nvml.Device, c Card, byAllocation map[string]*ContainerUsage) []string {
	var problems []string
	// Under MPS the clients are listed apart from ordinary compute processes.
	var procs []nvml.ProcessInfo
	for op, list := range map[string]func() ([]nvml.ProcessInfo, nvml.Return){
		"GetComputeRunningProcesses":    dev.GetComputeRunningProcesses,
		"GetMPSComputeRunningProcesses": dev.GetMPSComputeRunningProcesses,
	} {
		p, ret := list()
		switch ret {
		case nvml.SUCCESS:
			procs = append(procs, p...)
		case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_NOT_FOUND:
		default:
			problems = append(problems, (&NVMLError{Op: op, Card: c.UUID, Ret: ret}).Error())
		}
	}
	owner := map[uint32]*ContainerUsage{}
	for _, p := range procs {
		cu := byAllocation[u.allocationOf(p.Pid)]
		if cu == nil {
			continue // not a vcuda container (the MPS server itself, a host process)
		}
		owner[p.Pid] = cu
		cu.UsedMiB[c.Index] += p.UsedGpuMemory >> 20
	}
	samples, ret := dev.GetProcessUtilization(u.lastSample[c.UUID])
	switch ret {
	case nvml.SUCCESS:
	case nvml.ERROR_NOT_FOUND, nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_INSUFFICIENT_SIZE:
		// No process ran on the card since the last reading (go-nvml answers
		// INSUFFICIENT_SIZE with no samples when NVML counts zero).
		return problems
	default:
		return append(problems, (&NVMLError{Op: "GetProcessUtilization", Card: c.UUID, Ret: ret}).Error())
	}
	// A process has one sample per driver sampling period; keep its newest.
	newest := map[uint32]nvml.ProcessUtilizationSample{}
	for _, s := range samples {
		if s.TimeStamp > newest[s.Pid].TimeStamp {
			newest[s.Pid] = s
		}
		u.lastSample[c.UUID] = max(u.lastSample[c.UUID], s.TimeStamp)
	}
	for pid, s := range newest {
		if cu := owner[pid]; cu != nil {
			cu.Utilization[c.Index] += float64(s.SmUtil) / 100
		} else if cu := byAllocation[u.allocationOf(pid)]; cu != nil {
			cu.Utilization[c.Index] += float64(s.SmUtil) / 100
		}
	}
	return problems
}

// allocationOf reads the allocation ID from a process's environment ("" when it has none or
// the process is gone).
func (u *UsageReader) allocationOf(pid uint32) string {
	env, err := os.ReadFile(filepath.Join(u.opts.ProcRoot, strconv.FormatUint(uint64(pid), 10), "environ"))
	if err != nil {
		return ""
	}
	prefix := []byte(EnvAllocationID + "=")
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, prefix); ok {
			return string(v)
		}
	}
	return ""
}

// podContainer is a ContainerUsage with the key its processes carry.
type podContainer struct {
	ContainerUsage
	allocationID string
}

// containers lists the containers holding vcuda units, from the kubelet's pod-resources API.
func (u *UsageReader) containers(ctx context.Context) ([]podContainer, error) {
	conn, err := grpc.NewClient("unix://"+u.opts.PodResourcesSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("kubelet pod-resources API at %s: %w", u.opts.PodResourcesSocket, err)
	}
	defer conn.Close()
	resp, err := podresourcesapi.NewPodResourcesListerClient(conn).List(ctx, &podresourcesapi.ListPodResourcesRequest{})
	if err != nil {
		return nil, fmt.Errorf("kubelet pod-resources API at %s: %w", u.opts.PodResourcesSocket, err)
	}
	var out []podContainer
	for _, pod := range resp.GetPodResources() {
		for _, ctr := range pod.GetContainers() {
			pc, ok := u.container(pod, ctr)
			if ok {
				out = append(out, pc)
			}
		}
	}
	slices.SortFunc(out, func(a, b podContainer) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Container, b.Container))
	})
	return out, nil
}

func (u *UsageReader) container(pod *podresourcesapi.PodResources, ctr *podresourcesapi.ContainerResources) (podContainer, bool) {
	pc := podContainer{ContainerUsage: ContainerUsage{
		Namespace: pod.GetNamespace(), Pod: pod.GetName(), Container: ctr.GetName(),
		Utilization: map[int]float64{}, UsedMiB: map[int]uint64{},
	}}
	var coreIDs []string
	memUnits := 0
	cards := map[int]bool{}
	for _, d := range ctr.GetDevices() {
		r := Resource(d.GetResourceName())
		if r != ResourceCore && r != ResourceMemory {
			continue
		}
		for _, id := range d.GetDeviceIds() {
			unit, err := parseDeviceID(id)
			if err != nil {
				continue
			}
			card, ok := u.mgr.Card(unit.UUID)
			if !ok {
				continue
			}
			cards[card.Index] = true
			if r == ResourceCore {
				coreIDs = append(coreIDs, id)
			} else {
				memUnits++
			}
		}
	}
	if len(cards) == 0 {
		return podContainer{}, false
	}
	pc.CoreUnits = len(coreIDs)
	pc.MemoryMiB = uint64(memUnits) * MemoryUnitMiB
	for i := range cards {
		pc.Cards = append(pc.Cards, i)
	}
	slices.Sort(pc.Cards)
	if memUnits == 0 && pc.CoreUnits > 0 && pc.CoreUnits%CoreUnitsPerCard == 0 {
		for _, c := range u.mgr.Cards() {
			if cards[c.Index] {
				pc.MemoryMiB += c.MemoryMiB
			}
		}
	}
	if len(coreIDs) > 0 {
		pc.allocationID = AllocationID(coreIDs)
	}
	return pc, true
}
