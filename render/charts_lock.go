package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"helm.sh/helm/v3/pkg/chart/loader"

	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
)

// ChartResolver resolves version constraints of remote charts (remotechart.Client).
type ChartResolver interface {
	ChartFetcher
	Resolve(ctx context.Context, ref remotechart.Ref, auth *schema.ChartAuth) (remotechart.Locked, []byte, error)
}

var _ ChartResolver = (*remotechart.Client)(nil)

// LockOptions tune LockCharts.
type LockOptions struct {
	// Update resolves every constraint again. Without it an entry of the current lock
	// whose constraint is still asked for keeps its version (as `helm dependency build`
	// keeps Chart.lock), so that running gitfleet lock after adding one chart changes
	// only that chart's entry.
	Update bool
	// Limits bound the files of in-repository charts read for their dependencies.
	Limits yamlbound.Limits
}

// LockChange is one entry LockCharts added, changed or removed.
type LockChange struct {
	Chart remotechart.Ref
	// Old and New are the versions before and after; empty when there was none, or is
	// none any more.
	Old, New string
}

func (c LockChange) String() string {
	switch {
	case c.Old == "":
		return fmt.Sprintf("added   %s: %s", c.Chart, c.New)
	case c.New == "":
		return fmt.Sprintf("removed %s (was %s)", c.Chart, c.Old)
	}
	if c.Old == c.New {
		return fmt.Sprintf("changed %s: %s, with a new archive digest", c.Chart, c.New)
	}
	return fmt.Sprintf("changed %s: %s -> %s", c.Chart, c.Old, c.New)
}

// LockCharts computes the chart lock of a repository: an entry for every remote chart
// its Apps use and for every remote dependency of their charts that is not vendored,
// each resolved to a version and the digest of its archive. Entries no App needs any
// more are dropped. It fails, naming each App, when a chart cannot be resolved; the
// current lock is then left as it is.
func LockCharts(ctx context.Context, src fs.FS, repo *schema.Repo, res ChartResolver, opts LockOptions) (*schema.ChartLock, []LockChange, error) {
	opts.Limits = opts.Limits.WithDefaults()
	entries := map[remotechart.Ref]remotechart.Locked{}
	var errs []error
	lock := func(n remoteChart) ([]byte, error) {
		if l, ok := entries[n.ref]; ok {
			return res.Fetch(ctx, l, n.auth)
		}
		if e, _ := repo.LockedChart(n.ref.Repository, n.ref.Name, n.ref.Constraint); e != nil && !opts.Update {
			if l := remotechart.FromEntry(*e); l.Satisfies() {
				data, err := res.Fetch(ctx, l, n.auth)
				if err == nil {
					entries[n.ref] = l
				}
				return data, err
			}
		}
		l, data, err := res.Resolve(ctx, n.ref, n.auth)
		if err == nil {
			entries[n.ref] = l
		}
		return data, err
	}
	for _, app := range repo.Apps {
		h := app.Spec.Source.Helm
		if h == nil {
			continue
		}
		fail := func(err error) {
			errs = append(errs, fmt.Errorf("app %s (%s): %w", app.Metadata.Name, app.Origin.File, err))
		}
		var files []*loader.BufferedFile
		var err error
		if h.IsRemote() {
			var data []byte
			if data, err = lock(remoteChart{ref: remotechart.AppRef(h), auth: h.Auth}); err == nil {
				files, err = archiveFiles(h.Chart, data, opts.Limits)
			}
		} else {
			files, err = chartFiles(src, h.Chart, opts.Limits)
		}
		if err != nil {
			fail(err)
			continue
		}
		c, err := loader.LoadFiles(files)
		if err != nil {
			fail(fmt.Errorf("loading chart %s: %w", chartLabel(h), err))
			continue
		}
		for _, n := range remoteDependencies(h, c) {
			if _, err := lock(n); err != nil {
				fail(fmt.Errorf("%s: %w", n, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	out := &schema.ChartLock{Object: schema.Object{TypeMeta: schema.TypeMeta{APIVersion: schema.APIVersion, Kind: schema.KindChartLock}, Metadata: schema.ObjectMeta{Name: "charts"}}}
	if old := repo.Lock(); old != nil {
		out.Metadata = old.Metadata
	}
	for _, l := range entries {
		out.Spec.Charts = append(out.Spec.Charts, l.Entry())
	}
	slices.SortFunc(out.Spec.Charts, func(a, b schema.LockedChart) int {
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Constraint, b.Constraint))
	})
	return out, lockChanges(repo.Lock(), out), nil
}

// lockChanges lists what differs between two locks, in the order of the new one, then
// the removed entries.
func lockChanges(old, updated *schema.ChartLock) []LockChange {
	key := func(e schema.LockedChart) remotechart.Ref {
		return remotechart.Ref{Repository: e.Repository, Name: e.Name, Constraint: e.Constraint}
	}
	before := map[remotechart.Ref]schema.LockedChart{}
	if old != nil {
		for _, e := range old.Spec.Charts {
			before[key(e)] = e
		}
	}
	var out []LockChange
	for _, e := range updated.Spec.Charts {
		o, had := before[key(e)]
		delete(before, key(e))
		switch {
		case !had:
			out = append(out, LockChange{Chart: key(e), New: e.Version})
		case o.Version != e.Version || o.Digest != e.Digest:
			out = append(out, LockChange{Chart: key(e), Old: o.Version, New: e.Version})
		}
	}
	if old != nil {
		for _, e := range old.Spec.Charts {
			if _, gone := before[key(e)]; gone {
				out = append(out, LockChange{Chart: key(e), Old: e.Version})
			}
		}
	}
	return out
}

// ChartLockChanges are the differences between the chart locks of two revisions (a pull
// request's base and head), for the plan report: a chart bump is shown with its versions.
func ChartLockChanges(base, head *schema.Repo) []LockChange {
	h := head.Lock()
	if h == nil {
		h = &schema.ChartLock{}
	}
	return lockChanges(base.Lock(), h)
}
