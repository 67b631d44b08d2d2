package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun/sshtest"
)

// probeReply is a machine's answer to the probe: a healthy business-cluster node (CentOS
// 7.6, 16 cores, 32 GiB) with some sections replaced.
func probeReply(replace map[string]string) string {
	sections := []struct{ name, body string }{
		{"hostname", "node-x"},
		{"os-release", "ID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\""},
		{"redhat-release", "CentOS Linux release 7.6.1810 (Core)"},
		{"uname", "3.10.0-957.21.3.el7.x86_64 x86_64"},
		{"cpus", "16"},
		{"meminfo", "MemTotal:       32779608 kB\nSwapTotal:             0 kB"},
		{"swaps", "Filename Type Size Used Priority"},
		{"rootfs", "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 209702892 10485760 199217132 6% /"},
		{"selinux", "Disabled"},
		{"uid", "0"},
		{"timezone", "Asia/Shanghai"},
		{"end", ""},
	}
	var b strings.Builder
	for _, s := range sections {
		body, ok := replace[s.name]
		if !ok {
			body = s.body
		}
		fmt.Fprintf(&b, "@@gitfleet-probe:%s\n%s\n", s.name, body)
	}
	return b.String()
}

func scriptedMachine(t *testing.T, ip, probe string) *sshtest.Server {
	return sshtest.StartOn(t, ip, sshtest.Auth{User: "root", Password: "pw"}, func(cmd string) sshtest.Reply {
		switch cmd {
		case machines.ProbeScript:
			return sshtest.Reply{Stdout: probe}
		case machines.ClockCommand:
			now := time.Now()
			return sshtest.Reply{Stdout: fmt.Sprintf("%d.%09d\n", now.Unix(), now.Nanosecond())}
		}
		return sshtest.Reply{Status: 127}
	})
}

// machinesRepo writes a fleet repository with one Baremetal cluster whose machines are
// at the addresses (the first is the master).
func machinesRepo(t *testing.T, addrs ...string) string {
	t.Helper()
	return machinesRepoWith(t, "{env: GITFLEET_SECRET_TEST_MACHINE_PASSWORD}", addrs...)
}

