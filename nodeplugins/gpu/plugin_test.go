package gpu

import (
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/testing/protocmp"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// testKubelet is the kubelet's side of the device-plugin API: the registration service on
// kubelet.sock, and gRPC clients that dial the sockets plugins register.
type testKubelet struct {
	pluginapi.UnimplementedRegistrationServer
	dir        string
	srv        *grpc.Server
	registered chan *pluginapi.RegisterRequest
}

// socketDir returns a short directory for unix sockets (their paths are limited to 108
// bytes, which t.TempDir() under a long test name can exceed).
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gpu-dp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func startKubelet(t *testing.T, dir string) *testKubelet {
	t.Helper()
	lis, err := net.Listen("unix", filepath.Join(dir, "kubelet.sock"))
	if err != nil {
		t.Fatalf("kubelet registration socket: %v", err)
	}
	k := &testKubelet{dir: dir, srv: grpc.NewServer(), registered: make(chan *pluginapi.RegisterRequest, 8)}
	pluginapi.RegisterRegistrationServer(k.srv, k)
	go func() { _ = k.srv.Serve(lis) }()
	t.Cleanup(k.srv.Stop)
	return k
}

func (k *testKubelet) Register(_ context.Context, req *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	k.registered <- req
	return &pluginapi.Empty{}, nil
}

// restart does what a restarting kubelet does to the device-plugin directory: it stops,
// removes every socket in it, and serves a new kubelet.sock.
func (k *testKubelet) restart(t *testing.T) *testKubelet {
	t.Helper()
	k.srv.Stop()
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(k.dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return startKubelet(t, k.dir)
}

// waitRegistrations returns the plugin's two registrations, by resource name, and a client
// dialled on each registered endpoint.
func (k *testKubelet) waitRegistrations(t *testing.T) (map[Resource]*pluginapi.RegisterRequest, map[Resource]pluginapi.DevicePluginClient) {
	t.Helper()
	reqs := map[Resource]*pluginapi.RegisterRequest{}
	clients := map[Resource]pluginapi.DevicePluginClient{}
	deadline := time.After(10 * time.Second)
	for len(reqs) < 2 {
		select {
		case req := <-k.registered:
			r := Resource(req.ResourceName)
			reqs[r] = req
			conn, err := grpc.NewClient("unix://"+filepath.Join(k.dir, req.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatalf("dial %s: %v", req.Endpoint, err)
			}
			t.Cleanup(func() { conn.Close() })
			clients[r] = pluginapi.NewDevicePluginClient(conn)
		case <-deadline:
			t.Fatalf("the plugin registered %d of its 2 resources within 10 s", len(reqs))
		}
	}
	return reqs, clients
}

// fakeNodeFiles is a node's /dev with the NVIDIA device nodes of n cards (plain files: the
// plugin only checks that they exist) and a running MPS daemon's pipe directory, as
// ResponseOptions; extra names more files under dev/.
func fakeNodeFiles(t *testing.T, n int, extra ...string) ResponseOptions {
	t.Helper()
	root := t.TempDir()
	names := []string{"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"}
	for i := range n {
		names = append(names, "nvidia"+strconv.Itoa(i))
	}
	for _, dir := range []string{"dev", "mps/pipe", "mps/log", "mps/shm"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range append(names, extra...) {
		if err := os.WriteFile(filepath.Join(root, "dev", name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "mps/pipe/control"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return ResponseOptions{
		DevRoot: root, RequireMPS: true,
		MPSPipeDir: filepath.Join(root, "mps/pipe"), MPSLogDir: filepath.Join(root, "mps/log"), MPSShmDir: filepath.Join(root, "mps/shm"),
	}
}

// startPlugin runs the plugin for mgr against the kubelet in dir until the test ends.
func startPlugin(t *testing.T, mgr *Manager, dir string, files ResponseOptions) {
	t.Helper()
	opts := DefaultPluginOptions()
	opts.DevicePluginDir = dir
	opts.CheckInterval = 20 * time.Millisecond
	opts.Response = files
	opts.Logger = quietLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewPlugin(mgr, opts).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("plugin Run: %v", err)
		}
	})
}

func recvDevices(t *testing.T, stream grpc.ServerStreamingClient[pluginapi.ListAndWatchResponse]) map[string]string {
	t.Helper()
	type result struct {
		resp *pluginapi.ListAndWatchResponse
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := stream.Recv()
		got <- result{resp, err}
	}()
	var resp *pluginapi.ListAndWatchResponse
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("ListAndWatch: %v", r.err)
		}
		resp = r.resp
	case <-time.After(10 * time.Second):
		t.Fatal("ListAndWatch sent no update within 10 s")
	}
	health := map[string]string{}
	for _, d := range resp.Devices {
		health[d.ID] = d.Health
	}
	return health
}

// countHealth counts a ListAndWatch answer's units per card and health.
func countHealth(cards []Card, devs map[string]string) map[string]int {
	out := map[string]int{}
	for id, h := range devs {
		u, err := parseDeviceID(id)
		if err != nil {
			out["foreign "+id]++
			continue
		}
		for _, c := range cards {
			if c.UUID == u.UUID {
				out[gpuLabel(c.Index)+" "+h]++
			}
		}
	}
	return out
}

// TestKubeletRegistration drives the plugin as the kubelet does: registration on kubelet.sock,
// then ListAndWatch, GetPreferredAllocation and Allocate on the registered sockets, and a
// second registration after the kubelet restarts.
func TestKubeletRegistration(t *testing.T) {
	ctx := t.Context()
	node := newMockNode(t, eightMixed)
	cards := node.discover(t)
	mgr := NewManager(cards, ManagerOptions{PairWindow: 2 * time.Second, Logger: quietLogger()})
	dir := socketDir(t)
	kubelet := startKubelet(t, dir)
	files := fakeNodeFiles(t, len(cards))
	startPlugin(t, mgr, dir, files)

	reqs, clients := kubelet.waitRegistrations(t)
	for _, r := range []Resource{ResourceCore, ResourceMemory} {
		req := reqs[r]
		if req == nil {
			t.Fatalf("no registration for %s (got %v)", r, reqs)
		}
		want := &pluginapi.RegisterRequest{
			Version: pluginapi.Version, Endpoint: "gitfleet-gpu-" + strings.TrimPrefix(string(r), "tencent.com/") + ".sock",
			ResourceName: string(r), Options: &pluginapi.DevicePluginOptions{GetPreferredAllocationAvailable: true},
		}
		if req.Version != want.Version || req.Endpoint != want.Endpoint || !req.Options.GetPreferredAllocationAvailable {
			t.Errorf("registration of %s = %v, want %v", r, req, want)
		}
		opts, err := clients[r].GetDevicePluginOptions(ctx, &pluginapi.Empty{})
		if err != nil || !opts.GetPreferredAllocationAvailable || opts.PreStartRequired {
			t.Errorf("GetDevicePluginOptions(%s) = %v, %v; want preferred allocation, no pre-start", r, opts, err)
		}
	}

	// ListAndWatch: 100 core units per card, memory in 256 MiB units per card, all healthy.
	coreStream, err := clients[ResourceCore].ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	memStream, err := clients[ResourceMemory].ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	wantCore, wantMem := map[string]int{}, map[string]int{}
	for _, c := range cards {
		wantCore[gpuLabel(c.Index)+" Healthy"] = 100
		wantMem[gpuLabel(c.Index)+" Healthy"] = int(c.MemoryMiB / 256)
	}
	coreDevs := recvDevices(t, coreStream)
	if diff := cmp.Diff(wantCore, countHealth(cards, coreDevs)); diff != "" {
		t.Errorf("vcuda-core units per card (-want +got):\n%s", diff)
	}
	memDevs := recvDevices(t, memStream)
	if diff := cmp.Diff(wantMem, countHealth(cards, memDevs)); diff != "" {
		t.Errorf("vcuda-memory units per card (-want +got):\n%s", diff)
	}
	allCore, allMem := slices.Sorted(maps.Keys(coreDevs)), slices.Sorted(maps.Keys(memDevs))

	// The seed's example: 30 cores and 20 memory units (5 GiB), asked in the kubelet's order.
	pref, err := clients[ResourceCore].GetPreferredAllocation(ctx, &pluginapi.PreferredAllocationRequest{
		ContainerRequests: []*pluginapi.ContainerPreferredAllocationRequest{{AvailableDeviceIDs: allCore, AllocationSize: 30}},
	})
	if err != nil {
		t.Fatalf("GetPreferredAllocation(30 cores): %v", err)
	}
	coreIDs := pref.ContainerResponses[0].DeviceIDs
	if len(coreIDs) != 30 || !allOnCard(coreIDs, cards[0].UUID) {
		t.Fatalf("preferred 30 cores = %v, want 30 units of gpu0", coreIDs)
	}
	coreResp := allocate(t, clients[ResourceCore], coreIDs)
	wantCoreResp := &pluginapi.ContainerAllocateResponse{
		Envs: map[string]string{
			"NVIDIA_VISIBLE_DEVICES":            cards[0].UUID,
			"CUDA_VISIBLE_DEVICES":              cards[0].UUID,
			"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": "30",
			"CUDA_MPS_PIPE_DIRECTORY":           "/tmp/nvidia-mps",
			"CUDA_MPS_LOG_DIRECTORY":            "/var/log/nvidia-mps",
			EnvAllocationID:                     AllocationID(coreIDs),
		},
		Mounts: []*pluginapi.Mount{
			{ContainerPath: "/tmp/nvidia-mps", HostPath: files.MPSPipeDir},
			{ContainerPath: "/var/log/nvidia-mps", HostPath: files.MPSLogDir},
			{ContainerPath: "/dev/shm", HostPath: files.MPSShmDir},
		},
		Devices: []*pluginapi.DeviceSpec{
			{ContainerPath: "/dev/nvidia0", HostPath: "/dev/nvidia0", Permissions: "rw"},
			{ContainerPath: "/dev/nvidiactl", HostPath: "/dev/nvidiactl", Permissions: "rw"},
			{ContainerPath: "/dev/nvidia-uvm", HostPath: "/dev/nvidia-uvm", Permissions: "rw"},
			{ContainerPath: "/dev/nvidia-uvm-tools", HostPath: "/dev/nvidia-uvm-tools", Permissions: "rw"},
		},
		Annotations: map[string]string{AnnotationCards: cards[0].UUID, AnnotationCores: "30"},
	}
	if diff := cmp.Diff(wantCoreResp, coreResp, protocmp.Transform()); diff != "" {
		t.Errorf("Allocate(30 cores) (-want +got):\n%s", diff)
	}

	pref, err = clients[ResourceMemory].GetPreferredAllocation(ctx, &pluginapi.PreferredAllocationRequest{
		ContainerRequests: []*pluginapi.ContainerPreferredAllocationRequest{{AvailableDeviceIDs: allMem, AllocationSize: 20}},
	})
	if err != nil {
		t.Fatalf("GetPreferredAllocation(20 memory units): %v", err)
	}
	memIDs := pref.ContainerResponses[0].DeviceIDs
	if len(memIDs) != 20 || !allOnCard(memIDs, cards[0].UUID) {
		t.Fatalf("preferred memory = %v, want 20 units of gpu0, the card of the container's cores", memIDs)
	}
	memResp := allocate(t, clients[ResourceMemory], memIDs)
	if got := memResp.Envs["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"]; got != "0=5120M" {
		t.Errorf("memory limit = %q, want 0=5120M (20 units of 256 MiB on the container's only card)", got)
	}

	// A whole card: exclusive, no MPS.
	whole := allocate(t, clients[ResourceCore], cards[5].DeviceIDs(ResourceCore))
	if whole.Envs["CUDA_VISIBLE_DEVICES"] != cards[5].UUID || whole.Envs["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] != "" || len(whole.Mounts) != 0 {
		t.Errorf("Allocate(one whole card) = %v, want gpu5 visible and no MPS", whole)
	}

	// 250 units through gRPC: refused with the seed's rule in the message.
	_, err = clients[ResourceCore].Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{
		{DevicesIds: slices.Concat(cards[6].DeviceIDs(ResourceCore), cards[7].DeviceIDs(ResourceCore), cards[1].DeviceIDs(ResourceCore)[:50])},
	}})
	if err == nil || !strings.Contains(err.Error(), "250 mixes whole cards and a share") {
		t.Errorf("Allocate(250 cores) = %v, want the seed's refusal", err)
	}

	// The kubelet restarts: it removes the plugin's sockets and serves a new kubelet.sock.
	kubelet = kubelet.restart(t)
	_, clients = kubelet.waitRegistrations(t)
	again, err := clients[ResourceCore].ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCore, countHealth(cards, recvDevices(t, again))); diff != "" {
		t.Errorf("vcuda-core units after the kubelet restarted (-want +got):\n%s", diff)
	}
}

