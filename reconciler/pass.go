package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// TriggerKind is why a pass runs. It decides which clusters the pass applies, never what
// an apply means: an alert-only App is held the same on every kind.
type TriggerKind string

const (
	// TriggerStart: the first pass of this process (a start, a restart, a new leader).
	TriggerStart TriggerKind = "start"
	// TriggerPush: a push webhook or a direct request; applies a new revision if there is one.
	TriggerPush TriggerKind = "push"
	// TriggerInterval: the Fleet's interval passed; the revision is applied again to every
	// cluster, which puts back corrected drift and refreshes quota usage.
	TriggerInterval TriggerKind = "interval"
	// TriggerRetry: a failed cluster's back-off passed; that cluster alone is applied again.
	TriggerRetry TriggerKind = "retry"
	// TriggerRollout: a rollout can move (the next batch of a wave, a soak ended, a
	// rollback); the clusters it moves are applied.
	TriggerRollout TriggerKind = "rollout"
)

// Outcome says what one pass did, for logs and tests.
type Outcome string

const (
	// OutcomeUpToDate: the repository did not change since the revision last tried, and
	// nothing was due.
	OutcomeUpToDate Outcome = "up to date"
	// OutcomeStatusOnly: new commits changed status/ only; nothing was rendered.
	OutcomeStatusOnly Outcome = "status-only commit, nothing to apply"
	// OutcomeApplied: the revision was applied to every cluster it was due on.
	OutcomeApplied Outcome = "applied"
	// OutcomePartlyApplied: some clusters or Apps failed (see the error lines and the
	// status files); the others were applied.
	OutcomePartlyApplied Outcome = "partly applied"
	// OutcomePruneRefused: applied, but the prune guard refused the prune of at least one
	// cluster; nothing was pruned there.
	OutcomePruneRefused Outcome = "applied, prune refused"
	// OutcomeNotApplied: no cluster could be applied.
	OutcomeNotApplied Outcome = "not applied"
	// OutcomeInvalid: the revision does not validate; nothing was applied.
	OutcomeInvalid Outcome = "revision does not validate, nothing applied"
	// OutcomeFetchFailed: the repository could not be fetched; clusters keep their state.
	OutcomeFetchFailed Outcome = "fetch failed, clusters keep their last applied state"
)

// ReconcileOnce runs one pass as a push webhook would and writes its status commit before
// it returns: for serve --once and tests.
func (l *Loop) ReconcileOnce(ctx context.Context) (Outcome, error) {
	outcome, err := l.reconcile(ctx, TriggerPush)
	// A rollout whose next wave needs no soak moves on in the same run; one that soaks
	// is where the next run (or serve) continues from its status.
	for pass := 0; err == nil && pass < maxRolloutPasses && l.rolloutDue(time.Now()); pass++ {
		var next Outcome
		if next, err = l.reconcile(ctx, TriggerRollout); next != OutcomeApplied {
			outcome = next
		}
	}
	return outcome, errors.Join(err, l.status.flush(ctx))
}

// maxRolloutPasses bounds the passes of one ReconcileOnce: a wave per pass, and a batch
// per pass within a wave.
const maxRolloutPasses = 100

func (l *Loop) rolloutDue(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rollouts.due(now)
}

// ReconcileNow runs one pass of the given kind and writes its status commit before it
// returns.
func (l *Loop) ReconcileNow(ctx context.Context, why TriggerKind) (Outcome, error) {
	outcome, err := l.reconcile(ctx, why)
	return outcome, errors.Join(err, l.status.flush(ctx))
}

// reconcile is one pass: what changed -> what each cluster must get -> apply -> record.
func (l *Loop) reconcile(ctx context.Context, why TriggerKind) (Outcome, error) {
	start := time.Now()
	src, err := l.fetch(ctx)
	if err != nil {
		l.opts.Metrics.fetchError()
		return OutcomeFetchFailed, err
	}
	work, idle := l.decide(src, why, start)
	if idle != "" {
		return idle, nil
	}
	repo, renderer, err := l.load(ctx, src)
	if err != nil {
		l.recordInvalid(src, err)
		return OutcomeInvalid, err
	}
	waves := l.rolloutStep(src, repo, renderer, &work, start)
	results, removed := l.apply(ctx, repo, waves, work)
	if err := ctx.Err(); err != nil {
		return "", err // cancelled between requests: nothing recorded; the next pass applies again.
	}
	l.opts.Metrics.observe(results, time.Since(start))
	l.rolloutObserve(ctx, repo, results, waves)
	return l.record(src, repo, results, work, removed), nil
}

// sourceState is a fetched revision: the branch head, the revision it renders (the last
// commit that changed something outside status/), and the head's files.
type sourceState struct {
	head, revision string
	files          fs.FS
}

