package render

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
)

// ChartFetcher gives the archives of locked remote charts (remotechart.Client).
type ChartFetcher interface {
	Fetch(ctx context.Context, chart remotechart.Locked, auth *schema.ChartAuth) ([]byte, error)
}

var _ ChartFetcher = (*remotechart.Client)(nil)

// ErrNoChartFetcher is the cause of a remote chart rendered without Options.Charts.
var ErrNoChartFetcher = errors.New("remote charts are not fetched here")

// remoteChart is a remote chart an App needs, and why.
type remoteChart struct {
	ref remotechart.Ref
	// parent is the chart whose Chart.yaml declares it as a dependency; empty for the
	// App's own chart.
	parent string
	// auth are the App's credentials when the chart is on the App's repository's host.
	auth *schema.ChartAuth
}

func (n remoteChart) String() string {
	if n.parent == "" {
		return n.ref.String()
	}
	return fmt.Sprintf("dependency %s of chart %s", n.ref, n.parent)
}

// lockedChart is the lock entry of a chart an App needs, or why it has none.
func lockedChart(repo *schema.Repo, n remoteChart) (remotechart.Locked, error) {
	e, _ := repo.LockedChart(n.ref.Repository, n.ref.Name, n.ref.Constraint)
	if e == nil {
		return remotechart.Locked{}, &remotechart.NotLockedError{Chart: n.ref}
	}
	l := remotechart.FromEntry(*e)
	if !l.Satisfies() {
		return l, &remotechart.StaleLockError{Chart: l}
	}
	return l, nil
}

// authFor is the App's auth if host is its repository's host: credentials never go to
// another host (Helm's rule too, without --pass-credentials).
func authFor(h *schema.HelmSource, repository string) *schema.ChartAuth {
	if h.Auth == nil || h.Repository == "" {
		return nil
	}
	a, errA := url.Parse(h.Repository)
	b, errB := url.Parse(repository)
	if errA != nil || errB != nil || a.Host != b.Host {
		return nil
	}
	return h.Auth
}

// remoteDependencies are the dependencies of a chart's Chart.yaml that name a Helm
// repository or OCI registry and are not vendored in its charts/ directory: gitfleet
// fetches them by the lock, as `helm dependency build` would from Chart.lock.
func remoteDependencies(h *schema.HelmSource, c *chart.Chart) []remoteChart {
	vendored := map[string]bool{}
	for _, d := range c.Dependencies() {
		vendored[d.Name()] = true
	}
	var out []remoteChart
	seen := map[remotechart.Ref]bool{}
	for _, d := range c.Metadata.Dependencies {
		ref := remotechart.Ref{Repository: d.Repository, Name: d.Name, Constraint: d.Version}
		if vendored[d.Name] || !remotechart.IsRemoteRepository(d.Repository) || seen[ref] {
			continue
		}
		seen[ref] = true
		out = append(out, remoteChart{ref: ref, parent: c.Name(), auth: authFor(h, d.Repository)})
	}
	return out
}

// fetchChart reads an App's chart with its remote dependencies: its own archive from the
// lock when it is remote (fromRepo reads an in-repository one), then each dependency's
// archive added to charts/, where Helm's loader finds vendored dependencies.
func fetchChart(ctx context.Context, repo *schema.Repo, app *schema.App, fetch ChartFetcher, unfetched *chartSet, fromRepo func() ([]*loader.BufferedFile, error), limits yamlbound.Limits) ([]*loader.BufferedFile, string, error) {
	h := app.Spec.Source.Helm
	name := h.Chart
	var files []*loader.BufferedFile
	if h.IsRemote() {
		n := remoteChart{ref: remotechart.AppRef(h), auth: h.Auth}
		data, l, err := fetchLocked(ctx, repo, n, fetch, unfetched)
		if err != nil {
			return nil, name, err
		}
		name = fmt.Sprintf("%s-%s.tgz (%s)", l.Name, l.Version, l.Repository)
		if files, err = archiveFiles(name, data, limits); err != nil {
			return nil, name, err
		}
	} else {
		var err error
		if files, err = fromRepo(); err != nil {
			return nil, name, err
		}
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, name, err
	}
	deps := remoteDependencies(h, c)
	if len(deps) > 0 {
		files = slices.Clone(files)
	}
	for _, n := range deps {
		data, l, err := fetchLocked(ctx, repo, n, fetch, unfetched)
		if err != nil {
			return nil, name, err
		}
		// Held to the same limits as the chart's own files, then added as Helm vendors
		// a dependency.
		depName := fmt.Sprintf("charts/%s-%s.tgz", l.Name, l.Version)
		if _, err := archiveFiles(depName, data, limits); err != nil {
			return nil, name, fmt.Errorf("%s: %w", n, err)
		}
		files = append(files, &loader.BufferedFile{Name: depName, Data: data})
	}
	return files, name, nil
}

// fetchLocked fetches one needed chart by its lock entry.
func fetchLocked(ctx context.Context, repo *schema.Repo, n remoteChart, fetch ChartFetcher, unfetched *chartSet) ([]byte, remotechart.Locked, error) {
	l, err := lockedChart(repo, n)
	if err != nil {
		if n.parent != "" {
			err = fmt.Errorf("dependency of chart %s: %w", n.parent, err)
		}
		return nil, l, err
	}
	if fetch == nil {
		return nil, l, fmt.Errorf("%s: %w", l, ErrNoChartFetcher)
	}
	data, err := fetch.Fetch(ctx, l, n.auth)
	var nc *remotechart.NotCachedError
	if errors.As(err, &nc) {
		unfetched.add(l)
	}
	if err != nil {
		if n.parent != "" {
			return nil, l, fmt.Errorf("dependency of chart %s: %w", n.parent, err)
		}
		return nil, l, err
	}
	return data, l, nil
}

// chartLabel is how an error names a chart.
func chartLabel(h *schema.HelmSource) string {
	if h.IsRemote() {
		return strings.TrimPrefix(remotechart.AppRef(h).String(), "chart ")
	}
	return h.Chart
}

// chartSet is a set of charts, safe for concurrent use (the renders of clusters run in
// parallel).
type chartSet struct {
	mu  sync.Mutex
	set map[string]bool
}

func (s *chartSet) add(l remotechart.Locked) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = map[string]bool{}
	}
	s.set[fmt.Sprintf("%s (%s)", l, l.Digest)] = true
}

func (s *chartSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.set))
}

// UnfetchedCharts are the remote charts this render needed and could not read from the
// chart cache without fetching (the Charts fetcher is offline: validate); the Apps that
// use them were not rendered.
func (r *Renderer) UnfetchedCharts() []string { return r.unfetched.list() }
