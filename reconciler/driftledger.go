package reconciler

import (
	"sort"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// driftLedger is what the loop knows of drift per cluster: the open reports of alert-only
// Apps (objects that differ from the repository and are left so), which stay until the
// object matches again, and the corrections made since the applied revision, a bounded
// history. It is not safe for concurrent use; the loop holds its lock.
type driftLedger struct {
	open      map[string]map[string]openDrift // cluster -> object -> report
	corrected map[string][]status.Drift
}

// openDrift is an open report and when it was first seen.
type openDrift struct {
	status.Drift
	since time.Time
}

// driftChange is a report opened or closed, for notifications.
type driftChange struct {
	Cluster string
	status.Drift
	// Resolved: the object matches again; Since is when it was first reported.
	Resolved bool
	Since    time.Time
}

func newDriftLedger() *driftLedger {
	return &driftLedger{open: map[string]map[string]openDrift{}, corrected: map[string][]status.Drift{}}
}

// seed takes the open reports a status file recorded (a restart, a new leader), so that
// drift reported before is not notified again, and is closed when it is fixed.
func (l *driftLedger) seed(cluster string, recorded []status.Drift) {
	if _, known := l.open[cluster]; known {
		return
	}
	m := map[string]openDrift{}
	for _, d := range recorded {
		if d.Action == DriftReported {
			m[d.Object] = openDrift{Drift: d}
		}
	}
	l.open[cluster] = m
}

// report opens a report of d; it returns the change when the report is new.
func (l *driftLedger) report(cluster string, d status.Drift, at time.Time) (driftChange, bool) {
	m := l.open[cluster]
	if m == nil {
		m = map[string]openDrift{}
		l.open[cluster] = m
	}
	if old, ok := m[d.Object]; ok && old.Change == d.Change {
		return driftChange{}, false
	}
	m[d.Object] = openDrift{Drift: d, since: at}
	return driftChange{Cluster: cluster, Drift: d}, true
}

// resolve closes the report of object, if there is one.
func (l *driftLedger) resolve(cluster, object string) (driftChange, bool) {
	old, ok := l.open[cluster][object]
	if !ok {
		return driftChange{}, false
	}
	delete(l.open[cluster], object)
	return driftChange{Cluster: cluster, Drift: old.Drift, Resolved: true, Since: old.since}, true
}

// applied brings a cluster's open reports in line with what an apply found: each App it
// checked (checked[app]) has exactly the held objects open now; the reports of Apps it did
// not reach stay as they were.
func (l *driftLedger) applied(cluster string, checked map[string]bool, held []status.Drift, at time.Time) []driftChange {
	var changes []driftChange
	now := map[string]bool{}
	for _, d := range held {
		now[d.Object] = true
		if c, ok := l.report(cluster, d, at); ok {
			changes = append(changes, c)
		}
	}
	for object, d := range l.open[cluster] {
		if checked[d.App] && !now[object] {
			if c, ok := l.resolve(cluster, object); ok {
				changes = append(changes, c)
			}
		}
	}
	return changes
}

// correct records a correction, the newest maxDriftInStatus kept.
func (l *driftLedger) correct(cluster string, d status.Drift) {
	list := append(l.corrected[cluster], d)
	if len(list) > maxDriftInStatus {
		list = list[len(list)-maxDriftInStatus:]
	}
	l.corrected[cluster] = list
}

// newRevision forgets the corrections: they are history of the revision before.
func (l *driftLedger) newRevision() { l.corrected = map[string][]status.Drift{} }

// forget drops a cluster that left the fleet.
func (l *driftLedger) forget(cluster string) {
	delete(l.open, cluster)
	delete(l.corrected, cluster)
}

// list is a cluster's drift for its status file: the open reports by object, then the
// corrections in the order they were made, at most maxDriftInStatus in all.
func (l *driftLedger) list(cluster string) []status.Drift {
	var out []status.Drift
	for _, d := range l.open[cluster] {
		out = append(out, d.Drift)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object < out[j].Object })
	out = append(out, l.corrected[cluster]...)
	if len(out) > maxDriftInStatus {
		out = out[:maxDriftInStatus]
	}
	return out
}

// openCount is the number of open reports per App of a cluster, for the metric.
func (l *driftLedger) openCount(cluster string) map[string]int {
	n := map[string]int{}
	for _, d := range l.open[cluster] {
		n[d.App]++
	}
	return n
}
