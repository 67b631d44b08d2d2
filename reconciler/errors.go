package reconciler

import "fmt"

// ConfigError is a problem that only a change of configuration can fix (a missing
// kubeconfig context, say); retrying the same revision will not help.
type ConfigError struct {
	Cluster string
	Err     error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("cluster %q: %v", e.Cluster, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// UnreachableError means a member cluster's API server could not be reached; the apply of
// that cluster is retried on the next run and the other clusters are not affected.
type UnreachableError struct {
	Cluster string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cluster %q is unreachable: %v", e.Cluster, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// ApplyError is a failed apply of one App in one cluster. ChangeSet-wise, what was done
// before the failure is still reported in the App's result.
type ApplyError struct {
	Cluster, App string
	Err          error
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("apply app %q to cluster %q: %v", e.App, e.Cluster, e.Err)
}
func (e *ApplyError) Unwrap() error { return e.Err }

// DependencyError means an App was not applied because an App it depends on failed or is
// not healthy yet.
type DependencyError struct {
	App, Dependency string
}

func (e *DependencyError) Error() string {
	return fmt.Sprintf("app %q waits for app %q, which is not applied and healthy", e.App, e.Dependency)
}

// PruneGuardError means an apply would have deleted most of a cluster's objects; nothing
// was pruned. Rerun with the mass-prune override if that is really intended.
type PruneGuardError struct {
	Cluster        string
	Prune, Managed int
}

func (e *PruneGuardError) Error() string {
	return fmt.Sprintf("cluster %q: refusing to prune %d of the %d objects gitfleet manages there; "+
		"if the repository really removed them, apply again with --allow-mass-prune", e.Cluster, e.Prune, e.Managed)
}
