package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the command writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}

// TestIdleWithoutDriver: on a node without the NVIDIA driver the binary stays up, registers
// nothing, logs why, and serves its (empty) metrics until it is stopped.
func TestIdleWithoutDriver(t *testing.T) {
	pluginDir := t.TempDir()
	port := freePort(t)
	var logs syncBuffer
	cmd := newRootCommand()
	cmd.SetErr(&logs)
	cmd.SetArgs([]string{"--metrics-port=" + strconv.Itoa(port), "--driver-root=" + t.TempDir(),
		"--device-plugin-dir=" + pluginDir, "--node-name=cpu-node-1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	var body []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/usage")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics on port %d within 10 s: %v\nlogs:\n%s", port, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(string(body), "node cpu-node-1: no GPU") {
		t.Errorf("/usage = %q, want it to say the node has no GPU", body)
	}
	if !strings.Contains(logs.String(), "idle: no NVIDIA driver on this node") {
		t.Errorf("logs do not say why the node idles:\n%s", logs.String())
	}
	if entries, _ := os.ReadDir(pluginDir); len(entries) != 0 {
		t.Errorf("an idle node created %d files in the device-plugin directory", len(entries))
	}
	select {
	case err := <-done:
		t.Fatalf("the command ended while idle: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stopping an idle plugin: %v", err)
	}
}

func TestExplicitLibraryMustExist(t *testing.T) {
	cmd := newRootCommand()
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--nvml-library=/nonexistent/libnvidia-ml.so.1", "--metrics-port=" + strconv.Itoa(freePort(t))})
	err := cmd.ExecuteContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "--nvml-library /nonexistent/libnvidia-ml.so.1") {
		t.Fatalf("missing --nvml-library: got %v, want an error naming the flag and path", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"--log-level=loud", `--log-level "loud"`},
		{"--log-format=xml", `--log-format "xml"`},
		{"--metrics-port=70000", "--metrics-port 70000"},
	} {
		cmd := newRootCommand()
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{tc.arg, "--driver-root=" + t.TempDir()})
		if err := cmd.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.arg, err, tc.want)
		}
	}
}

func TestFindDriver(t *testing.T) {
	nvidia, host := t.TempDir(), t.TempDir()
	for _, dir := range []string{filepath.Join(nvidia, "lib64"), filepath.Join(host, "lib", "x86_64-linux-gnu")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hostLib := filepath.Join(host, "lib", "x86_64-linux-gnu", nvmlLibrary)
	if err := os.WriteFile(hostLib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Only the host's /usr has the driver: it is found there, after /usr/local/nvidia's
	// directories were tried.
	s, err := findDriver("", []string{nvidia, host})
	if err != nil || s.Library != hostLib {
		t.Fatalf("findDriver = %+v, %v; want %s", s, err, hostLib)
	}
	if !slices.Contains(s.Tried, filepath.Join(nvidia, "lib64", nvmlLibrary)) {
		t.Errorf("tried %v, want /usr/local/nvidia's lib64 among them", s.Tried)
	}
	// /usr/local/nvidia comes first when it has the library too.
	nvidiaLib := filepath.Join(nvidia, "lib64", nvmlLibrary)
	if err := os.WriteFile(nvidiaLib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := findDriver("", []string{nvidia, host}); err != nil || s.Library != nvidiaLib {
		t.Errorf("findDriver with both = %+v, %v; want %s", s, err, nvidiaLib)
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tencent.com/vcuda-core", "tencent.com/vcuda-memory", "--metrics-port int", "(default 5678)",
		"/var/lib/kubelet/device-plugins", "/usr/local/nvidia,/usr/local/host", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
