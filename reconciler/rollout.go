package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/fluxcd/pkg/ssa"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// rolloutBook keeps, for every App that rolls out in waves, the revision each cluster
// has and how far the rollout of the newest revision got. Everything in it is written to
// status/rollouts/ and read back by the next leader: a restart resumes where the rollout
// was, and nothing but a commit moves a halted one. Callers hold the loop's mutex.
type rolloutBook struct {
	apps map[string]*appRollout
	// gone are Apps whose rollout file must go (the App was removed or rolls out all at
	// once now).
	gone map[string]bool
	// halts are the halts of the last observe, to notify.
	halts []RolloutReport
}

// appRollout is one App's rollout.
type appRollout struct {
	app    string
	target string
	waves  []schema.WavePlan
	onFail schema.RolloutFailure
	// wave is the index of the wave being updated or soaked; len(waves) once complete.
	wave int
	// soakUntil is when the current wave's soak ends; zero while it is being updated.
	soakUntil time.Time
	// changed: a cluster of the current wave got different objects from this revision.
	changed bool
	// confirming: the soak ended; the next pass over the wave checks it is still healthy.
	confirming bool
	halted     *status.RolloutHalt
	// at is the revision each cluster has ("" before the App was ever applied there).
	at map[string]string
	// released are the clusters of the current wave this pass updates, with the revision
	// each had; before is that of every cluster this rollout updated (for a rollback).
	released, before map[string]string
	// restore are clusters a rollback puts back to at[cluster] at the next pass.
	restore map[string]bool
	// next is when the rollout wants a pass (zero: not until something else happens).
	next time.Time
}

func newRolloutBook() *rolloutBook {
	return &rolloutBook{apps: map[string]*appRollout{}, gone: map[string]bool{}}
}

// resume takes the rollouts a status commit recorded: the first pass of a process (a
// restart, a new leader) continues them.
func (b *rolloutBook) resume(saved map[string]status.Rollout, now time.Time) {
	for name, s := range saved {
		r := &appRollout{app: name, target: s.Revision, wave: s.Wave, changed: s.Changed, at: map[string]string{}, before: map[string]string{}, next: now}
		for _, w := range s.Waves {
			for _, c := range w.Clusters {
				r.at[c.Cluster] = c.Revision
			}
		}
		if s.SoakUntil != nil {
			r.soakUntil = *s.SoakUntil
		}
		if s.Halted != nil {
			h := *s.Halted
			r.halted, r.next = &h, time.Time{}
		}
		b.apps[name] = r
	}
}

// begin makes revision the target of every App of repo that rolls out in waves: a
// revision new to an App starts its rollout from the first wave. seed gives the revision
// a cluster has when the book knows nothing of it.
func (b *rolloutBook) begin(repo *schema.Repo, revision string, seed func(app, cluster string) string, now time.Time) {
	for name := range b.apps {
		if a := repo.App(name); a == nil || repo.Rollout(a) == nil {
			delete(b.apps, name)
			b.gone[name] = true
		}
	}
	for _, a := range repo.Apps {
		s := repo.Rollout(a)
		if s == nil {
			continue
		}
		name := a.Metadata.Name
		delete(b.gone, name)
		r := b.apps[name]
		if r == nil {
			r = &appRollout{app: name, at: map[string]string{}}
			b.apps[name] = r
		}
		r.waves, r.onFail = repo.Waves(a), s.OnFailure
		for _, w := range r.waves {
			for _, c := range w.Clusters {
				if _, ok := r.at[c]; !ok {
					r.at[c] = seed(name, c)
				}
			}
		}
		if r.target != revision {
			*r = appRollout{app: name, target: revision, waves: r.waves, onFail: r.onFail, at: r.at, before: map[string]string{}, next: now}
		}
	}
}

// due says whether some rollout wants a pass now.
func (b *rolloutBook) due(now time.Time) bool {
	for _, r := range b.apps {
		if !r.next.IsZero() && !now.Before(r.next) {
			return true
		}
	}
	return false
}

