package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/reconciler/driftwatch"
	"gitfleet.dev/gitfleet/reconciler/gitsource"
	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// GitSource is the fleet repository as the loop needs it.
type GitSource interface {
	// Fetch updates from the remote and returns the branch's head commit.
	Fetch(ctx context.Context) (string, error)
	// Snapshot returns the files of a commit.
	Snapshot(ctx context.Context, rev string) (fs.FS, error)
	// ChangedPaths lists the files that differ between two commits.
	ChangedPaths(ctx context.Context, from, to string) ([]string, error)
}

// StatusWriter commits status files to the repository.
type StatusWriter interface {
	// WriteStatus commits the files (nil content deletes) with the message to branch (""
	// means the fleet's branch), unless nothing changed; it never force-pushes.
	WriteStatus(ctx context.Context, files map[string][]byte, message, branch string) (commit string, changed bool, err error)
}

// LoopOptions configure the long-running reconcile loop.
type LoopOptions struct {
	Source GitSource
	// Status writes status commits; nil disables them.
	Status    StatusWriter
	Connector Connector
	Apply     ApplyOptions
	// Interval overrides the Fleet's spec.interval when not zero.
	Interval time.Duration
	// Metrics records what the loop does; nil records nothing.
	Metrics *Metrics
	// WatchDrift watches every cluster for changes made outside gitfleet after each apply
	// and corrects or reports them per App (spec.drift).
	WatchDrift bool
	// Notify, when set, is called for every drift with the repository it was applied from
	// (to send it through the fleet's NotifyChannels).
	Notify func(ctx context.Context, repo *schema.Repo, d DriftReport)
	// Machines, when set, checks the machines of Baremetal clusters over SSH and keeps
	// their Nodes' labels and taints: when a cluster's machines change in the repository
	// and at its slow interval, in the background; the results go into the status files.
	Machines *machines.Keeper
	// WaitForMachines runs a due machine pass before the status files are made rather
	// than in the background: for one reconcile (serve --once) whose status commit must
	// hold the results.
	WaitForMachines bool
}

// DriftReport is one drift as the loop reports it.
type DriftReport struct {
	Cluster, Revision string
	status.Drift
	At time.Time
}

// maxDriftInStatus bounds the drift a cluster's status file lists: the newest are kept.
const maxDriftInStatus = 20

// Loop fetches the fleet repository, and applies each new revision to every cluster,
// then at every interval, and at once when Trigger is called (by a push webhook).
type Loop struct {
	opts    LoopOptions
	trigger chan struct{}

	mu sync.Mutex
	// applied is the last revision whose render was applied (or a status-only commit on
	// top of it).
	applied      string
	repo         *schema.Repo
	last         []status.Cluster
	lastBusiness []status.Business
	// ctx is the loop's context, for work started by drift events.
	ctx context.Context
	// backoff holds the clusters whose last apply failed: each is applied again, alone,
	// once its wait has passed, even if the repository did not change. The wait doubles
	// with each failure in a row (5 s, 10 s, ... up to the interval), so a cluster that is
	// down is not hammered by every push webhook, and the others are not held up by it.
	backoff map[string]clusterBackoff
	// drift is the drift seen per cluster since the applied revision was first applied.
	drift       map[string][]status.Drift
	driftNotice chan struct{}
	// leaving are clusters removed from the repository whose objects are not pruned yet.
	leaving  map[string]*schema.Cluster
	watchers *driftWatchers
	// renders keeps builds from one revision to the next: a commit renders only the apps
	// whose inputs it changed.
	renders *render.Cache
}

// NewLoop makes a loop; Start runs it.
func NewLoop(opts LoopOptions) *Loop {
	l := &Loop{opts: opts, trigger: make(chan struct{}, 1), driftNotice: make(chan struct{}, 1), drift: map[string][]status.Drift{}, leaving: map[string]*schema.Cluster{}, backoff: map[string]clusterBackoff{}, renders: render.NewCache()}
	if opts.WatchDrift {
		l.watchers = &driftWatchers{conn: opts.Connector, opts: opts.Apply, onDrift: l.onDrift}
	}
	return l
}