func allocate(t *testing.T, c pluginapi.DevicePluginClient, ids []string) *pluginapi.ContainerAllocateResponse {
	t.Helper()
	resp, err := c.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: ids}}})
	if err != nil {
		t.Fatalf("Allocate(%d IDs): %v", len(ids), err)
	}
	if len(resp.ContainerResponses) != 1 {
		t.Fatalf("Allocate answered %d containers, want 1", len(resp.ContainerResponses))
	}
	return resp.ContainerResponses[0]
}

func allOnCard(ids []string, uuid string) bool {
	for _, id := range ids {
		if u, err := parseDeviceID(id); err != nil || u.UUID != uuid {
			return false
		}
	}
	return true
}

// A plugin started before the kubelet (a node boot, a DaemonSet rollout during a kubelet
// upgrade) waits for kubelet.sock and registers once it appears.
func TestRegistersWhenKubeletComesUp(t *testing.T) {
	cards := newMockNode(t, oneCard).discover(t)
	mgr := NewManager(cards, ManagerOptions{Logger: quietLogger()})
	dir := socketDir(t)
	startPlugin(t, mgr, dir, fakeNodeFiles(t, len(cards)))
	time.Sleep(100 * time.Millisecond) // several failed attempts
	if _, err := os.Stat(filepath.Join(dir, "gitfleet-gpu-vcuda-core.sock")); err == nil {
		t.Error("the plugin left a socket behind while no kubelet was there")
	}
	reqs, clients := startKubelet(t, dir).waitRegistrations(t)
	if len(reqs) != 2 {
		t.Fatalf("registrations: %v", reqs)
	}
	stream, err := clients[ResourceMemory].ListAndWatch(t.Context(), &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if got := countHealth(cards, recvDevices(t, stream)); got["gpu0 Healthy"] != 96 {
		t.Errorf("vcuda-memory of one 24 GB card: %v, want 96 healthy units", got)
	}
}
