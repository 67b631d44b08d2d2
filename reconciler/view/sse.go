package view

import (
	"fmt"
	"net/http"
	"time"
)

// serveEvents is the live-update stream (server-sent events): an event "change", with
// the applied revision as data, each time the loop's state changes, and a comment at each
// heartbeat so that proxies keep an idle stream open. The stream carries no state itself:
// a page fetches itself again on "change", so the stream needs no format of its own.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx would otherwise hold the events back.
	// A stream outlives any write deadline the server sets for pages.
	_ = rc.SetWriteDeadline(time.Time{})
	changed := h.opts.Source.Changed()
	// retry: how long a browser waits before reconnecting after the server went away.
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		h.opts.Log.Error(err, "view events: the response cannot stream")
		return
	}
	heartbeat := h.opts.Heartbeat
	if heartbeat <= 0 {
		heartbeat = DefaultOptions().Heartbeat
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
		case <-changed:
			// Wait out the minimum interval, then take the state as it is by then: a burst
			// of changes is one event.
			if wait := h.opts.MinUpdateInterval - time.Since(last); wait > 0 {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(wait):
				}
			}
			changed = h.opts.Source.Changed()
			last = time.Now()
			if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", h.opts.Source.Snapshot().Revision); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
