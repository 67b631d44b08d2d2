package reconciler

import (
	"slices"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/reconciler/view"
	"gitfleet.dev/gitfleet/schema"
)

// The loop is the web view's source: the view reads snapshots of what the loop knows and
// waits on its change channel; it never reaches into the loop.
var _ view.Source = (*Loop)(nil)

// Bounds of what the loop keeps for the view: enough for a person to see what happened
// lately, bounded so that a server running for months does not grow.
const (
	maxViewDrift     = 200
	maxViewRevisions = 30
)

// viewHistory is what the view shows beyond the status files: the drift seen with its
// time, and the revisions tried with what each pass did. The loop holds l.mu around it.
type viewHistory struct {
	leading bool
	updated time.Time
	// notify is closed at the next change, then replaced.
	notify    chan struct{}
	driftLog  []view.DriftEvent
	revisions []view.RevisionRecord
	// fleetOf caches view.FleetOf of the repository it was made from: the repository
	// changes once a revision, snapshots are taken once a page view.
	fleetOf   *schema.Repo
	fleetView view.Fleet
}

func newViewHistory() viewHistory { return viewHistory{notify: make(chan struct{})} }

// drift records a drift reported, corrected or resolved.
func (h *viewHistory) drift(at time.Time, c driftChange, revision string) {
	e := view.DriftEvent{At: at, Cluster: c.Cluster, Revision: revision, Drift: c.Drift, Resolved: c.Resolved}
	h.driftLog = slices.Insert(h.driftLog, 0, e)
	if len(h.driftLog) > maxViewDrift {
		h.driftLog = h.driftLog[:maxViewDrift]
	}
}

// pass records what a pass over revision did. A pass over a revision already listed
// (an interval pass, a retry) updates the rows of the clusters it applied when it changed
// something or its phase differs, so that the list keeps saying what the commit did
// rather than "unchanged" after the next interval.
func (h *viewHistory) pass(at time.Time, revision string, outcome Outcome, results []ClusterResult, clusters []status.Cluster) {
	phase := map[string]string{}
	for _, c := range clusters {
		phase[c.Cluster] = string(c.Phase)
	}
	i := slices.IndexFunc(h.revisions, func(r view.RevisionRecord) bool { return r.Revision == revision })
	if i < 0 {
		h.revisions = slices.Insert(h.revisions, 0, view.RevisionRecord{Revision: revision, At: at})
		if len(h.revisions) > maxViewRevisions {
			h.revisions = h.revisions[:maxViewRevisions]
		}
		i = 0
	}
	rec := &h.revisions[i]
	rec.Outcome, rec.Error = string(outcome), ""
	for _, r := range results {
		n := r.Counts()
		row := view.RevisionCluster{Cluster: r.Cluster, Created: n.Created, Configured: n.Configured, Unchanged: n.Unchanged, Pruned: n.Pruned,
			Phase: phase[r.Cluster], Errors: len(r.Errors())}
		j := slices.IndexFunc(rec.Clusters, func(c view.RevisionCluster) bool { return c.Cluster == r.Cluster })
		switch {
		case j < 0:
			rec.Clusters = append(rec.Clusters, row)
		case row.Created+row.Configured+row.Pruned > 0 || row.Phase != rec.Clusters[j].Phase || row.Errors != rec.Clusters[j].Errors:
			rec.Clusters[j] = row
		}
	}
	slices.SortFunc(rec.Clusters, func(a, b view.RevisionCluster) int {
		if a.Cluster < b.Cluster {
			return -1
		}
		if a.Cluster > b.Cluster {
			return 1
		}
		return 0
	})
}

// invalid records a revision that does not validate.
func (h *viewHistory) invalid(at time.Time, revision, why string) {
	if i := slices.IndexFunc(h.revisions, func(r view.RevisionRecord) bool { return r.Revision == revision }); i >= 0 {
		h.revisions[i].Outcome, h.revisions[i].Error = string(OutcomeInvalid), why
		return
	}
	h.revisions = slices.Insert(h.revisions, 0, view.RevisionRecord{Revision: revision, At: at, Outcome: string(OutcomeInvalid), Error: why})
	if len(h.revisions) > maxViewRevisions {
		h.revisions = h.revisions[:maxViewRevisions]
	}
}

// changed wakes whoever waits on Changed.
func (l *Loop) changed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen.updated = time.Now()
	close(l.seen.notify)
	l.seen.notify = make(chan struct{})
}

// Changed returns a channel closed at the loop's next change of state.
func (l *Loop) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen.notify
}

// Snapshot returns what the loop knows now, for the web view. The slices are copies
// (the loop replaces the clusters' drift lists in place); their elements' own slices
// are never modified by the loop, only replaced, so sharing them is safe.
func (l *Loop) Snapshot() view.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen.fleetOf != l.repo {
		l.seen.fleetOf, l.seen.fleetView = l.repo, view.FleetOf(l.repo)
	}
	return view.State{
		Leading:    l.seen.leading,
		Revision:   l.applied,
		Head:       l.head,
		Updated:    l.seen.updated,
		Clusters:   slices.Clone(l.last),
		Businesses: slices.Clone(l.lastBusiness),
		Fleet:      l.seen.fleetView,
		DriftLog:   slices.Clone(l.seen.driftLog),
		Revisions:  cloneRevisions(l.seen.revisions),
		Rollouts:   l.rollouts.statuses(),
	}
}

// cloneRevisions copies the records and their cluster rows, which pass updates in place.
func cloneRevisions(in []view.RevisionRecord) []view.RevisionRecord {
	out := slices.Clone(in)
	for i := range out {
		out[i].Clusters = slices.Clone(out[i].Clusters)
	}
	return out
}
