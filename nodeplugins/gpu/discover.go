package gpu

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Discover lists the node's cards through an initialised NVML. It returns ErrNoCards (wrapped)
// when NVML answers but sees no GPU, so the caller can idle rather than fail.
func Discover(lib nvml.Interface) ([]Card, error) {
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, &NVMLError{Op: "DeviceGetCount", Ret: ret}
	}
	if count == 0 {
		return nil, fmt.Errorf("discover: %w", ErrNoCards)
	}
	cards := make([]Card, 0, count)
	devs := make([]nvml.Device, 0, count)
	for i := range count {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return nil, &NVMLError{Op: fmt.Sprintf("DeviceGetHandleByIndex(%d)", i), Ret: ret}
		}
		card, err := describe(i, dev)
		if err != nil {
			return nil, err
		}
		cards = append(cards, card)
		devs = append(devs, dev)
	}
	for i := range cards {
		cards[i].Distance = map[string]int{}
		for j := range cards {
			if i != j {
				cards[i].Distance[cards[j].UUID] = distance(devs[i], devs[j])
			}
		}
	}
	return cards, nil
}

// distance is how closely two cards are connected, for picking whole cards that talk to each
// other fastest (the seed's topology-aware allocation). A pair NVML cannot place is left out
// and counts as the farthest.
func distance(a, b nvml.Device) int {
	if status, ret := a.GetP2PStatus(b, nvml.P2P_CAPS_INDEX_NVLINK); ret == nvml.SUCCESS && status == nvml.P2P_STATUS_OK {
		return 0
	}
	level, ret := a.GetTopologyCommonAncestor(b)
	if ret != nvml.SUCCESS {
		return int(nvml.TOPOLOGY_SYSTEM)
	}
	return int(level)
}

// describe reads what the plugin needs of one card. Every field is required: a card whose
// UUID, minor number or memory NVML cannot report cannot be handed to a container safely.
func describe(index int, dev nvml.Device) (Card, error) {
	card := Card{Index: index}
	var ret nvml.Return
	if card.UUID, ret = dev.GetUUID(); ret != nvml.SUCCESS {
		return Card{}, &NVMLError{Op: "GetUUID", Card: fmt.Sprintf("index %d", index), Ret: ret}
	}
	if card.Minor, ret = dev.GetMinorNumber(); ret != nvml.SUCCESS {
		return Card{}, &NVMLError{Op: "GetMinorNumber", Card: card.UUID, Ret: ret}
	}
	mem, ret := dev.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return Card{}, &NVMLError{Op: "GetMemoryInfo", Card: card.UUID, Ret: ret}
	}
	card.MemoryMiB = mem.Total / (1 << 20)
	// Name and bus ID are only for people reading logs: a driver that cannot report them
	// still serves the card.
	if name, ret := dev.GetName(); ret == nvml.SUCCESS {
		card.Name = name
	}
	if pci, ret := dev.GetPciInfo(); ret == nvml.SUCCESS {
		card.PCIBusID = busID(pci)
	}
	if card.MemoryMiB < MemoryUnitMiB {
		return Card{}, fmt.Errorf("GPU %s reports %d MiB of memory, less than one %s unit (%d MiB)",
			card.UUID, card.MemoryMiB, ResourceMemory, MemoryUnitMiB)
	}
	return card, nil
}

// busID turns NVML's fixed-size C string into a Go string.
func busID(pci nvml.PciInfo) string {
	b := make([]byte, 0, len(pci.BusId))
	for _, c := range pci.BusId {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