// onDrift records a drift: metric, status (committed by the loop), notification.
func (l *Loop) onDrift(e driftwatch.Event) {
	action := "reported"
	if e.Corrected {
		action = "corrected"
	}
	if l.opts.Metrics != nil {
		l.opts.Metrics.Drift.WithLabelValues(e.Cluster, e.App, action).Inc()
	}
	d := status.Drift{App: e.App, Object: e.Object, Change: string(e.Change), Action: action}
	l.mu.Lock()
	list := append(l.drift[e.Cluster], d)
	if len(list) > maxDriftInStatus {
		list = list[len(list)-maxDriftInStatus:]
	}
	l.drift[e.Cluster] = list
	for i := range l.last {
		if l.last[i].Cluster == e.Cluster {
			l.last[i].Drift = list
		}
	}
	repo, revision, ctx := l.repo, l.applied, l.ctx
	l.mu.Unlock()
	select {
	case l.driftNotice <- struct{}{}:
	default:
	}
	if l.opts.Notify != nil && ctx != nil {
		go l.opts.Notify(ctx, repo, DriftReport{Cluster: e.Cluster, Revision: revision, Drift: d, At: time.Now()})
	}
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
// between requests; what it did is not recorded, and the next leader applies again.
func (l *Loop) Start(ctx context.Context) error {
	log := l.opts.Apply.Log
	l.mu.Lock()
	l.ctx = ctx
	l.mu.Unlock()
	periodic := false
	for {
		outcome, err := l.reconcile(ctx, periodic)
		if err != nil && ctx.Err() == nil {
			log.Error(err, "reconcile failed")
		} else if outcome != "" {
			log.Info("reconciled", "outcome", outcome)
		}
		timer := time.NewTimer(l.interval())
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
			// Every interval the head is applied again even if it did not change: that
			// puts back what drifted and retries what failed.
			periodic = true
		case <-l.trigger:
			timer.Stop()
			periodic = false
		case <-l.driftNotice:
			// Drift is recorded in the status files right away; no apply is needed.
			timer.Stop()
			l.mu.Lock()
			clusters, businesses := append([]status.Cluster(nil), l.last...), l.lastBusiness
			l.mu.Unlock()
			if err := l.writeStatus(ctx, clusters, businesses); err != nil {
				log.Error(err, "status commit of drift failed")
			}
			continue
		}
	}
}

func (l *Loop) interval() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.opts.Interval > 0:
		return l.opts.Interval
	case l.repo != nil:
		return l.repo.Fleet.Spec.Interval.Duration
	}
	return schema.DefaultInterval
}

// Outcome says what one reconcile did, for logs and tests.
type Outcome string

const (
	// OutcomeUpToDate: nothing changed since the last successful apply.
	OutcomeUpToDate Outcome = "up to date"
	// OutcomeApplied: a revision was rendered and applied (new, or again at the interval).
	OutcomeApplied Outcome = "applied"
	// OutcomeStatusOnly: the new commit only changed status/; nothing was rendered.
	OutcomeStatusOnly Outcome = "status-only commit, nothing to apply"
	// OutcomeInvalid: the revision does not validate; nothing was applied.
	OutcomeInvalid Outcome = "revision does not validate, nothing applied"
	// OutcomeFetchFailed: the repository could not be fetched; clusters keep their state.
	OutcomeFetchFailed Outcome = "fetch failed, clusters keep their last applied state"
)

// ReconcileOnce fetches and applies the head revision, unless nothing but status files
// changed since the last apply and that apply succeeded everywhere. It is what a push
// webhook triggers, exposed for tests.
func (l *Loop) ReconcileOnce(ctx context.Context) (Outcome, error) { return l.reconcile(ctx, false) }

