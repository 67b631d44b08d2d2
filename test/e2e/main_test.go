// Package e2e tests gitfleet end to end: real git repositories, real kube-apiservers from
// the harness, the same library calls the CLI makes.
package e2e

import (
	"os"
	"testing"

	"gitfleet.dev/gitfleet/test/harness"
)

// env is shared by every test of the package: starting API servers costs seconds, and each
// test isolates itself with its own Fleet name and namespaces.
var env *harness.Env

// Cluster names of the shared harness.
const (
	alpha = "alpha"
	beta  = "beta"
	gamma = "gamma"
	// delta is the fourth cluster, for the rollout tests' three waves.
	delta = "delta"
)

func TestMain(m *testing.M) {
	os.Exit(harness.RunMain(m, harness.Options{Clusters: []string{alpha, beta, gamma, delta}}, &env))
}