// nextAt is the earliest time a rollout wants a pass; zero when none does.
func (b *rolloutBook) nextAt() time.Time {
	var at time.Time
	for _, r := range b.apps {
		if !r.next.IsZero() && (at.IsZero() || r.next.Before(at)) {
			at = r.next
		}
	}
	return at
}

// step moves each rollout as far as it can go without applying anything, and returns the
// clusters the pass must apply for the rollouts: the next batch of a wave, a wave whose
// soak ended (to check it is still healthy), clusters a rollback puts back.
func (b *rolloutBook) step(now time.Time) []string {
	need := map[string]bool{}
	for _, r := range b.apps {
		for c := range r.restore {
			need[c] = true
		}
		r.next = time.Time{}
		if r.halted != nil {
			continue
		}
		for r.wave < len(r.waves) {
			w := r.waves[r.wave]
			if !r.soakUntil.IsZero() {
				if now.Before(r.soakUntil) {
					r.next = r.soakUntil
					break
				}
				r.confirming = true
				for _, c := range w.Clusters {
					need[c] = true
				}
				break
			}
			var pending []string
			for _, c := range w.Clusters {
				if r.at[c] != r.target {
					pending = append(pending, c)
				}
			}
			if len(pending) == 0 {
				if r.changed && w.Soak > 0 {
					r.soakUntil = now.Add(w.Soak)
					r.next = r.soakUntil
					break
				}
				r.advance()
				continue
			}
			r.released = map[string]string{}
			for _, c := range pending[:min(len(pending), max(1, w.Batch))] {
				r.released[c] = r.at[c]
				need[c] = true
			}
			break
		}
	}
	return slices.Sorted(maps.Keys(need))
}

func (r *appRollout) advance() {
	r.wave++
	r.soakUntil, r.changed, r.confirming = time.Time{}, false, false
}

// revisionFor is the revision of the App a cluster gets in this pass, when it is not the
// pass's revision: held is false when the cluster gets the newest revision.
func (b *rolloutBook) revisionFor(app, cluster string) (rev string, held bool) {
	r := b.apps[app]
	if r == nil {
		return "", false
	}
	at, known := r.at[cluster]
	if !known || at == r.target {
		return "", false
	}
	if _, ok := r.released[cluster]; ok {
		return "", false
	}
	return at, true
}

// observe moves the rollouts by what the pass did: an updated cluster that is healthy has
// the revision; a failure in the current wave (its update, or its health while it soaks)
// halts the rollout there; moved lists the held clusters whose objects were the same at
// the newest revision (they have it now).
func (b *rolloutBook) observe(results []ClusterResult, moved map[string]map[string]bool, now time.Time) {
	b.halts = nil
	byCluster := map[string]ClusterResult{}
	for _, res := range results {
		byCluster[res.Cluster] = res
	}
	for _, r := range b.apps {
		for c := range moved[r.app] {
			if _, applied := byCluster[c]; applied {
				r.at[c] = r.target
			}
		}
		for c := range r.restore {
			if res, ok := byCluster[c]; ok && res.Err == nil {
				delete(r.restore, c)
			}
		}
		if r.halted != nil || r.wave >= len(r.waves) {
			r.released = nil
			continue
		}
		w := r.waves[r.wave]
		var failure *status.RolloutHalt
		for _, c := range w.Clusters {
			res, applied := byCluster[c]
			_, released := r.released[c]
			if !applied || !released && r.at[c] != r.target {
				continue
			}
			if released {
				// Its objects are this revision's now, healthy or not.
				r.before[c] = r.released[c]
				r.at[c] = r.target
				r.changed = r.changed || appChanged(res, r.app)
			}
			if reason := rolloutFailure(res, r.app); reason != "" && failure == nil {
				failure = &status.RolloutHalt{Wave: w.Name, Cluster: c, Reason: reason, At: now}
			}
		}
		confirmed := r.confirming && failure == nil && allApplied(w.Clusters, byCluster)
		moved := len(r.released) > 0
		r.released = nil
		switch {
		case failure != nil:
			r.halt(*failure)
			b.halts = append(b.halts, RolloutReport{App: r.app, Revision: r.target, RolloutHalt: *r.halted})
		case confirmed:
			r.advance()
			r.next = now
		case moved:
			r.next = now // the next batch, or the start of the soak.
		}
	}
}

