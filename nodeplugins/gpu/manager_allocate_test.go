package gpu

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/google/go-cmp/cmp"
)

// books is the kubelet's side of allocation: which IDs are still free. Like the kubelet, it
// asks GetPreferredAllocation, then Allocate, then takes the IDs out of the free set.
type books struct {
	free map[Resource][]string
}

func newBooks(cards []Card) *books {
	b := &books{free: map[Resource][]string{}}
	for _, c := range cards {
		for _, r := range []Resource{ResourceCore, ResourceMemory} {
			b.free[r] = append(b.free[r], c.DeviceIDs(r)...)
		}
	}
	return b
}

func (b *books) admit(m *Manager, r Resource, size int) (Grant, error) {
	ids, err := m.Preferred(r, b.free[r], nil, size)
	if err != nil {
		return Grant{}, err
	}
	if len(ids) != size {
		return Grant{}, errors.New("preferred allocation has the wrong size")
	}
	return b.allocate(m, r, ids)
}

func (b *books) allocate(m *Manager, r Resource, ids []string) (Grant, error) {
	g, err := m.Allocate(r, ids)
	if err != nil {
		return Grant{}, err
	}
	b.free[r] = slices.DeleteFunc(b.free[r], func(id string) bool { return slices.Contains(ids, id) })
	return g, nil
}

// units returns n IDs of resource r from card index i, starting at unit from.
func units(cards []Card, i int, r Resource, from, n int) []string {
	return cards[i].DeviceIDs(r)[from : from+n]
}