func (l *Loop) fetch(ctx context.Context) (sourceState, error) {
	head, err := l.opts.Source.Fetch(ctx)
	if err != nil {
		return sourceState{}, fmt.Errorf("fetching the fleet repository: %w", err)
	}
	rev, err := l.opts.Source.SourceRevision(ctx, head)
	if err != nil {
		return sourceState{}, fmt.Errorf("finding the revision of %s: %w", short(head), err)
	}
	// The head's files: the same as the revision's outside status/, and the newest status.
	files, err := l.opts.Source.Snapshot(ctx, head)
	if err != nil {
		return sourceState{}, fmt.Errorf("reading revision %s: %w", short(head), err)
	}
	return sourceState{head: head, revision: rev, files: files}, nil
}

// passWork is what a pass applies.
type passWork struct {
	// clusters limits the pass to these clusters (retries); nil means every cluster.
	clusters []string
	// newRevision: the revision was not tried before.
	newRevision bool
	// rollout: only rollouts are due; the pass applies the clusters they move.
	rollout bool
}

// decide says what the pass must apply, or, when nothing, the outcome to report.
func (l *Loop) decide(src sourceState, why TriggerKind, now time.Time) (passWork, Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() { l.head = src.head }()
	switch {
	case src.revision != l.tried:
		return passWork{newRevision: true}, ""
	case why == TriggerInterval && l.repo != nil:
		return passWork{}, ""
	}
	if due := l.dueRetries(now); len(due) > 0 && l.repo != nil {
		return passWork{clusters: due}, ""
	}
	if l.repo != nil && l.rollouts.due(now) {
		return passWork{rollout: true}, ""
	}
	if src.head != l.head {
		return passWork{}, OutcomeStatusOnly
	}
	return passWork{}, OutcomeUpToDate
}

// load reads and checks the revision against the last one applied.
func (l *Loop) load(ctx context.Context, src sourceState) (*schema.Repo, *render.Renderer, error) {
	repo, err := l.loadRepo(ctx, src.files)
	if err == nil {
		// The machines' recorded capacity bounds the quotas.
		err = machines.CheckMeasuredCapacity(repo, l.machineFacts(repo, machines.FactsFromStatus(src.files)))
	}
	l.mu.Lock()
	prev, applied := l.repo, l.applied
	l.mu.Unlock()
	if err == nil && prev != nil && applied != src.revision {
		if list := schema.CheckUpgrades(prev, repo); len(list) > 0 {
			err = list
		}
	}
	if err != nil {
		return nil, nil, err
	}
	renderer, err := l.newRenderer(ctx, src.files, repo)
	if err != nil {
		return nil, nil, err
	}
	return repo, renderer, nil
}

// loadRepo reads a revision's files under the operator's secret policy and bounds.
func (l *Loop) loadRepo(ctx context.Context, files fs.FS) (*schema.Repo, error) {
	return schema.LoadWithOptions(ctx, files, schema.LoadOptions{Secrets: l.opts.Apply.SecretPolicy, YAML: l.opts.Render.Limits.YAML, Passed: l.renders.Passed()})
}

// newRenderer renders a revision with the loop's options and build cache.
func (l *Loop) newRenderer(ctx context.Context, files fs.FS, repo *schema.Repo) (*render.Renderer, error) {
	ro := l.opts.Render
	ro.Cache = l.renders
	return render.NewWithOptions(ctx, files, repo, ro)
}

// apply applies the revision to the clusters of the pass and cleans the clusters that
// left the fleet; it returns what each did and the clusters removed.
func (l *Loop) apply(ctx context.Context, repo *schema.Repo, renderer ClusterRenderer, work passWork) ([]ClusterResult, []string) {
	opts := l.opts.Apply
	if opts.HealthTimeout == 0 {
		opts.HealthTimeout = repo.Fleet.Spec.HealthTimeout.Duration
	}
	if work.clusters != nil {
		// A retry of clusters the revision still declares.
		opts.Clusters = slices.DeleteFunc(slices.Clone(work.clusters), func(c string) bool { return repo.Cluster(c) == nil })
		if len(opts.Clusters) == 0 {
			return nil, nil
		}
	}
	if l.watchers != nil {
		l.watchers.pause() // gitfleet's own applies and prunes are not drift.
	}
	results, err := Apply(ctx, repo, renderer, l.opts.Connector, opts)
	if err != nil {
		// Only a cluster list the revision does not declare fails Apply itself.
		opts.Log.Error(err, "apply not started")
	}
	var removed []string
	if work.clusters == nil {
		removed = l.removeClusters(ctx, repo, opts)
	}
	if l.watchers != nil {
		l.watchers.update(ctx, repo, results)
	}
	return results, removed
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
