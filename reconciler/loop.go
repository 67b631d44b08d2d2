package reconciler

import (
	"context"
	"io/fs"
	"maps"
	"sort"
	"sync"
	"time"

	"gitfleet.dev/gitfleet/reconciler/driftwatch"
	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// GitSource is the fleet repository as the loop needs it.
type GitSource interface {
	// Fetch updates from the remote and returns the branch's head commit.
	Fetch(ctx context.Context) (string, error)
	// SourceRevision returns the newest commit at or below rev that changed something
	// outside status/: the revision rev renders, which status, logs and notifications name.
	SourceRevision(ctx context.Context, rev string) (string, error)
	// Snapshot returns the files of a commit.
	Snapshot(ctx context.Context, rev string) (fs.FS, error)
}

// StatusWriter commits status files to the repository.
type StatusWriter interface {
	// WriteStatus commits the files (nil content deletes) with the message to branch (""
	// means the fleet's branch), unless nothing changed; it never force-pushes. It may
	// stop early, with an error, once superseded says a newer status is waiting.
	WriteStatus(ctx context.Context, files map[string][]byte, message, branch string, superseded func() bool) (commit string, changed bool, err error)
}

// LoopOptions configure the long-running reconcile loop.
type LoopOptions struct {
	Source GitSource
	// Status writes status commits; nil disables them.
	Status    StatusWriter
	Connector Connector
	Apply     ApplyOptions
	// Render bounds what reading each revision and rendering each App may cost (zero
	// limits: render.DefaultLimits) and where Helm renders (Isolation): an App over a
	// bound fails, the others are applied. Its Cache is ignored: the loop keeps Renders.
	Render render.Options
	// Interval overrides the Fleet's spec.interval when not zero.
	Interval time.Duration
	// Metrics records what the loop does; nil records nothing.
	Metrics *Metrics
	// WatchDrift watches every cluster for changes made outside gitfleet after each apply
	// and corrects or reports them per App (spec.drift).
	WatchDrift bool
	// Notify, when set, is called for every drift, and when a reported one is resolved,
	// with the repository it was applied from (to send it through the fleet's
	// NotifyChannels).
	Notify func(ctx context.Context, repo *schema.Repo, d DriftReport)
	// NotifyRollout, when set, is called when an App's rollout halts, with the
	// repository of the revision rolled out (to send it through the App's rollout
	// notify receivers).
	NotifyRollout func(ctx context.Context, repo *schema.Repo, r RolloutReport)
	// Machines, when set, checks the machines of Baremetal clusters over SSH and keeps
	// their Nodes' labels and taints: when a cluster's machines change in the repository
	// and at its slow interval, in the background; the results go into the status files.
	Machines *machines.Keeper
	// WaitForMachines runs a due machine pass before the status files are made rather
	// than in the background: for one reconcile (serve --once) whose status commit must
	// hold the results.
	WaitForMachines bool
	// Renders keeps builds from one pass to the next, and, when it has a directory,
	// from one run of the server to the next; nil keeps them in memory for the loop's life.
	Renders *render.Cache
}

// DriftReport is one drift as the loop reports it.
type DriftReport struct {
	// Revision is the revision applied: the last commit that changed something outside
	// status/.
	Cluster, Revision string
	status.Drift
	At time.Time
	// Resolved: a reported drift is fixed (the object matches the repository again);
	// Since is when it was first reported, zero when that was before a restart.
	Resolved bool
	Since    time.Time
}

// maxDriftInStatus bounds the drift a cluster's status file lists.
const maxDriftInStatus = 20

// Loop fetches the fleet repository and applies each new revision to every cluster, again
// at every interval, and at once when Trigger is called (by a push webhook).
type Loop struct {
	opts    LoopOptions
	trigger chan struct{}
	status  *statusQueue

	mu sync.Mutex
	// tried is the revision the last pass tried (applied, or found invalid); applied and
	// repo are the last one applied. head is the branch head the last pass saw.
	tried, applied, head string
	repo                 *schema.Repo
	last                 []status.Cluster
	lastBusiness         []status.Business
	// branch is where status commits go ("" is the fleet's branch).
	branch string
	// lastFull is when every cluster was last applied; the interval counts from it.
	lastFull time.Time
	// ctx is the loop's context, for work started by drift events.
	ctx context.Context
	// backoff holds the clusters whose last apply failed: each is applied again, alone,
	// once its wait has passed, even if the repository did not change. The wait doubles
	// with each failure in a row (5 s, 10 s, ... up to the interval), so a cluster that is
	// down is not hammered by every push webhook, and the others are not held up by it.
	backoff map[string]clusterBackoff
	drift   *driftLedger
	// leaving are clusters removed from the repository whose objects are not pruned yet.
	leaving  map[string]*schema.Cluster
	watchers *driftWatchers
	// renders keeps builds from one revision to the next: a commit renders only the apps
	// whose inputs it changed.
	renders *render.Cache
	// background counts the work the loop started and does not wait for (machine check
	// passes, drift notifications), so that Start returns only once all of it ended.
	background sync.WaitGroup
	// rollouts are the Apps that move across clusters in waves; past renders the earlier
	// revisions clusters not reached yet still have.
	rollouts        *rolloutBook
	past            *pastRevisions
	rolloutsResumed bool
	// seen is what the web view shows beyond the status files (see viewstate.go).
	seen viewHistory
}

// NewLoop makes a loop; Start runs it.
func NewLoop(opts LoopOptions) *Loop {
	l := &Loop{opts: opts, trigger: make(chan struct{}, 1), drift: newDriftLedger(), leaving: map[string]*schema.Cluster{},
		backoff: map[string]clusterBackoff{}, renders: opts.Renders, ctx: context.Background(), rollouts: newRolloutBook(), seen: newViewHistory()}
	l.past = &pastRevisions{load: l.loadPast}
	if l.renders == nil {
		l.renders = render.NewCache()
	}
	if opts.Status != nil {
		l.status = newStatusQueue(opts.Status, opts.Apply.Log)
	}
	if opts.WatchDrift {
		l.watchers = &driftWatchers{conn: opts.Connector, opts: opts.Apply, onDrift: l.onDrift}
	}
	return l
}

// Trigger asks for a fetch now; it never blocks, and several triggers before the loop
// gets to them make one fetch.
func (l *Loop) Trigger() {
	select {
	case l.trigger <- struct{}{}:
	default:
	}
}

// NeedLeaderElection makes the loop run on the elected replica only: two replicas must
// never apply at the same time.
func (l *Loop) NeedLeaderElection() bool { return true }

// Start runs the loop until ctx ends. An apply in progress when ctx ends is cancelled
// between requests; what it did is not recorded, and the next leader applies again. A
// status commit being pushed when ctx ends is finished first (see gitsource's push):
// Start returns once nothing of the loop writes any more.
func (l *Loop) Start(ctx context.Context) error {
	log := l.opts.Apply.Log
	l.mu.Lock()
	l.ctx = ctx
	l.seen.leading = true
	l.mu.Unlock()
	l.changed()
	if l.status != nil {
		writing := make(chan struct{})
		go func() { defer close(writing); l.status.run(ctx) }()
		defer func() { <-writing }()
	}
	defer l.background.Wait()
	why := TriggerStart
	for {
		outcome, err := l.reconcile(ctx, why)
		switch {
		case ctx.Err() != nil:
		case err != nil && outcome != OutcomeInvalid: // an invalid revision's line is written by recordInvalid
			log.Error(err, "reconcile failed", "trigger", why, "outcome", outcome)
		case outcome != OutcomeUpToDate && outcome != OutcomeStatusOnly && outcome != OutcomeInvalid:
			log.Info("reconciled", "trigger", why, "outcome", outcome, "revision", short(l.revision()))
		}
		wait, next := l.nextWake(time.Now())
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
			why = next
		case <-l.trigger:
			timer.Stop()
			why = TriggerPush
		}
	}
}