// reconcile is one pass of the loop; periodic passes apply the head even when it did not
// change.
func (l *Loop) reconcile(ctx context.Context, periodic bool) (Outcome, error) {
	start := time.Now()
	head, err := l.opts.Source.Fetch(ctx)
	if err != nil {
		l.opts.Metrics.fetchError()
		return OutcomeFetchFailed, fmt.Errorf("fetching the fleet repository: %w", err)
	}
	l.mu.Lock()
	applied, due := l.applied, l.dueRetries(time.Now())
	l.mu.Unlock()
	// retryOnly: the repository did not change; only clusters whose back-off has passed
	// are applied again.
	retryOnly := false
	if applied != "" && !periodic {
		outcome := OutcomeUpToDate
		if head != applied {
			changed, err := l.opts.Source.ChangedPaths(ctx, applied, head)
			if err != nil || !gitsource.StatusOnly(changed) {
				outcome = "" // a change to apply everywhere
			} else {
				// Our own status commit (or someone editing status/): nothing to render.
				l.mu.Lock()
				l.applied = head
				l.mu.Unlock()
				outcome = OutcomeStatusOnly
			}
		}
		if outcome != "" {
			if len(due) == 0 {
				return outcome, nil
			}
			retryOnly = true
		}
	}
	files, err := l.opts.Source.Snapshot(ctx, head)
	if err != nil {
		return "", fmt.Errorf("reading revision %s: %w", head, err)
	}
	repo, err := schema.Load(ctx, files)
	// What the last committed status says of the machines: capacity for the quota checks
	// and the machines section until this process has checked them itself.
	recorded := machines.FactsFromStatus(files)
	if err == nil {
		err = machines.CheckMeasuredCapacity(repo, l.machineFacts(repo, recorded))
	}
	if err == nil {
		l.mu.Lock()
		prev := l.repo
		l.mu.Unlock()
		if prev != nil {
			if list := schema.CheckUpgrades(prev, repo); len(list) > 0 {
				err = list
			}
		}
	}
	if err != nil {
		l.reportInvalid(ctx, head, err)
		return OutcomeInvalid, err
	}
	renderer, err := render.NewWithOptions(ctx, files, repo, render.Options{Cache: l.renders})
	if err != nil {
		return "", err
	}
	opts := l.opts.Apply
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = repo.Fleet.Spec.HealthTimeout.Duration
	}
	if retryOnly {
		opts.Clusters = due
	}
	if l.watchers != nil {
		l.watchers.pause() // gitfleet's own prunes are not drift.
	}
	results, err := Apply(ctx, repo, renderer, l.opts.Connector, opts)
	if err != nil {
		return "", err
	}
	var removed []string
	if !retryOnly {
		removed = l.removeClusters(ctx, repo, opts)
	}
	l.opts.Metrics.observe(results, time.Since(start))
	if l.watchers != nil {
		l.watchers.update(ctx, repo, results)
	}
	l.mu.Lock()
	if head != l.applied {
		l.drift = map[string][]status.Drift{} // drift is reported per applied revision.
	}
	l.mu.Unlock()
	if l.opts.WaitForMachines {
		l.checkMachines(ctx, repo)
	}
	clusters, businesses := l.statuses(files, results, head), BusinessStatus(results)
	l.withMachines(recorded, clusters)
	l.mu.Lock()
	for i := range clusters {
		clusters[i].Drift = l.drift[clusters[i].Cluster]
	}
	if retryOnly {
		// Only some clusters were applied: the others keep their status, and quota usage
		// is refreshed at the next full reconcile.
		clusters, businesses = mergeStatuses(l.last, clusters), l.lastBusiness
	}
	now := time.Now()
	for _, r := range results {
		if len(r.Errors()) == 0 {
			delete(l.backoff, r.Cluster)
			continue
		}
		b := l.backoff[r.Cluster]
		b.failures++
		b.next = now.Add(retryBackoff(b.failures, l.opts.Interval))
		l.backoff[r.Cluster] = b
	}
	l.applied, l.repo, l.last, l.lastBusiness = head, repo, clusters, businesses
	l.mu.Unlock()
	if !l.opts.WaitForMachines {
		l.checkMachines(ctx, repo) // after l.repo is this revision: a pass never sees an older one as newer.
	}
	return OutcomeApplied, l.writeStatus(ctx, clusters, businesses, removed...)
}

// withMachines fills each cluster's machines section: the last check's results, or,
// before the first check since gitfleet started, what the status file recorded.
func (l *Loop) withMachines(recorded map[string][]status.Machine, clusters []status.Cluster) {
	k := l.opts.Machines
	if k == nil {
		return
	}
	for i := range clusters {
		if list, ok := k.Status(clusters[i].Cluster); ok {
			clusters[i].Machines = list
			continue
		}
		clusters[i].Machines = recorded[clusters[i].Cluster]
	}
}

// machineFacts is what the machine checks found per cluster of repo: this process's last
// pass, else what the status files recorded.
func (l *Loop) machineFacts(repo *schema.Repo, recorded map[string][]status.Machine) map[string][]status.Machine {
	k := l.opts.Machines
	if k == nil {
		return recorded
	}
	facts := maps.Clone(recorded)
	for _, c := range repo.Clusters {
		if list, ok := k.Status(c.Metadata.Name); ok {
			facts[c.Metadata.Name] = list
		}
	}
	return facts
}

// checkMachines starts a pass of the machine checks when one is due. It runs in the
// background: it logs in to every machine, a machine that is down costs its dial
// timeout, and applies must not wait for that. Its results are committed by a status
// write it triggers when done. With LoopOptions.WaitForMachines the pass runs before the
// status files are made instead, so that a single reconcile commits its results.
func (l *Loop) checkMachines(ctx context.Context, repo *schema.Repo) {
	k := l.opts.Machines
	if k == nil {
		return
	}
	due := k.Due(repo, time.Now())
	if len(due) == 0 {
		return
	}
	pass := func() bool {
		ran, err := k.Run(ctx, repo, due, time.Now())
		if err != nil && ctx.Err() == nil {
			l.opts.Apply.Log.Error(err, "machine checks failed", "clusters", due)
		}
		return ran && err == nil
	}
	if l.opts.WaitForMachines {
		pass()
		return
	}
	go func() {
		if !pass() {
			return
		}
		l.mu.Lock()
		for i := range l.last {
			if list, ok := k.Status(l.last[i].Cluster); ok {
				l.last[i].Machines = list
			} else if slices.Contains(due, l.last[i].Cluster) {
				l.last[i].Machines = nil // its machines were all removed.
			}
		}
		latest := l.repo
		l.mu.Unlock()
		select {
		case l.driftNotice <- struct{}{}: // the loop writes the status files.
		default:
		}
		if latest != nil && latest != repo {
			// A revision applied during the pass may have changed machines: its Due
			// found the pass running.
			l.checkMachines(ctx, latest)
		}
	}()
}