func TestAllocationRules(t *testing.T) {
	twoA100 := []gpus.Config{gpus.A100_SXM4_40GB, gpus.A100_SXM4_80GB}
	type step struct {
		r    Resource
		size int
		// ids, when set, are handed to Allocate directly, as a kubelet that skipped
		// GetPreferredAllocation would.
		ids       func([]Card) []string
		wantCards []int  // NVML indexes of the cards serving the grant
		wantErr   string // part of the refusal, when the step must be refused
	}
	for _, tc := range []struct {
		name      string
		machine   []gpus.Config
		nvlink    [][2]int
		unhealthy []int
		steps     []step
	}{
		{
			name:    "50 cores stay on one card",
			machine: eightMixed,
			steps:   []step{{r: ResourceCore, size: 50, wantCards: []int{0}}},
		},
		{
			name:    "100 cores are one whole card",
			machine: eightMixed,
			steps:   []step{{r: ResourceCore, size: 100, wantCards: []int{0}}},
		},
		{
			name:    "300 cores are three whole cards",
			machine: eightMixed,
			steps:   []step{{r: ResourceCore, size: 300, wantCards: []int{0, 1, 2}}},
		},
		{
			name:    "250 cores are refused: a whole card plus a share",
			machine: eightMixed,
			steps:   []step{{r: ResourceCore, size: 250, wantErr: "250 mixes whole cards and a share, ask for 200 or 300"}},
		},
		{
			name:    "150 cores handed out by a kubelet without preferred allocation are refused",
			machine: eightMixed,
			steps: []step{{r: ResourceCore, ids: func(c []Card) []string {
				return append(units(c, 0, ResourceCore, 0, 100), units(c, 1, ResourceCore, 0, 50)...)
			}, wantErr: "150 mixes whole cards and a share"}},
		},
		{
			name:    "a share spread over two cards is refused",
			machine: eightMixed,
			steps: []step{{r: ResourceCore, ids: func(c []Card) []string {
				return append(units(c, 0, ResourceCore, 0, 25), units(c, 1, ResourceCore, 0, 25)...)
			}, wantErr: "a request of 1-100 units stays on one card, the kubelet gave units of 2 cards"}},
		},
		{
			name:    "two whole cards must be whole",
			machine: eightMixed,
			steps: []step{{r: ResourceCore, ids: func(c []Card) []string {
				return slices.Concat(units(c, 0, ResourceCore, 0, 100), units(c, 1, ResourceCore, 0, 50), units(c, 2, ResourceCore, 0, 50))
			}, wantErr: "whole cards are given whole, GPU 1"}},
		},
		{
			// Cards 0-3 share one PCIe switch, 4-7 another. With 0-2 partly taken, two
			// whole cards are 4 and 5 (one switch), not 3 and 4 (across the CPUs).
			name:    "whole cards are the best-connected free set",
			machine: eightMixed,
			steps: []step{
				{r: ResourceCore, ids: func(c []Card) []string { return units(c, 0, ResourceCore, 0, 10) }, wantCards: []int{0}},
				{r: ResourceCore, ids: func(c []Card) []string { return units(c, 1, ResourceCore, 0, 10) }, wantCards: []int{1}},
				{r: ResourceCore, ids: func(c []Card) []string { return units(c, 2, ResourceCore, 0, 10) }, wantCards: []int{2}},
				{r: ResourceCore, size: 200, wantCards: []int{4, 5}},
				{r: ResourceCore, size: 200, wantCards: []int{6, 7}},
				{r: ResourceCore, size: 100, wantCards: []int{3}},
			},
		},
		{
			name:    "NVLink beats a shared PCIe switch",
			machine: eightMixed,
			nvlink:  [][2]int{{1, 6}},
			steps:   []step{{r: ResourceCore, size: 200, wantCards: []int{1, 6}}},
		},
		{
			name:    "memory follows the card that serves the cores",
			machine: twoA100,
			steps: []step{
				{r: ResourceCore, size: 100, wantCards: []int{0}}, // another container fills card 0
				{r: ResourceCore, size: 30, wantCards: []int{1}},
				{r: ResourceMemory, size: 20, wantCards: []int{1}},
			},
		},
		{
			name:    "cores follow memory when the kubelet asks for memory first",
			machine: twoA100,
			steps: []step{
				{r: ResourceMemory, size: 200, wantCards: []int{1}}, // 50 GiB: only the 80 GB card has it
				{r: ResourceCore, size: 30, wantCards: []int{1}},
			},
		},
		{
			name:    "cores that cannot follow the memory chosen first are refused",
			machine: twoA100,
			steps: []step{
				{r: ResourceCore, ids: func(c []Card) []string { return units(c, 1, ResourceCore, 0, 80) }, wantCards: []int{1}},
				{r: ResourceCore, size: 50, wantCards: []int{0}},    // a container of cores only
				{r: ResourceMemory, size: 200, wantCards: []int{1}}, // 50 GiB fits only gpu1: not gpu0's cores
				{r: ResourceCore, size: 30, wantErr: "the container's tencent.com/vcuda-memory went to GPU 1, which has 20 free core units"},
				// That container failed admission; the next one is not held to its memory.
				{r: ResourceCore, size: 30, wantCards: []int{0}},
			},
		},
		{
			name:    "memory on another card than the container's cores is refused",
			machine: twoA100,
			steps: []step{
				{r: ResourceCore, size: 30, wantCards: []int{0}},
				{r: ResourceMemory, ids: func(c []Card) []string { return units(c, 1, ResourceMemory, 0, 20) },
					wantErr: "memory follows the card that serves the container's cores"},
			},
		},
		{
			name:    "shares pack onto the fullest card so whole cards stay free",
			machine: eightMixed,
			steps: []step{
				{r: ResourceCore, size: 50, wantCards: []int{0}},
				{r: ResourceCore, size: 30, wantCards: []int{0}},
				{r: ResourceCore, size: 30, wantCards: []int{1}}, // 20 left on card 0
				{r: ResourceCore, size: 100, wantCards: []int{2}},
				{r: ResourceCore, size: 20, wantCards: []int{0}},
			},
		},
		{
			name:    "a share that fits no single card is refused with the free units per card",
			machine: twoA100,
			steps: []step{
				{r: ResourceCore, size: 60, wantCards: []int{0}},
				{r: ResourceCore, size: 60, wantCards: []int{1}},
				{r: ResourceCore, size: 50, wantErr: "no healthy card has 50 free units (free per card: gpu0 40, gpu1 40)"},
			},
		},
		{
			name:    "memory larger than any card is refused",
			machine: oneCard,
			steps:   []step{{r: ResourceMemory, size: 97, wantErr: "no healthy card has 97 free units of 256 MiB (free per card: gpu0 96)"}},
		},
		{
			name:      "an unhealthy card is skipped",
			machine:   twoA100,
			unhealthy: []int{0},
			steps: []step{
				{r: ResourceCore, size: 10, wantCards: []int{1}},
				{r: ResourceCore, size: 200, wantErr: "2 whole cards wanted, 0 healthy cards are entirely free"},
			},
		},
		{
			name:      "an allocation on an unhealthy card is refused",
			machine:   twoA100,
			unhealthy: []int{0},
			steps: []step{{r: ResourceCore, ids: func(c []Card) []string { return units(c, 0, ResourceCore, 0, 10) },
				wantErr: "GPU 0 (" /* its UUID follows */}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := newMockNode(t, tc.machine)
			for _, pair := range tc.nvlink {
				node.nvlink[pair] = true
			}
			cards := node.discover(t)
			m := NewManager(cards, ManagerOptions{PairWindow: DefaultManagerOptions().PairWindow, Logger: quietLogger()})
			for _, i := range tc.unhealthy {
				m.SetHealth(cards[i].UUID, false, "Xid 79 critical error")
			}
			b := newBooks(cards)
			for n, s := range tc.steps {
				var g Grant
				var err error
				if s.ids != nil {
					g, err = b.allocate(m, s.r, s.ids(cards))
				} else {
					g, err = b.admit(m, s.r, s.size)
				}
				if s.wantErr != "" {
					var aerr *AllocationError
					if !errors.As(err, &aerr) || !strings.Contains(err.Error(), s.wantErr) {
						t.Fatalf("step %d (%s): got error %v, want an AllocationError containing %q", n, s.r, err, s.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d (%s %d): %v", n, s.r, s.size, err)
				}
				var got []int
				for _, c := range g.Cards {
					got = append(got, c.Index)
				}
				if diff := cmp.Diff(s.wantCards, got); diff != "" {
					t.Fatalf("step %d (%s %d): cards (-want +got):\n%s", n, s.r, s.size, diff)
				}
			}
		})
	}
}
