package plan

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"gitfleet.dev/gitfleet/reconciler/machines"

	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// Side is one revision of the fleet repository.
type Side struct {
	// Ref is the revision as the user named it, for the report.
	Ref string
	// Commit is the commit it resolved to (reconciler.Snapshot.Revision).
	Commit string
	// FS holds the files of that revision.
	FS fs.FS
}

// Options tune a plan.
type Options struct {
	// Live, when set, compares the head render with the member clusters it connects to:
	// a server-side dry-run apply of every object and the inventories recorded there say
	// what apply would really do, defaults, other field managers and drift included.
	// Nil plans from the two renders alone, with no cluster access.
	Live reconciler.Connector
	// Clusters limits the plan to these clusters; empty means every cluster of either
	// revision.
	Clusters []string
	// PruneGuard is the guard apply runs with; a plan that trips it is a violation.
	PruneGuard reconciler.PruneGuard
	// Concurrency is how many clusters are planned at once.
	Concurrency int
	// Render configures both renderers. Its Cache, when nil, is a new cache shared by the
	// two sides, so what the change did not touch is rendered once.
	Render render.Options
	// Load is how both revisions are loaded: the operator's secret policy, so that a plan
	// reports as a violation a reference the reconciler would refuse.
	Load schema.LoadOptions
}

// DefaultOptions plans from the renders alone, with apply's default prune guard and the
// default secret policy.
func DefaultOptions() Options {
	return Options{PruneGuard: reconciler.DefaultApplyOptions().PruneGuard, Concurrency: 8, Load: schema.DefaultLoadOptions()}
}

// revision is one side loaded and ready to render.
type revision struct {
	repo     *schema.Repo
	renderer *render.Renderer
	// problems are the validation problems of the revision.
	problems schema.ErrorList
}

