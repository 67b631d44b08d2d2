package machines

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/reconciler/machines/sshrun"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun/sshtest"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/schema"
)

// cannedMachine is a scripted SSH server that answers the probe with output and the
// clock with the test's clock.
func cannedMachine(t *testing.T, password, output string, hang bool) *sshtest.Server {
	return sshtest.Start(t, sshtest.Auth{User: "root", Password: password}, func(cmd string) sshtest.Reply {
		switch cmd {
		case ProbeScript:
			return sshtest.Reply{Stdout: output, Hang: hang}
		case ClockCommand:
			now := time.Now()
			return sshtest.Reply{Stdout: fmt.Sprintf("%d.%09d\n", now.Unix(), now.Nanosecond())}
		}
		return sshtest.Reply{Status: 127}
	})
}

func machineAt(t *testing.T, addr string) schema.Machine {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return schema.Machine{IP: host, Port: p, Username: "root", Role: schema.RoleWorker, Password: &schema.SecretRef{Env: "GITFLEET_SECRET_TEST_SSH_PASSWORD"}}
}

func runOptions(t *testing.T, knownHosts ...string) Options {
	t.Helper()
	hosts, err := sshrun.LoadKnownHosts(sshtest.WriteKnownHosts(t, knownHosts...))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.KnownHosts = hosts
	o.Secrets = notify.EnvFileResolver(notify.DefaultEnvFileOptions())
	// Far above what a login and a command take, so that a loaded machine (CI, tests in
	// parallel) does not fail these; the timeouts themselves have tests of their own.
	o.DialTimeout, o.CommandTimeout = 30*time.Second, 30*time.Second
	return o
}

func failedIDs(r MachineResult) []string {
	var ids []string
	for _, c := range r.Checks {
		if c.Result == Fail {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestRunReportsEveryFailure: a machine with too few cores, swap on and SELinux
// enforcing is reported with all three failures, each with what was seen and a fix.
func TestRunReportsEveryFailure(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_SSH_PASSWORD", "pw")
	srv := cannedMachine(t, "pw", probeOutput(map[string]string{
		"cpus":    "2",
		"swaps":   "Filename Type Size Used Priority\n/swapfile file 2097148 0 -2",
		"selinux": "Enforcing",
	}), false)
	c := testCluster("gz-dev")
	c.Spec.Machines = []schema.Machine{machineAt(t, srv.Addr)}
	results, err := Run(t.Context(), []Target{{Cluster: c, Machine: c.Spec.Machines[0]}}, runOptions(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey.PublicKey())))
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Err != nil {
		t.Fatalf("machine not checked: %v", r.Err)
	}
	if diff := cmp.Diff([]string{"cpu", "swap", "selinux"}, failedIDs(r)); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s", diff)
	}
	for _, ch := range r.Checks {
		if ch.Result == Fail && (ch.Seen == "" || ch.Fix == "") {
			t.Errorf("check %s failed without what was seen (%q) or a fix (%q)", ch.ID, ch.Seen, ch.Fix)
		}
	}
	if r.Failed() != 3 {
		t.Errorf("Failed() = %d, want 3", r.Failed())
	}
	if got := srv.Commands(); !slices.Equal(got, []string{ProbeScript, ClockCommand}) {
		t.Errorf("commands run on the machine: %d, want exactly the probe and the clock (fixed strings)", len(got))
	}
}

// TestRunUnreachableDoesNotDelay: a port that never answers and a machine whose probe
// hangs are reported (timeouts, with a fix) only after both healthy machines were
// finished: they never held the others up.
func TestRunUnreachableDoesNotDelay(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_SSH_PASSWORD", "pw")
	good1 := cannedMachine(t, "pw", probeOutput(nil), false)
	good2 := cannedMachine(t, "pw", probeOutput(nil), false)
	hung := cannedMachine(t, "pw", "", true)
	blackhole := sshtest.Blackhole(t)
	c := testCluster("gz-dev")
	c.Spec.Machines = []schema.Machine{machineAt(t, blackhole), machineAt(t, hung.Addr), machineAt(t, good1.Addr), machineAt(t, good2.Addr)}
	var targets []Target
	for _, m := range c.Spec.Machines {
		targets = append(targets, Target{Cluster: c, Machine: m})
	}
	opts := runOptions(t,
		sshtest.KnownHostsLine(good1.Addr, good1.HostKey.PublicKey()),
		sshtest.KnownHostsLine(good2.Addr, good2.HostKey.PublicKey()),
		sshtest.KnownHostsLine(hung.Addr, hung.HostKey.PublicKey()))
	opts.DialTimeout, opts.CommandTimeout = 2*time.Second, time.Second
	var mu sync.Mutex
	var order []string
	opts.Done = func(r MachineResult) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, net.JoinHostPort(r.Machine.IP, strconv.Itoa(r.Machine.Port)))
	}
	results, err := Run(t.Context(), targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 4 || slices.Index(order, blackhole) < 2 || slices.Index(order, hung.Addr) < 2 {
		t.Errorf("order of completion %v: the healthy machines %s and %s must finish before the unreachable %s and the hung %s",
			order, good1.Addr, good2.Addr, blackhole, hung.Addr)
	}
	var timeout *sshrun.TimeoutError
	for i, r := range results[:2] {
		if !errors.As(r.Err, &timeout) {
			t.Errorf("machine %s: got %v, want a timeout", r.Machine.IP, r.Err)
		}
		if len(r.Checks) != 1 || r.Checks[0].ID != "ssh" || r.Checks[0].Result != Fail || r.Checks[0].Fix == "" {
			t.Errorf("machine %d: checks %+v, want one failed ssh check with a fix", i, r.Checks)
		}
	}
	for _, r := range results[2:] {
		if r.Err != nil || r.Failed() != 0 {
			t.Errorf("healthy machine %s: err %v, %d failed", r.Machine.IP, r.Err, r.Failed())
		}
	}
}

