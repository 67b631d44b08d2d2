package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// Apply applies one rendered revision to the fleet's clusters, each independently and in
// parallel, and returns one result per cluster in the repository's cluster order. A
// cluster that fails (unreachable, say) only fails its own result. The error is for
// problems with the request itself, such as an unknown cluster name in opts.Clusters.
func Apply(ctx context.Context, repo *schema.Repo, renderer ClusterRenderer, conn Connector, opts ApplyOptions) ([]ClusterResult, error) {
	clusters, err := selectClusters(repo, opts.Clusters)
	if err != nil {
		return nil, err
	}
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	results := make([]ClusterResult, len(clusters))
	g := new(errgroup.Group)
	g.SetLimit(max(1, opts.Concurrency))
	for i, c := range clusters {
		g.Go(func() error {
			results[i] = applyCluster(ctx, repo, c, renderer, conn, opts)
			return nil
		})
	}
	_ = g.Wait() // workers record failures in their results and never return an error.
	return results, nil
}

// ClusterRenderer renders what one cluster must get: a *render.Renderer (one revision),
// or the loop's rollout view, where each App has the revision its wave reached.
type ClusterRenderer interface {
	Cluster(ctx context.Context, c *schema.Cluster) render.ClusterResult
}

// applyCluster is the whole pipeline for one cluster: render, connect, apply, prune,
// record.
func applyCluster(ctx context.Context, repo *schema.Repo, c *schema.Cluster, renderer ClusterRenderer, conn Connector, opts ApplyOptions) ClusterResult {
	name := c.Metadata.Name
	opts.Progress.Stage(name, "rendering")
	desired := withAlertSecrets(ctx, repo, c, renderer.Cluster(ctx, c), opts.Secrets, opts.SecretPolicy)

	opts.Progress.Stage(name, "connecting")
	a, err := newClusterApplier(ctx, repo.Fleet.Metadata.Name, c, conn, opts)
	if err != nil {
		opts.Progress.Stage(name, "failed: "+err.Error())
		return ClusterResult{Cluster: name, Apps: notApplied(desired), Err: err}
	}
	res := a.apply(ctx, desired, *repo.Fleet.Spec.Prune)
	opts.Progress.Stage(name, "done")
	return res
}

// notApplied reports every App of an unreachable cluster as not applied, keeping render
// failures so that they are not hidden behind the connection problem.
func notApplied(desired render.ClusterResult) []AppResult {
	out := make([]AppResult, len(desired.Apps))
	for i, app := range desired.Apps {
		out[i] = AppResult{App: app.App.Metadata.Name, Health: Unknown, Err: app.Err}
	}
	return out
}

func selectClusters(repo *schema.Repo, names []string) ([]*schema.Cluster, error) {
	if len(names) == 0 {
		return repo.Clusters, nil
	}
	var out []*schema.Cluster
	var unknown []string
	for _, n := range names {
		c := repo.Cluster(n)
		if c == nil {
			unknown = append(unknown, n)
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(unknown) > 0 {
		known := make([]string, len(repo.Clusters))
		for i, c := range repo.Clusters {
			known[i] = c.Metadata.Name
		}
		return nil, fmt.Errorf("no cluster named %s in the repository (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// RemoveCluster deletes, from a cluster the repository no longer declares, everything the
// fleet put there, and the fleet's inventories. Removing the Cluster file was reviewed
// like any change, so the prune guard does not hold this back; objects gitfleet did not
// create are left alone as always.
func RemoveCluster(ctx context.Context, fleet string, c *schema.Cluster, conn Connector, opts ApplyOptions) ClusterResult {
	if opts.Progress == nil {
		opts.Progress = noProgress{}
	}
	opts.PruneGuard.AllowMassPrune = true
	a, err := newClusterApplier(ctx, fleet, c, conn, opts)
	if err != nil {
		return ClusterResult{Cluster: c.Metadata.Name, Err: err}
	}
	return a.apply(ctx, render.ClusterResult{Cluster: c.Metadata.Name}, true)
}
