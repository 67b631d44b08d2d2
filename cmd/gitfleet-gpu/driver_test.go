package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

const fakeUUID = "GPU-fa4e0000-1111-2222-3333-444455556666"

// buildFakeDriver compiles testdata/fakenvml.c into a libnvidia-ml.so.1 with the C compiler
// cgo uses (the plugin needs it to build at all).
func buildFakeDriver(t *testing.T) string {
	t.Helper()
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	lib := filepath.Join(t.TempDir(), nvmlLibrary)
	out, err := exec.Command(cc, "-shared", "-fPIC", "-o", lib, "testdata/fakenvml.c").CombinedOutput()
	if err != nil {
		t.Fatalf("building the fake NVIDIA driver needs a C compiler (%s, as cgo does): %v\n%s", cc, err, out)
	}
	return lib
}

// registrations is the kubelet's registration service on kubelet.sock.
type registrations struct {
	pluginapi.UnimplementedRegistrationServer
	got chan *pluginapi.RegisterRequest
}

func (r *registrations) Register(_ context.Context, req *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	r.got <- req
	return &pluginapi.Empty{}, nil
}

// TestFakeDriver runs the command against a stand-in libnvidia-ml.so.1 through the real
// go-nvml bindings: discovery, registration with a kubelet, ListAndWatch and Allocate over
// gRPC, and the card on /usage.
func TestFakeDriver(t *testing.T) {
	lib := buildFakeDriver(t)
	pluginDir, err := os.MkdirTemp("", "gpu-cmd-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pluginDir)
	lis, err := net.Listen("unix", filepath.Join(pluginDir, "kubelet.sock"))
	if err != nil {
		t.Fatal(err)
	}
	kubelet := &registrations{got: make(chan *pluginapi.RegisterRequest, 4)}
	srv := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(srv, kubelet)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	devRoot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(devRoot, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"nvidia0", "nvidiactl", "nvidia-uvm"} {
		if err := os.WriteFile(filepath.Join(devRoot, "dev", n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pipe := filepath.Join(devRoot, "mps-pipe")
	if err := os.MkdirAll(pipe, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pipe, "control"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	var logs syncBuffer
	cmd := newRootCommand()
	cmd.SetErr(&logs)
	cmd.SetArgs([]string{"--nvml-library=" + lib, "--device-plugin-dir=" + pluginDir, "--dev-root=" + devRoot,
		"--mps-pipe-dir=" + pipe, "--metrics-port=" + strconv.Itoa(port), "--node-name=gpu-node-1", "--pod-resources-socket=" + filepath.Join(pluginDir, "none.sock")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gitfleet-gpu: %v\nlogs:\n%s", err, logs.String())
		}
	}()

	clients := map[string]pluginapi.DevicePluginClient{}
	for len(clients) < 2 {
		select {
		case req := <-kubelet.got:
			conn, err := grpc.NewClient("unix://"+filepath.Join(pluginDir, req.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			clients[req.ResourceName] = pluginapi.NewDevicePluginClient(conn)
		case err := <-done:
			t.Fatalf("gitfleet-gpu ended before registering: %v\nlogs:\n%s", err, logs.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("gitfleet-gpu did not register both resources within 10 s\nlogs:\n%s", logs.String())
		}
	}
	for resource, want := range map[string]int{"tencent.com/vcuda-core": 100, "tencent.com/vcuda-memory": 64} {
		stream, err := clients[resource].ListAndWatch(ctx, &pluginapi.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		healthy := 0
		for _, d := range resp.Devices {
			if strings.HasPrefix(d.ID, fakeUUID+"_") && d.Health == pluginapi.Healthy {
				healthy++
			}
		}
		if healthy != want || len(resp.Devices) != want {
			t.Errorf("%s: %d healthy units of the fake card out of %d, want %d", resource, healthy, len(resp.Devices), want)
		}
	}
	var ids []string
	for i := range 50 {
		ids = append(ids, fakeUUID+"_core"+strconv.Itoa(i))
	}
	resp, err := clients["tencent.com/vcuda-core"].Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: ids}}})
	if err != nil {
		t.Fatalf("Allocate(50 cores): %v", err)
	}
	if envs := resp.ContainerResponses[0].Envs; envs["CUDA_VISIBLE_DEVICES"] != fakeUUID || envs["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] != "50" {
		t.Errorf("Allocate(50 cores) envs = %v", envs)
	}

	r, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/usage")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{"gpu0  " + fakeUUID + "  Fake NVIDIA GPU 16GB  16384", "healthy"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/usage lacks %q:\n%s", want, body)
		}
	}
	for _, want := range []string{`msg="GPU found"`, "uuid=" + fakeUUID, "memory_mib=16384 pci=00000000:3B:00.0 vcuda_core=100 vcuda_memory=64"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}
