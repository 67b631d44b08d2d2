package gpu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Resource is one of the two extended resources the plugin advertises.
type Resource string

const (
	// ResourceCore is a share of a card's streaming multiprocessors: 100 units are one card.
	ResourceCore Resource = "tencent.com/vcuda-core"
	// ResourceMemory is card memory in units of MemoryUnitMiB.
	ResourceMemory Resource = "tencent.com/vcuda-memory"
)

const (
	// CoreUnitsPerCard is the seed's rule: each physical card is 100 vcuda-core units.
	CoreUnitsPerCard = 100
	// MemoryUnitMiB is the seed's rule: one vcuda-memory unit is 256 MiB.
	MemoryUnitMiB = 256
)

// Card is one physical GPU as NVML reported it at start.
type Card struct {
	// Index is NVML's index, which is also the gpuN label of the metrics.
	Index int
	// Minor is the minor number of /dev/nvidiaN.
	Minor int
	// UUID is what NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES name.
	UUID string
	// Name is the product name, for logs and /usage.
	Name string
	// MemoryMiB is the card's total memory.
	MemoryMiB uint64
	// PCIBusID is for logs: it is what `nvidia-smi` and the kernel's Xid messages print.
	PCIBusID string
	// Distance to each other card, by UUID: 0 for NVLink (or the same board), then NVML's
	// PCIe topology levels (10 one switch, 20 several switches, 30 one host bridge, 40 one
	// NUMA node, 50 across CPUs). Whole cards for one container are the closest set.
	Distance map[string]int
}

// distanceTo is the distance to another card; a pair NVML could not place is the farthest.
func (c Card) distanceTo(uuid string) int {
	if d, ok := c.Distance[uuid]; ok {
		return d
	}
	return int(nvml.TOPOLOGY_SYSTEM)
}

// Units is how many device IDs of a resource the card advertises.
func (c Card) Units(r Resource) int {
	if r == ResourceMemory {
		return int(c.MemoryMiB / MemoryUnitMiB)
	}
	return CoreUnitsPerCard
}

// DeviceID names unit n of resource r on the card. The kubelet only sees opaque IDs; encoding
// the card in them keeps the kubelet's own bookkeeping (which IDs a pod holds, which are free)
// per card, so the plugin needs no state of its own to survive a restart.
func (c Card) DeviceID(r Resource, n int) string {
	if r == ResourceMemory {
		return fmt.Sprintf("%s_mem%d", c.UUID, n)
	}
	return fmt.Sprintf("%s_core%d", c.UUID, n)
}

// DeviceIDs lists every unit of resource r on the card.
func (c Card) DeviceIDs(r Resource) []string {
	ids := make([]string, c.Units(r))
	for i := range ids {
		ids[i] = c.DeviceID(r, i)
	}
	return ids
}

// unitID is a parsed device ID.
type unitID struct {
	UUID     string
	Resource Resource
	N        int
}

// parseDeviceID reads what DeviceID wrote.
func parseDeviceID(id string) (unitID, error) {
	i := strings.LastIndexByte(id, '_')
	if i <= 0 {
		return unitID{}, &DeviceIDError{ID: id}
	}
	uuid, unit := id[:i], id[i+1:]
	var r Resource
	var num string
	switch {
	case strings.HasPrefix(unit, "core"):
		r, num = ResourceCore, strings.TrimPrefix(unit, "core")
	case strings.HasPrefix(unit, "mem"):
		r, num = ResourceMemory, strings.TrimPrefix(unit, "mem")
	default:
		return unitID{}, &DeviceIDError{ID: id}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return unitID{}, &DeviceIDError{ID: id}
	}
	return unitID{UUID: uuid, Resource: r, N: n}, nil
}
