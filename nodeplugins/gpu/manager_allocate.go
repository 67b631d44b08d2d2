package gpu

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Grant is what the kubelet gave one container of one resource, checked against the seed's
// rules. It is the single input of the Allocate response, the annotations and the metrics.
type Grant struct {
	Resource Resource
	// Units is the number of device IDs: vcuda-core units or 256 MiB vcuda-memory units.
	Units int
	// Cards serve the grant, in NVML index order: one for a share, k for k whole cards.
	Cards []Card
	// DeviceIDs are the kubelet's IDs, sorted.
	DeviceIDs []string
}

// Whole reports whether the grant is whole cards, which a container gets exclusively and
// without MPS.
func (g Grant) Whole() bool {
	return g.Resource == ResourceCore && g.Units%CoreUnitsPerCard == 0
}

// MemoryMiB is the memory a vcuda-memory grant allows.
func (g Grant) MemoryMiB() uint64 {
	if g.Resource != ResourceMemory {
		return 0
	}
	return uint64(g.Units) * MemoryUnitMiB
}

// UUIDs lists the grant's cards by UUID.
func (g Grant) UUIDs() []string {
	out := make([]string, len(g.Cards))
	for i, c := range g.Cards {
		out[i] = c.UUID
	}
	return out
}

// AllocationID names a container's vcuda-core grant. The plugin puts it in the container's
// environment and computes it again from the pod-resources API's device IDs, so the metrics
// can tell which container a GPU process belongs to without keeping state of their own.
func AllocationID(coreDeviceIDs []string) string {
	ids := slices.Clone(coreDeviceIDs)
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, ",")))
	return hex.EncodeToString(sum[:8])
}

// Preferred answers GetPreferredAllocation for one container: which size IDs, out of the
// kubelet's available ones and including mustInclude, the container should get. A share of
// 1-100 core units goes to one card (the fullest one it fits, so whole cards stay free);
// whole cards are cards with all 100 units free; memory goes to the card the container's
// cores went to when the kubelet asked for cores first.
func (m *Manager) Preferred(r Resource, available, mustInclude []string, size int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	free := m.freeUnits(r, available)
	if len(mustInclude) > 0 {
		free = onlyCardsOf(free, mustInclude)
	}
	pair := m.pairedWith(r, time.Now())
	var cards []string
	var err error
	switch r {
	case ResourceCore:
		cards, err = m.pickCoreCards(free, size, pair)
	case ResourceMemory:
		cards, err = m.pickMemoryCard(free, size, pair)
	default:
		return nil, fmt.Errorf("unknown resource %q", r)
	}
	if err != nil {
		// The container fails admission: its other resource's choice binds nobody now.
		m.last = nil
		return nil, err
	}
	if pair != nil && !slices.Contains(cards, pair.cards[0]) && !slices.Contains(pair.cards, cards[0]) {
		// The other resource's card has no room: that choice was not this container's
		// (or cannot be honoured); forget it so Allocate does not hold this one to it.
		m.last = nil
	}
	return takeUnits(free, cards, size, r, mustInclude), nil
}

// pickCoreCards chooses the card(s) for size core units.
func (m *Manager) pickCoreCards(free map[string][]unitID, size int, pair *choice) ([]string, error) {
	switch {
	case size <= 0:
		return nil, &AllocationError{Resource: ResourceCore, Units: size, Reason: "a request must be at least 1 unit"}
	case size <= CoreUnitsPerCard:
		var fits []string
		for _, c := range m.cards {
			if len(free[c.UUID]) >= size {
				fits = append(fits, c.UUID)
			}
		}
		if len(fits) == 0 {
			return nil, &AllocationError{Resource: ResourceCore, Units: size, Reason: fmt.Sprintf(
				"a request of 1-100 units must fit on one card, and no healthy card has %d free units (free per card: %s)",
				size, m.describeFree(free))}
		}
		if pair != nil {
			if !slices.Contains(fits, pair.cards[0]) {
				return nil, m.coresDoNotFollow(pair, size, free)
			}
			return pair.cards[:1], nil
		}
		// Best fit: the fullest card that still fits, lowest index on ties.
		best := slices.MinFunc(fits, func(a, b string) int {
			return cmp.Or(cmp.Compare(len(free[a]), len(free[b])), cmp.Compare(m.byUUID[a], m.byUUID[b]))
		})
		return []string{best}, nil
	case size%CoreUnitsPerCard == 0:
		var whole []string
		for _, c := range m.cards {
			if len(free[c.UUID]) == CoreUnitsPerCard {
				whole = append(whole, c.UUID)
			}
		}
		k := size / CoreUnitsPerCard
		if len(whole) < k {
			return nil, &AllocationError{Resource: ResourceCore, Units: size, Reason: fmt.Sprintf(
				"%d whole cards wanted, %d healthy cards are entirely free (free per card: %s)", k, len(whole), m.describeFree(free))}
		}
		seeds := whole
		if pair != nil {
			if !slices.Contains(whole, pair.cards[0]) {
				return nil, m.coresDoNotFollow(pair, size, free)
			}
			// The card the container's memory went to is one of them.
			seeds = pair.cards[:1]
		}
		return m.closestSet(whole, seeds, k), nil
	default:
		return nil, invalidCoreRequest(size)
	}
}

