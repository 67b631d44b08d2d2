package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/test/hostile"
)

// runMainEnv makes the test binary the gitfleet CLI, for tests that need a process of
// their own to measure (its peak memory) or to survive (its crash).
const runMainEnv = "GITFLEET_TEST_RUN_MAIN"

// runAsGitfleet runs main with the process's arguments and exits.
func runAsGitfleet() {
	os.Args = append([]string{"gitfleet"}, os.Args[1:]...)
	main()
	os.Exit(0)
}

// cliProcess is what one gitfleet process did.
type cliProcess struct {
	code     int
	stdout   string
	maxRSSKB int64
}

// runCLI runs gitfleet in a process of its own.
func runCLI(t *testing.T, args ...string) cliProcess {
	t.Helper()
	// Only a guard against a hang: nothing is asserted about time.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("gitfleet %v: %v", args, err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		t.Fatal("peak memory of a child process is not reported on this platform: this test needs Linux rusage")
	}
	return cliProcess{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), maxRSSKB: ru.Maxrss}
}

// TestValidateRefusesAnAliasBombCheaply is the report of issue 14: a "billion laughs" in
// an App's kustomize manifest drove validate to 24 GB. It must be a problem naming the
// file and the flag, with little more memory than validating the repository without it.
func TestValidateRefusesAnAliasBombCheaply(t *testing.T) {
	baseline := runCLI(t, "validate", "../../fleet-example")
	if baseline.code != 0 {
		t.Fatalf("validate fleet-example: exit %d: %s", baseline.code, baseline.stdout)
	}
	repo := exampleRepo(t)
	bomb := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gitfleet\n" + hostile.AliasBomb()
	if err := repo.Write(map[string]string{"apps/gitfleet/namespace.yaml": bomb}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("billion laughs"); err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, "validate", repo.Dir)
	if got.code != 1 || !strings.Contains(got.stdout, "apps/gitfleet/namespace.yaml") || !strings.Contains(got.stdout, yamlbound.FlagMaxNodes) {
		t.Errorf("validate with a bomb: exit %d, output %q; want exit 1 and a problem naming the file and %s", got.code, got.stdout, yamlbound.FlagMaxNodes)
	}
	const allowanceKB = 100 << 10
	t.Logf("peak RSS: %d MiB without the bomb, %d MiB with it", baseline.maxRSSKB>>10, got.maxRSSKB>>10)
	if got.maxRSSKB > baseline.maxRSSKB+allowanceKB {
		t.Errorf("validate with a bomb peaked at %d MiB, %d MiB more than without it; want at most 100 MiB more", got.maxRSSKB>>10, (got.maxRSSKB-baseline.maxRSSKB)>>10)
	}
}

// TestValidateStopsAHelmLoop: a template loop that would allocate gigabytes runs in a
// render process that is killed at --max-render-memory; validate reports the App and the
// flag. Peak RSS as the kernel reports it for the validate process includes its largest
// reaped child, so the bound checked is the cap plus what validate needs on its own.
func TestValidateStopsAHelmLoop(t *testing.T) {
	baseline := runCLI(t, "validate", "../../fleet-example")
	if baseline.code != 0 {
		t.Fatalf("validate fleet-example: exit %d: %s", baseline.code, baseline.stdout)
	}
	repo := exampleRepo(t)
	// 100,000,000 ints: 800 MB for until's slice alone, and more for the range.
	loop := "{{ range until 100000000 }}{{ end }}\n"
	if err := repo.Write(map[string]string{"charts/status-page/templates/loop.yaml": loop}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit("a template loop"); err != nil {
		t.Fatal(err)
	}
	const capMiB = 200
	got := runCLI(t, "validate", repo.Dir, "--max-render-memory", fmt.Sprint(capMiB<<20))
	if got.code != 1 || !strings.Contains(got.stdout, "apps/status-page/app.yaml") || !strings.Contains(got.stdout, "--max-render-memory") {
		t.Errorf("validate with a template loop: exit %d, output %q; want exit 1 naming the App and --max-render-memory", got.code, got.stdout)
	}
	t.Logf("peak RSS: %d MiB without the loop, %d MiB with it (its render process capped at %d MiB)", baseline.maxRSSKB>>10, got.maxRSSKB>>10, capMiB)
	if limit := baseline.maxRSSKB + (capMiB+100)<<10; got.maxRSSKB > limit {
		t.Errorf("validate with a template loop peaked at %d MiB; want at most %d MiB", got.maxRSSKB>>10, limit>>10)
	}
}
