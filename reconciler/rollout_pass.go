package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// RolloutReport is a rollout that halted, as the loop reports it.
type RolloutReport struct {
	App, Revision string
	status.RolloutHalt
}

// rolloutStep makes the pass's revision the target of each App's rollout, moves the
// rollouts as far as they go without applying, adds the clusters they move to the pass,
// and returns the renderer that gives each App the revision its wave reached.
func (l *Loop) rolloutStep(src sourceState, repo *schema.Repo, newest *render.Renderer, work *passWork, now time.Time) *waveRenderer {
	var recorded map[string]status.Cluster
	seed := func(app, cluster string) string {
		if l.applied != "" {
			return l.applied // every cluster had it: the App rolled out all at once before.
		}
		if recorded == nil {
			recorded = status.ReadClusters(src.files)
		}
		s := recorded[cluster]
		for _, a := range s.Apps {
			if a.Name == app && a.Revision != "" {
				return a.Revision
			}
		}
		return s.Revision
	}
	l.mu.Lock()
	if !l.rolloutsResumed {
		l.rollouts.resume(status.ReadRollouts(src.files), now)
		l.rolloutsResumed = true
	}
	l.rollouts.begin(repo, src.revision, seed, now)
	need := l.rollouts.step(now)
	waves := len(l.rollouts.apps) > 0
	l.mu.Unlock()
	switch {
	case work.rollout:
		work.clusters = need
		if work.clusters == nil {
			work.clusters = []string{} // nothing to apply: the rollout only moved on.
		}
	case work.clusters != nil:
		for _, c := range need {
			if !slices.Contains(work.clusters, c) {
				work.clusters = append(work.clusters, c)
			}
		}
	}
	return &waveRenderer{newest: newest, waves: waves, revisionFor: l.revisionFor, past: l.past, moved: map[string]map[string]bool{}}
}

// revisionFor is the waveRenderer's view of the rollouts (it renders clusters in
// parallel).
func (l *Loop) revisionFor(app, cluster string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rollouts.revisionFor(app, cluster)
}

// rolloutObserve moves the rollouts by what the pass did and reports the halts.
func (l *Loop) rolloutObserve(ctx context.Context, repo *schema.Repo, results []ClusterResult, waves *waveRenderer) {
	now := time.Now()
	l.mu.Lock()
	l.rollouts.observe(results, waves.moved, now)
	halts := l.rollouts.halts
	statuses := l.rollouts.statuses()
	inUse := l.rollouts.revisionsInUse()
	l.mu.Unlock()
	l.past.keep(inUse)
	for _, s := range statuses {
		l.opts.Metrics.rollout(s)
	}
	for _, h := range halts {
		l.opts.Metrics.rolloutHalt(h.App)
		l.opts.Apply.Log.Error(errors.New(h.Reason), "rollout halted: later waves keep the revision they have until a new commit", "app", h.App, "revision", short(h.Revision), "wave", h.Wave, "cluster", h.Cluster, "rolledBack", h.RolledBack)
		if l.opts.NotifyRollout != nil {
			l.background.Go(func() { l.opts.NotifyRollout(ctx, repo, h) })
		}
	}
}

// loadPast loads an earlier revision that some cluster still has, to render it.
func (l *Loop) loadPast(ctx context.Context, rev string) (*schema.Repo, *render.Renderer, error) {
	files, err := l.opts.Source.Snapshot(ctx, rev)
	if err != nil {
		return nil, nil, fmt.Errorf("reading revision %s: %w", short(rev), err)
	}
	repo, err := l.loadRepo(ctx, files)
	if err != nil {
		return nil, nil, err
	}
	renderer, err := l.newRenderer(ctx, files, repo)
	if err != nil {
		return nil, nil, err
	}
	return repo, renderer, nil
}