// coresDoNotFollow refuses cores that cannot go where the container's memory went. Memory
// chosen just before cores is this container's (nobody asks for memory without cores), so
// the cores must follow it rather than land elsewhere.
func (m *Manager) coresDoNotFollow(pair *choice, size int, free map[string][]unitID) error {
	c := m.cards[m.byUUID[pair.cards[0]]]
	return &AllocationError{Resource: ResourceCore, Units: size, Reason: fmt.Sprintf(
		"the container's %s went to GPU %d, which has %d free core units; cores and memory stay on one card",
		ResourceMemory, c.Index, len(free[c.UUID]))}
}

// pickMemoryCard chooses the card for size memory units.
func (m *Manager) pickMemoryCard(free map[string][]unitID, size int, pair *choice) ([]string, error) {
	if size <= 0 {
		return nil, &AllocationError{Resource: ResourceMemory, Units: size, Reason: "a request must be at least 1 unit"}
	}
	var fits []string
	for _, c := range m.cards {
		if len(free[c.UUID]) >= size {
			fits = append(fits, c.UUID)
		}
	}
	if len(fits) == 0 {
		return nil, &AllocationError{Resource: ResourceMemory, Units: size, Reason: fmt.Sprintf(
			"memory stays on one card, and no healthy card has %d free units of %d MiB (free per card: %s)",
			size, MemoryUnitMiB, m.describeFree(free))}
	}
	if pair != nil {
		// Cores chosen just before may be this container's or an earlier container's that
		// asked for cores only: follow them when the memory fits, otherwise the choice was
		// not this container's (Preferred then forgets it).
		for _, uuid := range pair.cards {
			if slices.Contains(fits, uuid) {
				return []string{uuid}, nil
			}
		}
	}
	// The kubelet asked for memory first: the cores will follow, so take the card with the
	// most free memory, which is the one with the fewest shares on it and so most likely
	// to have the cores too.
	most := slices.MaxFunc(fits, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(free[a]), len(free[b])), cmp.Compare(m.byUUID[b], m.byUUID[a]))
	})
	return []string{most}, nil
}

// Allocate checks the IDs the kubelet chose for one container against the seed's rules and
// returns the grant. A request the rules refuse fails here, with a reason the pod's events
// show, rather than running with a share nobody enforces.
func (m *Manager) Allocate(r Resource, ids []string) (Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.grant(r, ids)
	if err != nil {
		return Grant{}, err
	}
	now := time.Now()
	if pair := m.pairedWith(r, now); pair != nil {
		if err := checkFollows(g, pair); err != nil {
			m.last = nil // the container fails admission, see Preferred
			return Grant{}, err
		}
		m.last = nil // both resources of the container are placed
	} else {
		m.last = &choice{resource: r, cards: g.UUIDs(), at: now}
	}
	m.opts.Logger.Info("allocated", "resource", r, "units", g.Units, "gpus", g.UUIDs())
	return g, nil
}

