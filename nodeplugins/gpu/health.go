package gpu

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// HealthOptions tune the health watcher.
type HealthOptions struct {
	// WaitTimeout is how long one NVML event wait blocks. It is also how often unhealthy
	// cards are probed for recovery and how quickly the watcher notices ctx has ended.
	WaitTimeout time.Duration
	// RecoveryQuiet is how long a card must go without a critical event, and answer NVML,
	// before its units are offered again. A card that keeps failing would otherwise flap
	// between healthy and unhealthy and pods would be placed on it in between.
	RecoveryQuiet time.Duration
	// IgnoredXids are Xid errors caused by the application rather than the card (13 graphics
	// engine exception, 31 GPU memory page fault, 43 GPU stopped processing, 45 preemptive
	// cleanup, 68 video processor exception, 109 context switch timeout): one container's
	// bad kernel must not take the card away from the others. NVIDIA's device plugin
	// skips the same list.
	IgnoredXids []uint64
	// Logger receives health changes.
	Logger *slog.Logger
}

// DefaultHealthOptions returns the options the gitfleet-gpu binary runs with.
func DefaultHealthOptions() HealthOptions {
	return HealthOptions{
		WaitTimeout:   5 * time.Second,
		RecoveryQuiet: time.Minute,
		IgnoredXids:   []uint64{13, 31, 43, 45, 68, 109},
		Logger:        slog.Default(),
	}
}

// HealthWatcher marks cards unhealthy on NVML's critical events (Xid errors and double-bit
// ECC errors) and healthy again once they answer and stay quiet.
type HealthWatcher struct {
	lib  nvml.Interface
	mgr  *Manager
	opts HealthOptions
	// lastEvent is when each card last had a critical event; only Run's goroutine uses it.
	lastEvent map[string]time.Time
}

// NewHealthWatcher returns a watcher over an initialised NVML.
func NewHealthWatcher(lib nvml.Interface, mgr *Manager, opts HealthOptions) *HealthWatcher {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &HealthWatcher{lib: lib, mgr: mgr, opts: opts, lastEvent: map[string]time.Time{}}
}

const criticalEvents = nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError

// Run watches until ctx ends. It returns an error only when NVML cannot create an event set
// at all; cards that do not support events are logged and served without health checks.
func (h *HealthWatcher) Run(ctx context.Context) error {
	set, ret := h.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		return &NVMLError{Op: "EventSetCreate", Ret: ret}
	}
	defer set.Free()
	for _, c := range h.mgr.Cards() {
		if err := h.registerCard(set, c); err != nil {
			h.opts.Logger.Warn("GPU health is not watched, its units stay offered", "gpu", c.UUID, "index", c.Index, "err", err)
		}
	}
	lastProbe := time.Now()
	for ctx.Err() == nil {
		data, ret := set.Wait(uint32(h.opts.WaitTimeout.Milliseconds()))
		switch ret {
		case nvml.SUCCESS:
			h.handle(data)
		case nvml.ERROR_TIMEOUT:
		default:
			// A failing wait must not spin: treat it as a timeout.
			h.opts.Logger.Warn("waiting for NVML events failed", "err", &NVMLError{Op: "EventSetWait", Ret: ret})
			select {
			case <-ctx.Done():
			case <-time.After(h.opts.WaitTimeout):
			}
		}
		if time.Since(lastProbe) >= h.opts.WaitTimeout || ret != nvml.SUCCESS {
			h.probeRecovery()
			lastProbe = time.Now()
		}
	}
	return nil
}

func (h *HealthWatcher) registerCard(set nvml.EventSet, c Card) error {
	dev, ret := h.lib.DeviceGetHandleByUUID(c.UUID)
	if ret != nvml.SUCCESS {
		return &NVMLError{Op: "DeviceGetHandleByUUID", Card: c.UUID, Ret: ret}
	}
	supported, ret := dev.GetSupportedEventTypes()
	if ret != nvml.SUCCESS {
		return &NVMLError{Op: "GetSupportedEventTypes", Card: c.UUID, Ret: ret}
	}
	events := supported & criticalEvents
	if events == 0 {
		return fmt.Errorf("GPU %s reports no Xid or ECC events", c.UUID)
	}
	if ret := dev.RegisterEvents(events, set); ret != nvml.SUCCESS {
		return &NVMLError{Op: "RegisterEvents", Card: c.UUID, Ret: ret}
	}
	return nil
}

// handle marks the card of a critical event unhealthy.
func (h *HealthWatcher) handle(e nvml.EventData) {
	if e.EventType&criticalEvents == 0 {
		return
	}
	reason := fmt.Sprintf("double-bit ECC error (code %d)", e.EventData)
	if e.EventType&nvml.EventTypeXidCriticalError != 0 {
		if slices.Contains(h.opts.IgnoredXids, e.EventData) {
			h.opts.Logger.Info("application Xid error, card stays healthy", "xid", e.EventData)
			return
		}
		reason = fmt.Sprintf("Xid %d critical error", e.EventData)
	}
	now := time.Now()
	id, ret := "", nvml.ERROR_UNKNOWN
	if e.Device != nil {
		id, ret = e.Device.GetUUID()
	}
	if ret != nvml.SUCCESS {
		// NVML could not say which card: every card is suspect, as in NVIDIA's plugin.
		for _, c := range h.mgr.Cards() {
			h.lastEvent[c.UUID] = now
			h.mgr.SetHealth(c.UUID, false, reason+" on an unidentified GPU")
		}
		return
	}
	h.lastEvent[id] = now
	h.mgr.SetHealth(id, false, reason)
}

// probeRecovery offers an unhealthy card again once it has been quiet for RecoveryQuiet and
// NVML can read it.
func (h *HealthWatcher) probeRecovery() {
	for _, c := range h.mgr.Cards() {
		if healthy, _ := h.mgr.Health(c.UUID); healthy {
			continue
		}
		if time.Since(h.lastEvent[c.UUID]) < h.opts.RecoveryQuiet {
			continue
		}
		if err := h.answers(c); err != nil {
			h.opts.Logger.Debug("GPU still unhealthy", "gpu", c.UUID, "err", err)
			continue
		}
		h.mgr.SetHealth(c.UUID, true, "")
	}
}

// answers reports whether NVML can still read the card.
func (h *HealthWatcher) answers(c Card) error {
	dev, ret := h.lib.DeviceGetHandleByUUID(c.UUID)
	if ret != nvml.SUCCESS {
		return &NVMLError{Op: "DeviceGetHandleByUUID", Card: c.UUID, Ret: ret}
	}
	if _, ret := dev.GetMemoryInfo(); ret != nvml.SUCCESS {
		return &NVMLError{Op: "GetMemoryInfo", Card: c.UUID, Ret: ret}
	}
	return nil
}
