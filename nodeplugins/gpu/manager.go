package gpu

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"time"

	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// ManagerOptions tune the resource manager.
type ManagerOptions struct {
	// PairWindow is how long the card chosen for one resource of a container waits for the
	// other resource. The kubelet allocates a container's resources one after the other
	// (GetPreferredAllocation then Allocate, per resource, in map order) within
	// milliseconds; the window only has to cover that, and keeping it short keeps one
	// container's choice from steering the next container's.
	PairWindow time.Duration
	// Logger receives allocation and health decisions.
	Logger *slog.Logger
}

// DefaultManagerOptions returns the options the gitfleet-gpu binary runs with.
func DefaultManagerOptions() ManagerOptions {
	return ManagerOptions{PairWindow: 2 * time.Second, Logger: slog.Default()}
}

// Manager is the resource manager: the node's cards, their health, and the allocation rules
// for tencent.com/vcuda-core and tencent.com/vcuda-memory. Both gRPC servers share one
// Manager so that memory can follow the card that serves a container's cores.
type Manager struct {
	opts   ManagerOptions
	cards  []Card
	byUUID map[string]int

	mu        sync.Mutex
	unhealthy map[string]string // UUID -> why
	watchers  map[chan struct{}]struct{}
	last      *choice
}

// choice is the card(s) the kubelet was given for one resource of the container being
// admitted, so the other resource of the same container follows it.
type choice struct {
	resource Resource
	cards    []string
	at       time.Time
}

// NewManager returns a manager for the cards Discover found, all healthy.
func NewManager(cards []Card, opts ManagerOptions) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{
		opts:      opts,
		cards:     slices.Clone(cards),
		byUUID:    make(map[string]int, len(cards)),
		unhealthy: map[string]string{},
		watchers:  map[chan struct{}]struct{}{},
	}
	for i, c := range m.cards {
		m.byUUID[c.UUID] = i
	}
	return m
}

// Cards returns the node's cards in NVML index order.
func (m *Manager) Cards() []Card { return slices.Clone(m.cards) }

// Card returns the card with the given UUID.
func (m *Manager) Card(uuid string) (Card, bool) {
	i, ok := m.byUUID[uuid]
	if !ok {
		return Card{}, false
	}
	return m.cards[i], true
}

// Health returns whether a card is healthy and, when it is not, why.
func (m *Manager) Health(uuid string) (healthy bool, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	reason, bad := m.unhealthy[uuid]
	return !bad, reason
}

// SetHealth records a card's health and wakes every ListAndWatch stream when it changed.
// It reports whether anything changed.
func (m *Manager) SetHealth(uuid string, healthy bool, reason string) bool {
	if _, ok := m.byUUID[uuid]; !ok {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, bad := m.unhealthy[uuid]
	if bad == !healthy {
		return false
	}
	if healthy {
		delete(m.unhealthy, uuid)
		m.opts.Logger.Info("GPU healthy again", "gpu", uuid)
	} else {
		m.unhealthy[uuid] = reason
		m.opts.Logger.Warn("GPU unhealthy, its units are withdrawn from the kubelet", "gpu", uuid, "reason", reason)
	}
	for ch := range m.watchers {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending; the stream reads the latest state anyway
		}
	}
	return true
}

// Watch returns a channel that receives after every health change, and a function that stops
// the watch.
func (m *Manager) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}
}

// Devices is what ListAndWatch sends for a resource: every unit of every card, Unhealthy
// when its card is.
func (m *Manager) Devices(r Resource) []*pluginapi.Device {
	m.mu.Lock()
	defer m.mu.Unlock()
	var devs []*pluginapi.Device
	for _, c := range m.cards {
		health := pluginapi.Healthy
		if _, bad := m.unhealthy[c.UUID]; bad {
			health = pluginapi.Unhealthy
		}
		for _, id := range c.DeviceIDs(r) {
			devs = append(devs, &pluginapi.Device{ID: id, Health: health})
		}
	}
	return devs
}

// freeUnits groups the kubelet's available IDs of one resource by healthy card, each card's
// IDs in unit order.
func (m *Manager) freeUnits(r Resource, available []string) map[string][]unitID {
	free := map[string][]unitID{}
	for _, id := range available {
		u, err := parseDeviceID(id)
		if err != nil || u.Resource != r {
			continue
		}
		if _, ok := m.byUUID[u.UUID]; !ok {
			continue
		}
		if _, bad := m.unhealthy[u.UUID]; bad {
			continue
		}
		free[u.UUID] = append(free[u.UUID], u)
	}
	for _, units := range free {
		slices.SortFunc(units, func(a, b unitID) int { return cmp.Compare(a.N, b.N) })
	}
	return free
}

// pairedWith returns the fresh choice made for the other resource of the container being
// admitted, if any. The caller holds m.mu.
func (m *Manager) pairedWith(r Resource, now time.Time) *choice {
	if m.last == nil || m.last.resource == r || now.Sub(m.last.at) > m.opts.PairWindow {
		return nil
	}
	return m.last
}