// TestRunOpenSSH: the probe against this machine through Debian's sshd, logged in with a
// key read from a file reference, reports this machine's own facts.
func TestRunOpenSSH(t *testing.T) {
	srv := sshtest.StartOpenSSH(t)
	secretsDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(secretsDir, "id_ed25519"), srv.PrivateKey, 0o600); err != nil {
		t.Fatal(err)
	}
	m := machineAt(t, srv.Addr)
	m.Username, m.Password, m.PrivateKey = srv.User, nil, &schema.SecretRef{File: "id_ed25519"}
	c := testCluster("gz-dev")
	c.Spec.Machines = []schema.Machine{m}
	opts := runOptions(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey))
	resolver := notify.DefaultEnvFileOptions()
	resolver.Dir = secretsDir
	opts.Secrets = notify.EnvFileResolver(resolver)
	results, err := Run(context.Background(), []Target{{Cluster: c, Machine: m}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Err != nil {
		t.Fatalf("probe over OpenSSH: %v", r.Err)
	}
	host, _ := os.Hostname()
	f := r.Facts
	if f.Hostname != host || f.CPUs != runtime.NumCPU() || f.MemoryBytes <= 0 || f.Kernel == "" || f.OSID == "" {
		t.Errorf("facts %+v: want hostname %s, %d CPUs, memory, kernel and OS", f, host, runtime.NumCPU())
	}
	// The same clock: zero must lie within the measured offset and its uncertainty (the
	// round trip, which grows on a loaded machine).
	if f.ClockOffset.Abs() > f.ClockUncertainty+100*time.Millisecond {
		t.Errorf("the same machine's clock is %s off, more than the measurement's uncertainty %s", f.ClockOffset, f.ClockUncertainty)
	}
	got := verdicts(r.Checks)
	wantClock := Pass
	if f.ClockUncertainty > maxClockSkew {
		wantClock = Warn // a round trip too slow to tell (a loaded machine) is said as such
	}
	if got["clock"] != wantClock || got["root"] != Pass || got["ssh"] != "" {
		t.Errorf("checks %+v: the clock and root checks must pass on the machine itself", r.Checks)
	}
	if len(got) != 15 {
		t.Errorf("%d checks, want the 14 per-machine checks and timezone: %v", len(got), got)
	}
}

// TestRunMissingSecret: a credential reference that does not resolve is the machine's
// failure (naming the field), not the run's.
func TestRunMissingSecret(t *testing.T) {
	c := testCluster("gz-dev")
	m := schema.Machine{IP: "127.0.0.1", Port: 1, Password: &schema.SecretRef{Env: "GITFLEET_SECRET_TEST_UNSET_VARIABLE"}}
	results, err := Run(t.Context(), []Target{{Cluster: c, Machine: m}}, runOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var se *SecretError
	if !errors.As(results[0].Err, &se) || se.Field != "password" {
		t.Fatalf("got %v, want a *SecretError for password", results[0].Err)
	}
}
