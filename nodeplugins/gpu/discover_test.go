package gpu

import (
	"errors"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/google/go-cmp/cmp"
)

func TestDiscover(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cards      []gpus.Config
		wantMiB    []uint64
		wantMemIDs []int // vcuda-memory units per card
	}{
		{name: "no cards", cards: noCards},
		{name: "one A30", cards: oneCard, wantMiB: []uint64{24576}, wantMemIDs: []int{96}},
		{
			name:       "eight cards of four sizes",
			cards:      eightMixed,
			wantMiB:    []uint64{40960, 40960, 81920, 81920, 81920, 81920, 24576, 144384},
			wantMemIDs: []int{160, 160, 320, 320, 320, 320, 96, 564},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := newMockNode(t, tc.cards)
			cards, err := Discover(node)
			if len(tc.cards) == 0 {
				if !errors.Is(err, ErrNoCards) {
					t.Fatalf("Discover on a node without GPUs: got %v, want ErrNoCards", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			var gotMiB []uint64
			var gotMemIDs []int
			for i, c := range cards {
				if c.Index != i || c.Minor != i || c.UUID != node.device(i).UUID || c.Name != tc.cards[i].Name {
					t.Errorf("card %d = %+v, want index/minor %d, UUID %s, name %q", i, c, i, node.device(i).UUID, tc.cards[i].Name)
				}
				if got := len(c.DeviceIDs(ResourceCore)); got != CoreUnitsPerCard {
					t.Errorf("card %d advertises %d vcuda-core units, want 100", i, got)
				}
				gotMiB = append(gotMiB, c.MemoryMiB)
				gotMemIDs = append(gotMemIDs, len(c.DeviceIDs(ResourceMemory)))
			}
			if diff := cmp.Diff(tc.wantMiB, gotMiB); diff != "" {
				t.Errorf("memory per card (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMemIDs, gotMemIDs); diff != "" {
				t.Errorf("vcuda-memory units per card (-want +got):\n%s", diff)
			}
			if len(cards) == 8 {
				if d := cards[0].Distance; d[cards[1].UUID] != 10 || d[cards[4].UUID] != 50 || len(d) != 7 {
					t.Errorf("gpu0's distances = %v, want 10 to gpu1 (one PCIe switch), 50 to gpu4 (across CPUs), 7 cards", d)
				}
			}
		})
	}
}

// A card whose UUID NVML cannot read must fail discovery, naming the card, rather than be
// advertised under an empty name.
func TestDiscoverFailingCard(t *testing.T) {
	node := newMockNode(t, eightMixed)
	node.device(3).GetUUIDFunc = func() (string, nvml.Return) { return "", nvml.ERROR_UNKNOWN }
	_, err := Discover(node)
	var nerr *NVMLError
	if !errors.As(err, &nerr) || nerr.Op != "GetUUID" || nerr.Card != "index 3" || !errors.Is(err, nvml.ERROR_UNKNOWN) {
		t.Fatalf("Discover with a failing card: got %v, want an NVMLError for GetUUID on index 3", err)
	}
}

func TestDeviceIDRoundTrip(t *testing.T) {
	c := Card{UUID: "GPU-0b6a1f64-2e1c-4a7b-9d3e-5f1f6c2f9a10", MemoryMiB: 1024}
	for _, r := range []Resource{ResourceCore, ResourceMemory} {
		for _, n := range []int{0, 3, c.Units(r) - 1} {
			id := c.DeviceID(r, n)
			got, err := parseDeviceID(id)
			if err != nil || got != (unitID{UUID: c.UUID, Resource: r, N: n}) {
				t.Errorf("parseDeviceID(%q) = %+v, %v", id, got, err)
			}
		}
	}
	for _, bad := range []string{"", "GPU-x", "GPU-x_gpu3", "GPU-x_core", "GPU-x_core-1", "_core1"} {
		if _, err := parseDeviceID(bad); err == nil {
			t.Errorf("parseDeviceID(%q) accepted a foreign ID", bad)
		}
	}
}
