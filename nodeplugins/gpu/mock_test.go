package gpu

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// Machines of the tests, built from go-nvml's mock GPUs.
var (
	// eightMixed is an 8-card node of four different memory sizes (24, 40, 80 and 141 GB).
	eightMixed = []gpus.Config{
		gpus.A100_SXM4_40GB, gpus.A100_SXM4_40GB, gpus.A100_SXM4_80GB, gpus.A100_SXM4_80GB,
		gpus.H100_SXM5_80GB, gpus.H100_SXM5_80GB, gpus.A30_PCIE_24GB, gpus.H200_SXM5_141GB,
	}
	oneCard = []gpus.Config{gpus.A30_PCIE_24GB}
	noCards = []gpus.Config{}
)

// mockNode is a go-nvml mock machine with the NVML calls the plugin makes beyond the mock's
// defaults: events for the health watcher, processes and utilisation for the metrics.
type mockNode struct {
	*server.Server
	events chan nvml.EventData

	mu        sync.Mutex
	lost      map[string]bool // UUID -> NVML answers ERROR_GPU_IS_LOST
	procs     map[string][]nvml.ProcessInfo
	samples   map[string][]nvml.ProcessUtilizationSample
	sinceSeen map[string][]uint64 // lastSeenTimeStamp arguments, per card
	// nvlink are the pairs of card indexes joined by NVLink. Otherwise cards 0-3 and 4-7
	// each share a PCIe switch, and the two groups meet only across the CPUs.
	nvlink map[[2]int]bool
}

func newMockNode(t *testing.T, cards []gpus.Config) *mockNode {
	t.Helper()
	srv, err := server.New(server.WithGPUs(cards...), server.WithDriverVersion("550.54.15"),
		server.WithNVMLVersion("12.550.54.15"), server.WithCUDADriverVersion(12040))
	if err != nil {
		t.Fatalf("mock NVML: %v", err)
	}
	n := &mockNode{
		Server: srv, events: make(chan nvml.EventData, 16),
		lost: map[string]bool{}, procs: map[string][]nvml.ProcessInfo{},
		samples: map[string][]nvml.ProcessUtilizationSample{}, sinceSeen: map[string][]uint64{},
		nvlink: map[[2]int]bool{},
	}
	srv.EventSetCreateFunc = func() (nvml.EventSet, nvml.Return) {
		return &mock.EventSet{
			WaitFunc: func(ms uint32) (nvml.EventData, nvml.Return) {
				select {
				case e := <-n.events:
					return e, nvml.SUCCESS
				case <-time.After(time.Duration(ms) * time.Millisecond):
					return nvml.EventData{}, nvml.ERROR_TIMEOUT
				}
			},
			FreeFunc: func() nvml.Return { return nvml.SUCCESS },
		}, nvml.SUCCESS
	}
	for _, d := range srv.Devices {
		dev := d.(*server.Device)
		uuid := dev.UUID
		dev.GetSupportedEventTypesFunc = func() (uint64, nvml.Return) {
			return nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError | nvml.EventTypeSingleBitEccError, nvml.SUCCESS
		}
		dev.RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS }
		dev.GetP2PStatusFunc = func(other nvml.Device, _ nvml.GpuP2PCapsIndex) (nvml.GpuP2PStatus, nvml.Return) {
			j := other.(*server.Device).Index
			if n.nvlink[[2]int{dev.Index, j}] || n.nvlink[[2]int{j, dev.Index}] {
				return nvml.P2P_STATUS_OK, nvml.SUCCESS
			}
			return nvml.P2P_STATUS_NOT_SUPPORTED, nvml.SUCCESS
		}
		dev.GetTopologyCommonAncestorFunc = func(other nvml.Device) (nvml.GpuTopologyLevel, nvml.Return) {
			if other.(*server.Device).Index/4 == dev.Index/4 {
				return nvml.TOPOLOGY_SINGLE, nvml.SUCCESS
			}
			return nvml.TOPOLOGY_SYSTEM, nvml.SUCCESS
		}
		dev.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.lost[uuid] {
				return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST
			}
			var used uint64
			for _, p := range n.procs[uuid] {
				used += p.UsedGpuMemory
			}
			return nvml.Memory{Total: dev.MemoryInfo.Total, Used: used, Free: dev.MemoryInfo.Total - used}, nvml.SUCCESS
		}
		dev.GetComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.procs[uuid], nvml.SUCCESS
		}
		dev.GetMPSComputeRunningProcessesFunc = func() ([]nvml.ProcessInfo, nvml.Return) {
			return nil, nvml.SUCCESS
		}
		dev.GetProcessUtilizationFunc = func(since uint64) ([]nvml.ProcessUtilizationSample, nvml.Return) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.sinceSeen[uuid] = append(n.sinceSeen[uuid], since)
			var out []nvml.ProcessUtilizationSample
			for _, s := range n.samples[uuid] {
				if s.TimeStamp > since {
					out = append(out, s)
				}
			}
			if len(out) == 0 {
				return nil, nvml.ERROR_NOT_FOUND
			}
			return out, nvml.SUCCESS
		}
	}
	return n
}

// device returns the mock card at an index.
func (n *mockNode) device(i int) *server.Device { return n.Devices[i].(*server.Device) }

// setLost makes NVML answer ERROR_GPU_IS_LOST for the card, as for a card off the bus.
func (n *mockNode) setLost(uuid string, lost bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lost[uuid] = lost
}

// discover runs Discover on the mock and fails the test on error.
func (n *mockNode) discover(t *testing.T) []Card {
	t.Helper()
	cards, err := Discover(n)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return cards
}

// quietLogger keeps test output to failures; set GITFLEET_TEST_LOG to see the plugin's logs.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
