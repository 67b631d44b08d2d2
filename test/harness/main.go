package harness

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"
)

// RunMain is a test package's TestMain body for suites that share one Env: it starts the
// clusters, stores the Env in *env, runs the tests and stops everything. If the clusters
// cannot start it returns a failing exit code with the reason on stderr; it never skips,
// because a suite that silently does not run proves nothing.
//
//	func TestMain(m *testing.M) { os.Exit(harness.RunMain(m, harness.Options{...}, &env)) }
func RunMain(m *testing.M, opts Options, env **Env) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: cannot start the test clusters: %v\n", err)
		return 1
	}
	*env = e
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: stopping the test clusters: %v\n", err)
		}
	}()
	return m.Run()
}
