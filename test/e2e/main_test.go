// Package e2e tests gitfleet end to end: real git repositories, real kube-apiservers from
// the harness, the same library calls the CLI makes.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/test/harness"
)

// env is shared by every test of the package: starting API servers costs seconds, and each
// test isolates itself with its own Fleet name and namespaces.
var env *harness.Env

// Cluster names of the shared harness.
const (
	alpha = "alpha"
	beta  = "beta"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	env, err = harness.Start(ctx, harness.Options{
		Clusters: []string{alpha, beta},
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		// Fail, never skip: an end-to-end suite that silently does not run proves nothing.
		fmt.Fprintf(os.Stderr, "e2e: cannot start the test clusters: %v\n", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the test clusters: %v\n", err)
		}
	}()
	return m.Run()
}