// halt stops the rollout; a rollback puts the wave's updated clusters back to the
// revisions they had.
func (r *appRollout) halt(h status.RolloutHalt) {
	r.soakUntil, r.confirming, r.next = time.Time{}, false, time.Time{}
	if r.onFail == schema.RolloutRollback {
		r.restore = map[string]bool{}
		for _, c := range r.waves[r.wave].Clusters {
			if prev, updated := r.before[c]; updated {
				r.at[c] = prev
				r.restore[c] = true
			}
		}
		h.RolledBack = len(r.restore) > 0
		if h.RolledBack {
			r.next = h.At
		}
	}
	r.halted = &h
}

// rolloutFailure says why an App failed on a cluster in this pass, "" when it is healthy.
func rolloutFailure(res ClusterResult, app string) string {
	if res.Err != nil {
		return res.Err.Error()
	}
	for _, a := range res.Apps {
		if a.App != app {
			continue
		}
		switch {
		case a.Err != nil:
			return a.Err.Error()
		case a.Health != Healthy:
			return fmt.Sprintf("%s: not healthy within the health timeout", a.Health)
		}
	}
	return ""
}

// appChanged says whether the pass created, changed or pruned objects of the App.
func appChanged(res ClusterResult, app string) bool {
	for _, a := range res.Apps {
		if a.App != app {
			continue
		}
		for _, e := range a.Changes {
			if e.Action != ssa.UnchangedAction && e.Action != ssa.SkippedAction {
				return true
			}
		}
	}
	return false
}

func allApplied(clusters []string, byCluster map[string]ClusterResult) bool {
	for _, c := range clusters {
		if _, ok := byCluster[c]; !ok {
			return false
		}
	}
	return true
}

// appRevision is the revision of the App on a cluster, for its status, when it differs
// from the pass's revision.
func (b *rolloutBook) appRevision(app, cluster, revision string) string {
	r := b.apps[app]
	if r == nil {
		return ""
	}
	if at, ok := r.at[cluster]; ok && at != revision {
		return at
	}
	return ""
}

// revisionsInUse are the revisions some cluster has that are not the newest.
func (b *rolloutBook) revisionsInUse() map[string]bool {
	out := map[string]bool{}
	for _, r := range b.apps {
		for _, rev := range r.at {
			if rev != "" && rev != r.target {
				out[rev] = true
			}
		}
	}
	return out
}

// statuses are the rollout files' contents, by App name order.
func (b *rolloutBook) statuses() []status.Rollout {
	names := slices.Sorted(maps.Keys(b.apps))
	out := make([]status.Rollout, 0, len(names))
	for _, name := range names {
		out = append(out, b.apps[name].status())
	}
	return out
}

func (r *appRollout) status() status.Rollout {
	s := status.Rollout{App: r.app, Revision: r.target, Wave: r.wave, Changed: r.changed, Halted: r.halted}
	switch {
	case r.halted != nil:
		s.Phase = status.RolloutHalted
	case r.wave >= len(r.waves):
		s.Phase = status.RolloutComplete
	case !r.soakUntil.IsZero():
		s.Phase = status.RolloutSoaking
		until := r.soakUntil.UTC().Truncate(time.Second)
		s.SoakUntil = &until
	default:
		s.Phase = status.RolloutProgressing
	}
	for _, w := range r.waves {
		sw := status.RolloutWave{Name: w.Name}
		for _, c := range w.Clusters {
			sw.Clusters = append(sw.Clusters, status.RolloutCluster{Cluster: c, Revision: r.at[c]})
		}
		s.Waves = append(s.Waves, sw)
	}
	return s
}

// goneFiles lists the rollout files to delete. They stay listed: deleting a file that is
// already gone changes nothing, and a status commit that failed is retried with them.
func (b *rolloutBook) goneFiles() []string {
	out := make([]string, 0, len(b.gone))
	for name := range b.gone {
		out = append(out, status.RolloutFile(name))
	}
	sort.Strings(out)
	return out
}
