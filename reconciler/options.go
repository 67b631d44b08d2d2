package reconciler

import (
	"time"

	"github.com/go-logr/logr"

	"gitfleet.dev/gitfleet/schema"
)

// FieldManager is the server-side apply field manager of every gitfleet write.
const FieldManager = "gitfleet"

// ApplyOptions tune one apply of a revision to the fleet's clusters.
type ApplyOptions struct {
	// Clusters limits the apply to these clusters; empty means every cluster.
	Clusters []string
	// Concurrency is how many clusters are applied at once; clusters are independent, so
	// this only bounds the reconciler's own load.
	Concurrency int
	// ObjectConcurrency is how many objects of one cluster are compared and applied at
	// once: each costs a round trip to the API server, so doing them one by one would make
	// a large cluster's reconcile as slow as its latency times its objects.
	ObjectConcurrency int
	// HealthTimeout bounds the wait for an App's objects to become healthy; an App still
	// progressing after it is reported as such and its dependents are not applied.
	HealthTimeout time.Duration
	// PruneGuard keeps a broken render from wiping a cluster.
	PruneGuard PruneGuard
	// Secrets reads, from the cluster gitfleet runs in, the Secrets that alerting routes
	// need copied into member clusters; nil fails the alerting unit of a cluster that
	// needs one, with a message saying so.
	Secrets SecretReader
	// SecretPolicy is what the repository may refer to (schema.SecretPolicy); the loop
	// loads each revision with it, and Secrets copied for alerting routes are checked
	// against it again before they are read, since a caller may not have loaded with it.
	SecretPolicy schema.SecretPolicy
	// Progress receives a line per cluster and stage; nil reports nothing.
	Progress Progress
	// Log receives structured logs.
	Log logr.Logger
}

// PruneGuard says when deleting objects needs an explicit override.
type PruneGuard struct {
	// AllowMassPrune lets an apply delete more than MaxFraction of a cluster's objects.
	AllowMassPrune bool
	// MaxFraction of the objects gitfleet manages in a cluster that one apply may prune.
	MaxFraction float64
	// MinObjects is the number of prunes below which the guard never trips, so that small
	// clusters and test fleets can remove an App.
	MinObjects int
}

// DefaultApplyOptions returns the options the CLI uses unless told otherwise.
func DefaultApplyOptions() ApplyOptions {
	return ApplyOptions{
		Concurrency:       8,
		ObjectConcurrency: 10,
		HealthTimeout:     2 * time.Minute,
		PruneGuard:        PruneGuard{MaxFraction: 0.5, MinObjects: 10},
		SecretPolicy:      schema.DefaultSecretPolicy(),
		Log:               logr.Discard(),
	}
}

// Progress is told what the apply is doing, for a terminal's progress lines.
type Progress interface {
	Stage(cluster, stage string)
}

type noProgress struct{}

func (noProgress) Stage(string, string) {}
