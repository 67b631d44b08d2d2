// Package install tests gitfleet's own installation end to end: the image make image
// assembles (pushed to a real registry and pulled back), and the install objects, applied
// to a real API server, whose ServiceAccount is enough for serve to reconcile the example
// fleet and no more.
package install

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gitfleet.dev/gitfleet/test/harness"
)

// env holds four clusters named like fleet-example's; global is also the management
// cluster gitfleet is installed into. Controllers, a scheduler and kwok nodes make what the
// example deploys healthy.
var env *harness.Env

// gitfleetBin is gitfleet built once for every test as make image builds it (static,
// -trimpath, version stamped), for the host's architecture only: an image test needs one
// platform, and the build cache makes this a link when nothing changed.
var gitfleetBin string

// testVersion is the version stamped into gitfleetBin.
const testVersion = "v0.0.0-installtest"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gitfleet-install-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	gitfleetBin = filepath.Join(dir, "gitfleet")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion, "-o", gitfleetBin, "gitfleet.dev/gitfleet/cmd/gitfleet")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building gitfleet: %v\n%s", err, out)
		return 1
	}
	return harness.RunMain(m, harness.Options{Clusters: []string{"global", "gz-dev", "bj-prod", "sh-gpu"}, ControllerManager: true, Scheduler: true, Nodes: 2}, &env)
}
