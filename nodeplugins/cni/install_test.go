package cni

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testConflist = `{"cniVersion":"1.0.0","name":"galaxy","plugins":[{"type":"gitfleet-cni","defaultMode":"overlay",
"flannel":{"subnetFile":"/run/flannel/subnet.env","backend":"ipip"},"device":"eth0","capabilities":{"portMappings":true}}]}`

func installFixture(t *testing.T) InstallOptions {
	dir := t.TempDir()
	opts := DefaultInstallOptions()
	opts.Binary = filepath.Join(dir, "src-bin")
	opts.Config = filepath.Join(dir, "galaxy", "00-galaxy.conflist")
	opts.BinDir = filepath.Join(dir, "opt-cni-bin")
	opts.ConfDir = filepath.Join(dir, "etc-cni-net.d")
	for _, d := range []string{filepath.Dir(opts.Config), opts.BinDir, opts.ConfDir} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(opts.Binary, []byte("#!/bin/true\n"), 0o755)
	os.WriteFile(opts.Config, []byte(testConflist), 0o644)
	return opts
}

// TestInstall: the binary lands executable as gitfleet-cni, the conflist under its own
// name, no temporary file stays behind, and a second pass with nothing changed writes
// nothing.
func TestInstall(t *testing.T) {
	opts := installFixture(t)
	done, err := Install(opts)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(opts.BinDir, "gitfleet-cni")
	conf := filepath.Join(opts.ConfDir, "00-galaxy.conflist")
	if done.Binary != bin || done.Config != conf {
		t.Errorf("installed %+v, want %s and %s", done, bin, conf)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("binary: %v %v, want mode 0755", fi, err)
	}
	if got, _ := os.ReadFile(conf); string(got) != testConflist {
		t.Errorf("installed conflist %q", got)
	}
	for _, d := range []string{opts.BinDir, opts.ConfDir} {
		entries, _ := os.ReadDir(d)
		if len(entries) != 1 {
			t.Errorf("%s holds %d files, want 1 (no temporary files)", d, len(entries))
		}
	}
	if again, err := Install(opts); err != nil || again != (Installed{}) {
		t.Errorf("second pass: %+v %v, want nothing written", again, err)
	}
}

// TestInstallRefusesABadConflist: a conflist the plugin would reject is not installed,
// and the error names the file and field.
func TestInstallRefusesABadConflist(t *testing.T) {
	opts := installFixture(t)
	os.WriteFile(opts.Config, []byte(strings.Replace(testConflist, `"overlay"`, `"vpc"`, 1)), 0o644)
	_, err := Install(opts)
	if err == nil || !strings.Contains(err.Error(), "00-galaxy.conflist") || !strings.Contains(err.Error(), "defaultMode") {
		t.Fatalf("error %v, want one naming the file and defaultMode", err)
	}
	if _, err := os.Stat(filepath.Join(opts.ConfDir, "00-galaxy.conflist")); err == nil {
		t.Error("the bad conflist was installed")
	}
}

// TestRunInstaller: it installs, picks up a ConfigMap change on its next resync, and
// returns when its context ends (SIGTERM), leaving the files in place.
func TestRunInstaller(t *testing.T) {
	opts := installFixture(t)
	opts.Resync = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- RunInstaller(ctx, opts) }()

	conf := filepath.Join(opts.ConfDir, "00-galaxy.conflist")
	changed := strings.Replace(testConflist, `"overlay"`, `"nat"`, 1)
	waitFor(t, func() bool { _, err := os.Stat(conf); return err == nil })
	os.WriteFile(opts.Config, []byte(changed), 0o644)
	waitFor(t, func() bool { got, _ := os.ReadFile(conf); return string(got) == changed })

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("RunInstaller: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunInstaller did not stop when its context ended")
	}
	if _, err := os.Stat(filepath.Join(opts.BinDir, "gitfleet-cni")); err != nil {
		t.Errorf("the plugin was removed on stop: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBinaryIsTheInstaller runs gitfleet-cni as the DaemonSet does (no CNI_COMMAND): it
// installs itself and the conflist, stays running, and exits 0 on SIGTERM. The installed
// copy answers VERSION as the plugin.
func TestBinaryIsTheInstaller(t *testing.T) {
	opts := installFixture(t)
	cmd := exec.Command(pluginBin, "--bin-dir", opts.BinDir, "--conf-dir", opts.ConfDir, "--config", opts.Config)
	cmd.Env = []string{"NODE_NAME=node-1"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	installed := filepath.Join(opts.BinDir, "gitfleet-cni")
	waitFor(t, func() bool {
		_, e1 := os.Stat(installed)
		_, e2 := os.Stat(filepath.Join(opts.ConfDir, "00-galaxy.conflist"))
		return e1 == nil && e2 == nil
	})
	select {
	case err := <-done:
		t.Fatalf("the installer exited after installing: %v", err)
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit on SIGTERM: %v, want status 0", err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the installer ignored SIGTERM")
	}

	version := exec.Command(installed)
	version.Env = []string{"CNI_COMMAND=VERSION"}
	version.Stdin = strings.NewReader("{}")
	out, err := version.Output()
	if err != nil || !strings.Contains(string(out), `"1.0.0"`) {
		t.Errorf("installed plugin VERSION: %s %v, want the supported versions with 1.0.0", out, err)
	}
}
