package gpu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PreferredPlaced is Preferred for a container whose cards the scheduler extender chose: the
// IDs come from those cards, under the same rules (a share on one card with room for it,
// whole cards entirely free), and a choice the node cannot honour is refused, naming the pod
// and its annotation. Both resources of the container read the same annotation, so memory
// goes to the card of the cores whatever order the kubelet asks in, without the pairing
// window. A nil pl is Preferred.
func (m *Manager) PreferredPlaced(r Resource, available, mustInclude []string, size int, pl *Placement) ([]string, error) {
	if pl == nil {
		return m.Preferred(r, available, mustInclude, size)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	free := m.freeUnits(r, available)
	if len(mustInclude) > 0 {
		free = onlyCardsOf(free, mustInclude)
	}
	cards, err := m.placedCards(r, free, size, pl)
	if err != nil {
		return nil, err
	}
	// The pairing heuristic must not hold the next container to this one's card.
	m.last = nil
	return takeUnits(free, cards, size, r, mustInclude), nil
}

// AllocatePlaced is Allocate for a container whose cards the scheduler extender chose: the
// kubelet's IDs must be on those cards, or the container is refused. A nil pl is Allocate.
func (m *Manager) AllocatePlaced(r Resource, ids []string, pl *Placement) (Grant, error) {
	if pl == nil {
		return m.Allocate(r, ids)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.grant(r, ids)
	if err != nil {
		return Grant{}, err
	}
	m.last = nil
	got := make([]int, len(g.Cards))
	for i, c := range g.Cards {
		got[i] = c.Index
	}
	want := pl.Cards
	if r == ResourceMemory || !g.Whole() || len(pl.Cards) != len(got) {
		// Memory and shares are on the container's one card; whole cards chosen from one
		// seed card must include it.
		want = pl.Cards[:1]
	}
	for _, idx := range want {
		if !slices.Contains(got, idx) {
			return Grant{}, &AllocationError{Resource: r, Units: g.Units, Reason: fmt.Sprintf(
				"the kubelet gave %s, the scheduler extender chose %s for %s", gpuList(got), gpuList(pl.Cards), pl)}
		}
	}
	m.opts.Logger.Info("allocated", "resource", r, "units", g.Units, "gpus", g.UUIDs(), "placement", pl.String())
	return g, nil
}

// placedCards resolves the extender's indexes to cards and checks that size units of r fit
// on them. The caller holds m.mu.
func (m *Manager) placedCards(r Resource, free map[string][]unitID, size int, pl *Placement) ([]string, error) {
	refuse := func(format string, args ...any) error {
		return &AllocationError{Resource: r, Units: size, Reason: fmt.Sprintf(format, args...) + " (" + pl.String() + ")"}
	}
	if size <= 0 {
		return nil, refuse("a request must be at least 1 unit")
	}
	if len(pl.Cards) == 0 {
		return nil, refuse("the scheduler extender named no card")
	}
	uuids := make([]string, len(pl.Cards))
	for i, idx := range pl.Cards {
		c, ok := m.cardAt(idx)
		if !ok {
			return nil, refuse("the scheduler extender chose GPU %d, this node has GPUs 0-%d", idx, len(m.cards)-1)
		}
		uuids[i] = c.UUID
	}
	switch {
	case r == ResourceMemory || size <= CoreUnitsPerCard:
		if r == ResourceCore && len(uuids) > 1 {
			return nil, refuse("a request of 1-100 units stays on one card, the scheduler extender chose %s", gpuList(pl.Cards))
		}
		// Memory of a whole-card container goes to its first card.
		if len(free[uuids[0]]) < size {
			return nil, refuse("the scheduler extender chose GPU %d, which has %s", pl.Cards[0], m.freeOn(r, uuids[0], free))
		}
		return uuids[:1], nil
	case size%CoreUnitsPerCard == 0:
		k := size / CoreUnitsPerCard
		for i, uuid := range uuids {
			if len(free[uuid]) != CoreUnitsPerCard {
				return nil, refuse("whole cards are given whole, and GPU %d that the scheduler extender chose has %s", pl.Cards[i], m.freeOn(r, uuid, free))
			}
		}
		var whole []string
		for _, c := range m.cards {
			if len(free[c.UUID]) == CoreUnitsPerCard {
				whole = append(whole, c.UUID)
			}
		}
		switch {
		case len(uuids) == k:
			return uuids, nil
		case len(uuids) == 1 && len(whole) >= k:
			// One index for several cards: the extender named the first, the plugin adds
			// the best-connected free cards to it, as it does without the extender.
			return m.closestSet(whole, uuids, k), nil
		case len(uuids) == 1:
			return nil, refuse("%d whole cards wanted, %d healthy cards are entirely free (free per card: %s)", k, len(whole), m.describeFree(free))
		default:
			return nil, refuse("%d whole cards wanted, the scheduler extender chose %d (%s)", k, len(uuids), gpuList(pl.Cards))
		}
	default:
		return nil, invalidCoreRequest(size)
	}
}

// freeOn says what is free of r on one card, and why nothing is when the card is unhealthy.
func (m *Manager) freeOn(r Resource, uuid string, free map[string][]unitID) string {
	if reason, bad := m.unhealthy[uuid]; bad {
		return "no free units: it is unhealthy (" + reason + ")"
	}
	unit := "core units"
	if r == ResourceMemory {
		unit = fmt.Sprintf("units of %d MiB", MemoryUnitMiB)
	}
	return fmt.Sprintf("%d free %s", len(free[uuid]), unit)
}

// cardAt returns the card of an NVML index, the index the extender names.
func (m *Manager) cardAt(index int) (Card, bool) {
	for _, c := range m.cards {
		if c.Index == index {
			return c, true
		}
	}
	return Card{}, false
}

func gpuList(indexes []int) string {
	parts := make([]string, len(indexes))
	for i, idx := range indexes {
		parts[i] = strconv.Itoa(idx)
	}
	if len(parts) == 1 {
		return "GPU " + parts[0]
	}
	return "GPUs " + strings.Join(parts, ",")
}
