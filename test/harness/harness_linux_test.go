package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv switches the test binary into a helper that starts an environment in the directory
// it names and then waits to be killed (see TestComponentsDieWithTestBinary).
const helperEnv = "GITFLEET_HARNESS_TEST_HELPER_WORKDIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(runHelper(dir))
	}
	os.Exit(m.Run())
}

func runHelper(dir string) int {
	_, err := Start(context.Background(), Options{WorkDir: dir, ControllerManager: true, Scheduler: true, Nodes: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("READY")
	time.Sleep(time.Hour) // until the test kills this process
	return 0
}

// TestComponentsDieWithTestBinary kills a test binary that never calls Stop and checks that
// Pdeathsig takes every component with it.
func TestComponentsDieWithTestBinary(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if s.Text() == "READY" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("helper failed: %s", stderr.String())
		}
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper not ready after 90s: %s", stderr.String())
	}

	// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok.
	if pids := processesMentioning(t, dir); len(pids) != 5 {
		t.Errorf("helper runs %d components (%v), want 5", len(pids), pids)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eventually(t, 10*time.Second, func() error {
		if pids := processesMentioning(t, dir); len(pids) > 0 {
			return fmt.Errorf("components still running after the test binary was killed: %v", pids)
		}
		return nil
	})
}

// TestStartFailureIncludesLog starts a kube-apiserver that exits at once: Start must fail with
// its log tail and stop etcd, which had already started.
func TestStartFailureIncludesLog(t *testing.T) {
	bins, err := findBinaries(Options{})
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	if err := os.Symlink(bins.etcd, filepath.Join(binDir, "etcd")); err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\necho 'fake kube-apiserver refuses to start' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(binDir, "kube-apiserver"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	workDir := filepath.Join(t.TempDir(), "work")
	_, err = Start(t.Context(), Options{BinDir: binDir, WorkDir: workDir})
	if err == nil {
		t.Fatal("Start succeeded with a kube-apiserver that exits")
	}
	for _, want := range []string{`cluster "member-1": kube-apiserver`, "exited before it was ready", "fake kube-apiserver refuses to start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if pids := processesMentioning(t, workDir); len(pids) > 0 {
		t.Errorf("processes left after a failed Start: %v", pids)
	}
}

// TestStartCanceled checks that the context bounds the startup and that nothing is left behind.
func TestStartCanceled(t *testing.T) {
	workDir := filepath.Join(t.TempDir(), "work")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, Options{WorkDir: workDir, Clusters: []string{"a", "b"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a 300ms deadline: err = %v, want DeadlineExceeded", err)
	}
	if pids := processesMentioning(t, workDir); len(pids) > 0 {
		t.Errorf("processes left after a canceled Start: %v", pids)
	}
}

// processesMentioning returns the live processes whose command line contains s. Every
// component gets paths inside the work directory as flags, so this finds them all.
func processesMentioning(t *testing.T, s string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil { // exited meanwhile; zombies have an empty command line
			continue
		}
		if bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
