package reconciler

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// record keeps what a pass did: one error line per failure, the drift reports, the retry
// back-off, each cluster's status (for the revision it tried, errors cleared when it
// succeeds), and the status commit; it returns the pass's outcome.
func (l *Loop) record(src sourceState, repo *schema.Repo, results []ClusterResult, work passWork, removed []string) Outcome {
	log := l.opts.Apply.Log.WithValues("revision", short(src.revision))
	outcome := passOutcome(results)
	for _, r := range results {
		logFailures(log, r)
	}
	if l.opts.WaitForMachines {
		l.checkMachines(l.ctx, repo)
	}
	recorded := status.ReadClusters(src.files)
	clusters := make([]status.Cluster, len(results))
	for i, r := range results {
		var prev *status.Cluster
		if s, ok := recorded[r.Cluster]; ok {
			prev = &s
		}
		clusters[i] = ClusterStatus(r, src.revision, prev)
	}
	l.withMachines(machines.FactsFromStatus(src.files), clusters)

	now := time.Now()
	l.mu.Lock()
	for i := range clusters {
		for j := range clusters[i].Apps {
			a := &clusters[i].Apps[j]
			a.Revision = l.rollouts.appRevision(a.Name, clusters[i].Cluster, src.revision)
		}
	}
	if work.newRevision && src.revision != l.applied {
		l.drift.newRevision() // corrections are history of the revision before.
	}
	var changes []driftChange
	for name, s := range recorded {
		l.drift.seed(name, s.Drift)
	}
	for i, r := range results {
		checked, held := map[string]bool{}, []status.Drift(nil)
		if r.Err == nil {
			for _, a := range r.Apps {
				if a.Err == nil {
					checked[a.App] = true
					held = append(held, a.Drift...)
				}
			}
		}
		changes = append(changes, l.drift.applied(r.Cluster, checked, held, now)...)
		clusters[i].Drift = l.drift.list(r.Cluster)
		l.opts.Metrics.openDrift(r.Cluster, slices.Collect(maps.Keys(checked)), l.drift.openCount(r.Cluster))
		l.noteBackoff(r, now)
	}
	for _, name := range removed {
		l.drift.forget(name)
	}
	businesses := BusinessStatus(results)
	if work.clusters != nil {
		// Only some clusters were applied: the others keep their status, and quota usage
		// is refreshed at the next full pass.
		clusters, businesses = mergeStatuses(l.last, clusters), l.lastBusiness
	} else {
		l.lastFull = now
	}
	l.tried, l.applied, l.repo, l.last, l.lastBusiness = src.revision, src.revision, repo, clusters, businesses
	l.branch = repo.Fleet.Spec.StatusBranch
	l.seen.pass(now, src.revision, outcome, results, clusters)
	for _, c := range changes {
		l.seen.drift(now, c, src.revision)
	}
	l.mu.Unlock()

	l.opts.Metrics.revision(src.revision)
	l.notifyDrift(repo, src.revision, changes)
	if !l.opts.WaitForMachines {
		l.checkMachines(l.ctx, repo) // after l.repo is this revision: a pass never sees an older one as newer.
	}
	l.publishStatus(removed...)
	return outcome
}

// passOutcome names what the pass did across clusters.
func passOutcome(results []ClusterResult) Outcome {
	failed, partial, refused := 0, false, false
	for _, r := range results {
		var guard *PruneGuardError
		refusedHere := errors.As(r.Err, &guard)
		refused = refused || refusedHere
		switch {
		case r.Err != nil && !refusedHere:
			failed++ // nothing was applied there
		case len(r.Errors()) > 0 && !refusedHere, refusedHere && len(r.Errors()) > 1:
			partial = true
		}
	}
	switch {
	case len(results) > 0 && failed == len(results):
		return OutcomeNotApplied
	case failed > 0 || partial:
		return OutcomePartlyApplied
	case refused:
		return OutcomePruneRefused
	}
	return OutcomeApplied
}

// logFailures writes one error line per failure of a cluster's apply: the cluster's own
// (unreachable, prune refused) and each App's (render, apply, dependency, health).
func logFailures(log interface {
	Error(err error, msg string, kv ...any)
}, r ClusterResult) {
	if r.Err != nil {
		var guard *PruneGuardError
		msg := "cluster not applied"
		if errors.As(r.Err, &guard) {
			msg = "prune refused"
		}
		log.Error(r.Err, msg, "cluster", r.Cluster)
		return // its Apps were not applied because of it; one line says so.
	}
	for _, a := range r.Apps {
		if a.Err != nil {
			log.Error(a.Err, "app not applied", "cluster", r.Cluster, "app", a.App)
		}
	}
}

// noteBackoff schedules a failed cluster's retry, or clears it. Callers hold l.mu.
func (l *Loop) noteBackoff(r ClusterResult, now time.Time) {
	if len(r.Errors()) == 0 {
		delete(l.backoff, r.Cluster)
		return
	}
	b := l.backoff[r.Cluster]
	b.failures++
	b.next = now.Add(retryBackoff(b.failures, l.interval()))
	l.backoff[r.Cluster] = b
}

// recordInvalid records a revision that cannot be applied in the status of every cluster:
// they keep their last applied state, and the errors say why this one was not.
func (l *Loop) recordInvalid(src sourceState, problem error) {
	msg := fmt.Sprintf("revision %s was not applied: %v", short(src.revision), problem)
	var list schema.ErrorList
	if errors.As(problem, &list) && len(list) > 10 {
		msg = fmt.Sprintf("revision %s was not applied: %d problems, the first: %v (run gitfleet validate)", short(src.revision), len(list), list[0])
	}
	l.opts.Apply.Log.Error(problem, "revision not applied", "revision", short(src.revision))
	recorded := status.ReadClusters(src.files)
	l.mu.Lock()
	last := append([]status.Cluster(nil), l.last...)
	if len(last) == 0 {
		// A start on an invalid revision: what the status files say is what is there.
		for _, s := range recorded {
			last = append(last, s)
		}
		sort.Slice(last, func(i, j int) bool { return last[i].Cluster < last[j].Cluster })
	}
	for i := range last {
		last[i].Attempted = src.revision
		last[i].Errors = []string{msg}
		if last[i].Phase == status.Synced || last[i].Phase == status.Progressing {
			last[i].Phase = status.Degraded
		}
	}
	l.tried = src.revision
	l.last = last
	l.seen.invalid(time.Now(), src.revision, msg)
	l.mu.Unlock()
	l.changed()
	if len(last) > 0 {
		l.publishStatus()
	}
}