// machinesRepoWith is machinesRepo with the machines' password reference.
func machinesRepoWith(t *testing.T, password string, addrs ...string) string {
	t.Helper()
	dir := t.TempDir()
	var ms strings.Builder
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		role := "worker"
		if i == 0 {
			role = "master"
		}
		fmt.Fprintf(&ms, "  - {ip: %s, port: %s, role: %s, password: %s}\n", host, port, role, password)
	}
	files := map[string]string{
		"fleet.yaml":           "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: machines\n",
		"clusters/gz-dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: gz-dev\nspec:\n  type: Baremetal\n  version: \"1.18.3\"\n  network: {clusterCIDR: 172.16.0.0/16}\n  machines:\n" + ms.String(),
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestMachinesCheck: a healthy master and a worker that fails three checks: the table
// lists both, each failure with what was seen and its fix, and the exit status is 1;
// -o json carries every check of both.
func TestMachinesCheck(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_MACHINE_PASSWORD", "pw")
	healthy := scriptedMachine(t, "127.0.0.2", probeReply(nil))
	failing := scriptedMachine(t, "127.0.0.3", probeReply(map[string]string{
		"cpus":    "2",
		"swaps":   "Filename Type Size Used Priority\n/swapfile file 2097148 0 -2",
		"selinux": "Enforcing",
	}))
	repo := machinesRepo(t, healthy.Addr, failing.Addr)
	knownHosts := sshtest.WriteKnownHosts(t,
		sshtest.KnownHostsLine(healthy.Addr, healthy.HostKey.PublicKey()),
		sshtest.KnownHostsLine(failing.Addr, failing.HostKey.PublicKey()))

	code, stdout, stderr := gitfleet(t, "machines", "check", "--repo", repo, "--known-hosts", knownHosts)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a check failed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("gitfleet machines check:\n%s", stdout)
	if stderr != "" {
		t.Errorf("progress lines on a non-terminal stderr: %q", stderr)
	}
	host, _, _ := net.SplitHostPort(failing.Addr)
	for _, want := range []string{
		"CLUSTER", "gz-dev", "node-x",
		"fail cpu       2 cores (minimum 8)",
		"fail swap", "swapoff -a",
		"fail selinux   Enforcing", "setenforce 0",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "gz-dev "+host) {
		t.Errorf("the failing machine's section is missing:\n%s", stdout)
	}

	code, stdout, _ = gitfleet(t, "machines", "check", "--repo", repo, "--known-hosts", knownHosts, "-o", "json")
	if code != 1 {
		t.Fatalf("-o json: exit %d, want 1", code)
	}
	var report []struct {
		Cluster string `json:"cluster"`
		IP      string `json:"ip"`
		Checks  []struct{ ID, Result string }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if len(report) != 2 {
		t.Fatalf("-o json: %d machines, want 2", len(report))
	}
	var failed []string
	for _, c := range report[1].Checks {
		if c.Result == "fail" {
			failed = append(failed, c.ID)
		}
	}
	if strings.Join(failed, ",") != "cpu,swap,selinux" || len(report[0].Checks) != 15 {
		t.Errorf("-o json: second machine failed %v (want cpu, swap, selinux); first has %d checks (want 15)", failed, len(report[0].Checks))
	}
}

// TestMachinesCheckUnknownHost: a machine missing from known_hosts is refused before any
// command runs, and the output gives the fingerprint to compare.
func TestMachinesCheckUnknownHost(t *testing.T) {
	t.Setenv("GITFLEET_SECRET_TEST_MACHINE_PASSWORD", "pw")
	srv := scriptedMachine(t, "127.0.0.1", probeReply(nil))
	repo := machinesRepo(t, srv.Addr)
	code, stdout, stderr := gitfleet(t, "machines", "check", "--repo", repo, "--known-hosts", sshtest.WriteKnownHosts(t))
	fp := ssh.FingerprintSHA256(srv.HostKey.PublicKey())
	if code != 1 || !strings.Contains(stdout, "fail ssh") || !strings.Contains(stdout, fp) {
		t.Errorf("exit %d, want 1 and a failed ssh check with %s:\n%s%s", code, fp, stdout, stderr)
	}
	if len(srv.Commands()) != 0 {
		t.Errorf("commands ran on a machine whose host key is unknown: %d", len(srv.Commands()))
	}
}

// TestMachinesCheckSecretsDir: a password file is read inside --secrets-dir only. Without
// the flag the repository is refused before any machine is reached, naming the field; a
// symlink in the directory pointing outside it is refused when read, and its target's
// content never reaches the machine or the output.
func TestMachinesCheckSecretsDir(t *testing.T) {
	srv := scriptedMachine(t, "127.0.0.1", probeReply(nil))
	repo := machinesRepoWith(t, "{file: ssh/password}", srv.Addr)
	knownHosts := sshtest.WriteKnownHosts(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey.PublicKey()))
	secrets := t.TempDir()
	if err := os.MkdirAll(filepath.Join(secrets, "ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "ssh", "password"), []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := gitfleet(t, "machines", "check", "--repo", repo, "--known-hosts", knownHosts)
	want := `clusters/gz-dev.yaml:10:65: spec.machines[0].password.file: "ssh/password" is not an allowed file: gitfleet reads file references only inside a directory the operator gives with --secrets-dir, and none was given`
	if code != 1 || !strings.Contains(stderr, want) || len(srv.Commands()) != 0 {
		t.Errorf("without --secrets-dir: exit %d, %d commands run\n%s%s\nwant exit 1 and %s", code, len(srv.Commands()), stdout, stderr, want)
	}

	code, stdout, stderr = gitfleet(t, "machines", "check", "--repo", repo, "--known-hosts", knownHosts, "--secrets-dir", secrets)
	if code != 0 {
		t.Errorf("with --secrets-dir: exit %d, want 0\n%s%s", code, stdout, stderr)
	}

	outside := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(outside, []byte("host-only"), 0o600); err != nil {
		t.Fatal(err)
	}
	escape := t.TempDir()
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(escape, "ssh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(filepath.Dir(outside), "password")); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Commands())
	code, stdout, stderr = gitfleet(t, "machines", "check", "--repo", repo, "--known-hosts", knownHosts, "--secrets-dir", escape)
	if code != 1 || !strings.Contains(stdout+stderr, "path escapes from parent") || strings.Contains(stdout+stderr, "host-only") || len(srv.Commands()) != before {
		t.Errorf("a symlink leaving --secrets-dir: exit %d, %d commands run\n%s%s\nwant exit 1, refused before connecting", code, len(srv.Commands())-before, stdout, stderr)
	}
}