// Plan renders base and head for every cluster and reports what applying head over base
// would create, change and prune on each, and every rule head breaks. It returns an error
// only when a revision cannot be read or rendered at all; a head revision with problems
// is planned anyway (apply would refuse it; the reviewer still sees what it would do).
func Plan(ctx context.Context, base, head Side, opts Options) (*Report, error) {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	ro := shareCache(opts.Render)
	b, err := load(ctx, base, ro, opts.Load)
	if err != nil {
		return nil, err
	}
	h := b
	// The same commit on both sides (gitfleet diff) is loaded and rendered once.
	if head.Commit == "" || head.Commit != base.Commit || head.Commit == reconciler.WorkingTree {
		if h, err = load(ctx, head, ro, opts.Load); err != nil {
			return nil, err
		}
	}
	names, err := clusterNames(b.repo, h.repo, opts.Clusters)
	if err != nil {
		return nil, err
	}

	rep := &Report{
		Base: Revision{Ref: base.Ref, Commit: base.Commit},
		Head: Revision{Ref: head.Ref, Commit: head.Commit},
		Live: opts.Live != nil,
	}
	rep.Violations = append(rep.Violations, fromFieldErrors(h.problems, KindValidation)...)
	rep.Violations = append(rep.Violations, fromFieldErrors(schema.CheckUpgrades(b.repo, h.repo), KindUpgrade)...)

	// Base is rendered completely before head, so that head finds every build the change
	// did not touch in the shared cache instead of racing base to it.
	baseRes, err := renderAll(ctx, b, names, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	headRes := baseRes
	if h != b {
		if headRes, err = renderAll(ctx, h, names, opts.Concurrency); err != nil {
			return nil, err
		}
	}

	// Each cluster is planned alone; results land in their own slot, no locks.
	plans := make([]ClusterPlan, len(names))
	found := make([][]Violation, len(names))
	incomplete := make([]string, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, name := range names {
		g.Go(func() error {
			s := sides{base: baseRes[i], head: headRes[i], fleetPrune: h.repo.Fleet.Spec.Prune == nil || *h.repo.Fleet.Spec.Prune}
			plans[i], found[i], incomplete[i] = planCluster(gctx, name, b, h, s, opts)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i := range plans {
		rep.Violations = append(rep.Violations, found[i]...)
		if incomplete[i] != "" {
			rep.Incomplete = append(rep.Incomplete, incomplete[i])
		}
	}
	rep.Violations = finishViolations(rep.Violations)
	rep.Clusters = plans
	for _, c := range render.ChartLockChanges(b.repo, h.repo) {
		rep.Charts = append(rep.Charts, ChartChange{Repository: c.Chart.Repository, Chart: c.Chart.Name, Constraint: c.Chart.Constraint, Base: c.Old, Head: c.New})
	}
	rep.Rollouts = rolloutPlans(h.repo, plans)
	summarize(rep, b, h)
	return rep, nil
}

// load reads and prepares one side. Validation problems are kept, not returned: the
// repository is still rendered.
func load(ctx context.Context, s Side, ro render.Options, lo schema.LoadOptions) (*revision, error) {
	if lo.Passed == nil {
		lo.Passed = ro.Cache.Passed() // both sides share most of their files
	}
	repo, err := schema.LoadWithOptions(ctx, s.FS, lo)
	if err == nil {
		err = machines.CheckMeasuredCapacity(repo, machines.FactsFromStatus(s.FS))
	}
	problems := schema.AsErrorList(err)
	if err != nil && problems == nil {
		return nil, fmt.Errorf("loading the fleet repository at %s: %w", s.Ref, err)
	}
	r, err := render.NewWithOptions(ctx, s.FS, repo, ro)
	if err != nil {
		return nil, fmt.Errorf("preparing the render of %s: %w", s.Ref, err)
	}
	return &revision{repo: repo, renderer: r, problems: problems}, nil
}

// clusterNames are the clusters of either side, sorted, or those asked for.
func clusterNames(base, head *schema.Repo, only []string) ([]string, error) {
	var all []string
	for _, r := range []*schema.Repo{base, head} {
		for _, c := range r.Clusters {
			if !slices.Contains(all, c.Metadata.Name) {
				all = append(all, c.Metadata.Name)
			}
		}
	}
	sort.Strings(all)
	if len(only) == 0 {
		return all, nil
	}
	var unknown []string
	for _, n := range only {
		if !slices.Contains(all, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("no cluster named %s in either revision (known: %s)", strings.Join(unknown, ", "), strings.Join(all, ", "))
	}
	return slices.DeleteFunc(all, func(n string) bool { return !slices.Contains(only, n) }), nil
}

// renderAll renders the named clusters of one revision; a cluster the revision does not
// declare has a nil result.
func renderAll(ctx context.Context, rev *revision, names []string, concurrency int) ([]*render.ClusterResult, error) {
	out := make([]*render.ClusterResult, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i, name := range names {
		c := rev.repo.Cluster(name)
		if c == nil {
			continue
		}
		g.Go(func() error {
			res := rev.renderer.Cluster(gctx, c)
			out[i] = &res
			return gctx.Err()
		})
	}
	return out, g.Wait()
}

// planCluster compares one cluster's renders, or with --live the head render with the
// cluster. It returns the cluster's plan, its violations, and why the plan is incomplete
// ("" when it is not).
func planCluster(ctx context.Context, name string, b, h *revision, s sides, opts Options) (ClusterPlan, []Violation, string) {
	bc, hc := b.repo.Cluster(name), h.repo.Cluster(name)
	cp := diffRenders(name, s)
	managed := len(indexCluster(s.base).byKey)
	var incomplete string
	if opts.Live != nil {
		var err error
		c, fleet := hc, h.repo.Fleet.Metadata.Name
		if c == nil {
			c, fleet = bc, b.repo.Fleet.Metadata.Name // a removed cluster is still reached as base declared it.
		}
		cp, managed, err = liveCluster(ctx, c, fleet, s, cp, opts.Live)
		if err != nil {
			cp.Notes = append(cp.Notes, err.Error())
			incomplete = err.Error()
		}
	}
	var vs []Violation
	if hc != nil {
		vs = checkRendered(h.repo, hc, s.head)
	}
	if v := pruneGuard(opts.PruneGuard, &cp, managed, hc); v != nil {
		vs = append(vs, *v)
	}
	return cp, vs, incomplete
}

// summarize adds up the clusters and counts each cluster's violations.
func summarize(rep *Report, b, h *revision) {
	perCluster := map[string]int{}
	for _, v := range rep.Violations {
		perCluster[v.Cluster]++
	}
	s := Summary{Clusters: len(rep.Clusters), Violations: len(rep.Violations)}
	for i := range rep.Clusters {
		cp := &rep.Clusters[i]
		cp.Violations = perCluster[cp.Name]
		s.Create += len(cp.Create)
		s.Change += len(cp.Change)
		s.Prune += len(cp.Prune)
	}
	renderers := []*render.Renderer{b.renderer}
	if h.renderer != b.renderer {
		renderers = append(renderers, h.renderer)
	}
	for _, r := range renderers {
		st := r.Stats()
		s.Renders += st.Renders
		s.Reused += st.Reused
	}
	rep.Summary = s
}