// nextWake is how long until the next timed pass, and its kind: the interval since the
// last full pass, or a failed cluster's retry if that comes first.
func (l *Loop) nextWake(now time.Time) (time.Duration, TriggerKind) {
	l.mu.Lock()
	defer l.mu.Unlock()
	interval := l.interval()
	wait, why := interval, TriggerInterval
	if !l.lastFull.IsZero() {
		wait = max(0, l.lastFull.Add(interval).Sub(now))
	}
	for _, b := range l.backoff {
		if d := max(0, b.next.Sub(now)); d < wait {
			wait, why = d, TriggerRetry
		}
	}
	if at := l.rollouts.nextAt(); !at.IsZero() {
		if d := max(0, at.Sub(now)); d < wait {
			wait, why = d, TriggerRollout
		}
	}
	return wait, why
}

// revision is the revision last applied.
func (l *Loop) revision() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied
}

// interval is the time between full passes. Callers hold l.mu.
func (l *Loop) interval() time.Duration {
	switch {
	case l.opts.Interval > 0:
		return l.opts.Interval
	case l.repo != nil:
		return l.repo.Fleet.Spec.Interval.Duration
	}
	return schema.DefaultInterval
}

// onDrift records what the drift watch saw: the drift ledger, metric, status commit and
// notification.
func (l *Loop) onDrift(e driftwatch.Event) {
	now := time.Now()
	l.mu.Lock()
	var change driftChange
	var notify bool
	switch {
	case e.Change == driftwatch.Matches:
		change, notify = l.drift.resolve(e.Cluster, e.Object)
		if !notify {
			l.mu.Unlock()
			return // it was not reported: nothing to close.
		}
	case e.Corrected:
		d := status.Drift{App: e.App, Object: e.Object, Change: string(e.Change), Action: DriftCorrected, By: e.By}
		l.drift.correct(e.Cluster, d)
		change, notify = driftChange{Cluster: e.Cluster, Drift: d}, true
	case e.Err != nil && l.watchers.correct(e.App):
		l.mu.Unlock()
		return // a failed correction: the watcher logged it; the next pass applies again.
	default:
		d := status.Drift{App: e.App, Object: e.Object, Change: string(e.Change), Action: DriftReported, By: e.By}
		change, notify = l.drift.report(e.Cluster, d, now)
	}
	for i := range l.last {
		if l.last[i].Cluster == e.Cluster {
			l.last[i].Drift = l.drift.list(e.Cluster)
		}
	}
	repo, revision := l.repo, l.applied
	if notify {
		l.seen.drift(now, change, revision)
	}
	l.mu.Unlock()
	if notify {
		l.notifyDrift(repo, revision, []driftChange{change})
		l.publishStatus()
	}
}