// removeClusters cleans the clusters the previous revision declared and this one does not
// (and those whose cleaning failed before: it is retried each reconcile), and returns the
// names of those cleaned (their status files are deleted).
func (l *Loop) removeClusters(ctx context.Context, repo *schema.Repo, opts ApplyOptions) []string {
	l.mu.Lock()
	if l.repo != nil {
		for _, c := range l.repo.Clusters {
			if repo.Cluster(c.Metadata.Name) == nil {
				l.leaving[c.Metadata.Name] = c
			}
		}
	}
	leaving := make([]*schema.Cluster, 0, len(l.leaving))
	for name, c := range l.leaving {
		if repo.Cluster(name) != nil {
			delete(l.leaving, name) // declared again before it was cleaned
			continue
		}
		leaving = append(leaving, c)
	}
	l.mu.Unlock()
	var removed []string
	for _, c := range leaving {
		res := RemoveCluster(ctx, repo.Fleet.Metadata.Name, c, l.opts.Connector, opts)
		if err := errors.Join(res.Errors()...); err != nil {
			opts.Log.Error(err, "removing a cluster's objects failed; retried at the next reconcile", "cluster", c.Metadata.Name)
			continue
		}
		opts.Log.Info("cluster removed from the fleet, its objects pruned", "cluster", c.Metadata.Name, "pruned", res.Counts().Pruned)
		removed = append(removed, c.Metadata.Name)
		l.mu.Lock()
		delete(l.leaving, c.Metadata.Name)
		l.mu.Unlock()
	}
	return removed
}

// statuses builds each cluster's status, carrying over the previous status of clusters
// that could not be reached.
func (l *Loop) statuses(files fs.FS, results []ClusterResult, head string) []status.Cluster {
	out := make([]status.Cluster, len(results))
	for i, r := range results {
		var prev *status.Cluster
		if data, err := fs.ReadFile(files, "status/clusters/"+r.Cluster+".yaml"); err == nil {
			var s status.Cluster
			if yaml.Unmarshal(data, &s) == nil {
				prev = &s
			}
		}
		out[i] = ClusterStatus(r, head, prev)
	}
	return out
}

func (l *Loop) writeStatus(ctx context.Context, clusters []status.Cluster, businesses []status.Business, removed ...string) error {
	if l.opts.Status == nil {
		return nil
	}
	files, err := status.Files(clusters, businesses)
	if err != nil {
		return err
	}
	for _, name := range removed {
		files["status/clusters/"+name+".yaml"] = nil // the cluster left the fleet.
	}
	l.mu.Lock()
	branch := ""
	if l.repo != nil {
		branch = l.repo.Fleet.Spec.StatusBranch
	}
	l.mu.Unlock()
	commit, changed, err := l.opts.Status.WriteStatus(ctx, files, status.Message(clusters), branch)
	if err != nil {
		return fmt.Errorf("writing the status commit: %w", err)
	}
	if changed {
		l.opts.Apply.Log.Info("status committed", "commit", commit)
		// Our own commit: the next fetch sees it as status-only.
	}
	return nil
}

// reportInvalid records a revision that cannot be applied in the status of every cluster
// (they keep their last applied state), so the author sees it in the repository.
func (l *Loop) reportInvalid(ctx context.Context, head string, problem error) {
	l.mu.Lock()
	last := append([]status.Cluster(nil), l.last...)
	businesses := l.lastBusiness
	l.mu.Unlock()
	msg := fmt.Sprintf("revision %s was not applied: %v", short(head), problem)
	var list schema.ErrorList
	if errors.As(problem, &list) && len(list) > 10 {
		msg = fmt.Sprintf("revision %s was not applied: %d problems, the first: %v (run gitfleet validate)", short(head), len(list), list[0])
	}
	for i := range last {
		last[i].Errors = []string{msg}
		if last[i].Phase == status.Synced || last[i].Phase == status.Progressing {
			last[i].Phase = status.Degraded
		}
	}
	if len(last) > 0 {
		if err := l.writeStatus(ctx, last, businesses); err != nil {
			l.opts.Apply.Log.Error(err, "status commit for an invalid revision failed")
		}
	}
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