// grant builds the grant of ids and checks it against the seed's rules. The caller holds m.mu.
func (m *Manager) grant(r Resource, ids []string) (Grant, error) {
	g := Grant{Resource: r, Units: len(ids), DeviceIDs: slices.Sorted(slices.Values(ids))}
	perCard := map[string]int{}
	for _, id := range ids {
		u, err := parseDeviceID(id)
		if err != nil {
			return Grant{}, err
		}
		if u.Resource != r {
			return Grant{}, &AllocationError{Resource: r, Units: len(ids), Reason: fmt.Sprintf("device ID %q is a %s unit", id, u.Resource)}
		}
		if _, ok := m.byUUID[u.UUID]; !ok {
			return Grant{}, &AllocationError{Resource: r, Units: len(ids), Reason: fmt.Sprintf("GPU %s (from device ID %q) is not on this node", u.UUID, id)}
		}
		perCard[u.UUID]++
	}
	for _, c := range m.cards {
		if perCard[c.UUID] == 0 {
			continue
		}
		if reason, bad := m.unhealthy[c.UUID]; bad {
			return Grant{}, &AllocationError{Resource: r, Units: len(ids), Reason: fmt.Sprintf("GPU %d (%s) is unhealthy: %s", c.Index, c.UUID, reason)}
		}
		g.Cards = append(g.Cards, c)
	}
	if err := checkShape(g, perCard); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// checkShape applies the seed's rules to the IDs of one container.
func checkShape(g Grant, perCard map[string]int) error {
	switch {
	case g.Units == 0:
		return &AllocationError{Resource: g.Resource, Units: 0, Reason: "no device IDs"}
	case g.Resource == ResourceMemory && len(g.Cards) > 1:
		return &AllocationError{Resource: g.Resource, Units: g.Units, Reason: fmt.Sprintf(
			"memory stays on the one card that serves the container's cores, the kubelet gave units of %d cards", len(g.Cards))}
	case g.Resource == ResourceMemory:
		return nil
	case g.Units <= CoreUnitsPerCard && len(g.Cards) > 1:
		return &AllocationError{Resource: g.Resource, Units: g.Units, Reason: fmt.Sprintf(
			"a request of 1-100 units stays on one card, the kubelet gave units of %d cards", len(g.Cards))}
	case g.Units%CoreUnitsPerCard != 0 && g.Units > CoreUnitsPerCard:
		return invalidCoreRequest(g.Units)
	case g.Units%CoreUnitsPerCard == 0:
		for _, c := range g.Cards {
			if perCard[c.UUID] != CoreUnitsPerCard {
				return &AllocationError{Resource: g.Resource, Units: g.Units, Reason: fmt.Sprintf(
					"whole cards are given whole, GPU %d (%s) would be split (%d of its 100 units)", c.Index, c.UUID, perCard[c.UUID])}
			}
		}
	}
	return nil
}

// checkFollows holds the second resource of a container to the card of the first.
func checkFollows(g Grant, pair *choice) error {
	mine := g.UUIDs()
	if slices.Contains(pair.cards, mine[0]) || slices.Contains(mine, pair.cards[0]) {
		return nil
	}
	return &AllocationError{Resource: g.Resource, Units: g.Units, Reason: fmt.Sprintf(
		"memory follows the card that serves the container's cores: %s is on %s, %s on %s",
		g.Resource, strings.Join(mine, ","), pair.resource, strings.Join(pair.cards, ","))}
}

func invalidCoreRequest(size int) error {
	return &AllocationError{Resource: ResourceCore, Units: size, Reason: fmt.Sprintf(
		"a request is 1-100 units (a share of one card) or a multiple of 100 (whole cards); %d mixes whole cards and a share, ask for %d or %d",
		size, size/CoreUnitsPerCard*CoreUnitsPerCard, (size/CoreUnitsPerCard+1)*CoreUnitsPerCard)}
}

// takeUnits returns size IDs from the chosen cards, mustInclude first.
func takeUnits(free map[string][]unitID, cards []string, size int, r Resource, mustInclude []string) []string {
	out := slices.Clone(mustInclude)
	for _, uuid := range cards {
		for _, u := range free[uuid] {
			if len(out) >= size {
				return out
			}
			id := Card{UUID: uuid}.DeviceID(r, u.N)
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// onlyCardsOf keeps the cards that hold one of ids.
func onlyCardsOf(free map[string][]unitID, ids []string) map[string][]unitID {
	keep := map[string][]unitID{}
	for _, id := range ids {
		if u, err := parseDeviceID(id); err == nil {
			keep[u.UUID] = free[u.UUID]
		}
	}
	return keep
}

// describeFree prints free units per card for an error message.
func (m *Manager) describeFree(free map[string][]unitID) string {
	parts := make([]string, 0, len(m.cards))
	for _, c := range m.cards {
		parts = append(parts, fmt.Sprintf("gpu%d %d", c.Index, len(free[c.UUID])))
	}
	return strings.Join(parts, ", ")
}

// closestSet picks k of the candidate cards that are best connected to each other: from each
// seed, it adds the candidate closest to those already picked, and keeps the set with the
// smallest sum of pairwise distances (the lowest card indexes on ties).
func (m *Manager) closestSet(candidates, seeds []string, k int) []string {
	var best []string
	bestScore := 0
	for _, seed := range seeds {
		set := []string{seed}
		score := 0
		for len(set) < k {
			next, nextCost := "", 0
			for _, c := range candidates {
				if slices.Contains(set, c) {
					continue
				}
				cost := 0
				for _, s := range set {
					cost += m.cards[m.byUUID[s]].distanceTo(c)
				}
				if next == "" || cost < nextCost {
					next, nextCost = c, cost
				}
			}
			set = append(set, next)
			score += nextCost
		}
		if best == nil || score < bestScore {
			best, bestScore = set, score
		}
	}
	slices.SortFunc(best, func(a, b string) int { return cmp.Compare(m.byUUID[a], m.byUUID[b]) })
	return best
}