// notifyDrift sends the metrics and notification of each drift reported, corrected or
// resolved.
func (l *Loop) notifyDrift(repo *schema.Repo, revision string, changes []driftChange) {
	l.mu.Lock()
	ctx := l.ctx
	open := map[string]map[string]int{}
	for _, c := range changes {
		open[c.Cluster] = l.drift.openCount(c.Cluster)
	}
	l.mu.Unlock()
	now := time.Now()
	for _, c := range changes {
		l.opts.Metrics.drift(c.Cluster, c.App, c.Action, c.Resolved)
		l.opts.Metrics.openDrift(c.Cluster, []string{c.App}, open[c.Cluster])
		if l.opts.Notify != nil {
			l.background.Go(func() {
				l.opts.Notify(ctx, repo, DriftReport{Cluster: c.Cluster, Revision: revision, Drift: c.Drift, At: now, Resolved: c.Resolved, Since: c.Since})
			})
		}
	}
}

// publishStatus queues a status commit of what the loop knows now; removed are clusters
// whose status files go.
func (l *Loop) publishStatus(removed ...string) {
	l.changed() // every change of the status is a change of what the web view shows.
	if l.status == nil {
		return
	}
	l.mu.Lock()
	clusters, businesses, branch := append([]status.Cluster(nil), l.last...), l.lastBusiness, l.branch
	rollouts, gone := l.rollouts.statuses(), l.rollouts.goneFiles()
	l.mu.Unlock()
	if len(clusters) == 0 && len(removed) == 0 {
		return
	}
	files, err := status.Files(clusters, businesses)
	if err == nil {
		var more map[string][]byte
		more, err = status.RolloutFiles(rollouts)
		maps.Copy(files, more)
	}
	if err != nil {
		l.opts.Apply.Log.Error(err, "status files not written")
		return
	}
	for _, name := range removed {
		files["status/clusters/"+name+".yaml"] = nil // the cluster left the fleet.
	}
	for _, f := range gone {
		files[f] = nil // the App no longer rolls out in waves.
	}
	message := status.Message(clusters)
	for _, r := range rollouts {
		if r.Phase != status.RolloutComplete {
			message += "; " + r.Summary()
		}
	}
	l.status.put(statusUpdate{files: files, message: message, branch: branch})
}

func short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

// clusterBackoff is a failing cluster's retry state.
type clusterBackoff struct {
	failures int
	next     time.Time
}

// dueRetries lists the failing clusters whose wait has passed. Callers hold l.mu.
func (l *Loop) dueRetries(now time.Time) []string {
	var due []string
	for name, b := range l.backoff {
		if !now.Before(b.next) {
			due = append(due, name)
		}
	}
	sort.Strings(due)
	return due
}

// mergeStatuses replaces, in the full list, the statuses of the clusters just applied.
func mergeStatuses(all, applied []status.Cluster) []status.Cluster {
	out := append([]status.Cluster(nil), all...)
	for _, a := range applied {
		found := false
		for i := range out {
			if out[i].Cluster == a.Cluster {
				out[i], found = a, true
			}
		}
		if !found {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cluster < out[j].Cluster })
	return out
}

// retryBackoff is the wait before re-applying after n failed applies in a row.
func retryBackoff(n int, interval time.Duration) time.Duration {
	d := 5 * time.Second << min(n-1, 10)
	if interval > 0 && d > interval {
		d = interval
	}
	return d
}
