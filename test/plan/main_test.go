// Package plan tests `gitfleet plan` over real commits of a scratch fleet repository, and
// its --live comparison against real API servers from the harness.
package plan

import (
	"os"
	"testing"

	"gitfleet.dev/gitfleet/test/harness"
)

// env is shared by the live tests; each uses its own Fleet name and namespaces.
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.RunMain(m, harness.Options{Clusters: []string{"alpha", "beta"}}, &env))
}
