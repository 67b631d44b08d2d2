package gpu

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	podresourcesapi "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// testPodResources is the kubelet's pod-resources service on a unix socket.
type testPodResources struct {
	podresourcesapi.UnimplementedPodResourcesListerServer
	pods []*podresourcesapi.PodResources
}

func (p *testPodResources) List(context.Context, *podresourcesapi.ListPodResourcesRequest) (*podresourcesapi.ListPodResourcesResponse, error) {
	return &podresourcesapi.ListPodResourcesResponse{PodResources: p.pods}, nil
}

func startPodResources(t *testing.T, pods []*podresourcesapi.PodResources) string {
	t.Helper()
	sock := filepath.Join(socketDir(t), "kubelet.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	podresourcesapi.RegisterPodResourcesListerServer(srv, &testPodResources{pods: pods})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return sock
}

// fakeProc writes /proc/<pid>/environ files.
func fakeProc(t *testing.T, environ map[uint32]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, env := range environ {
		dir := filepath.Join(root, fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "environ"), []byte(strings.ReplaceAll(env, " ", "\x00")+"\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func container(name string, devices map[Resource][]string) *podresourcesapi.ContainerResources {
	c := &podresourcesapi.ContainerResources{Name: name}
	for _, r := range []Resource{ResourceCore, ResourceMemory} {
		if ids := devices[r]; ids != nil {
			c.Devices = append(c.Devices, &podresourcesapi.ContainerDevices{ResourceName: string(r), DeviceIds: ids})
		}
	}
	return c
}

// scrape fetches path from the server and parses it as Prometheus text, keyed by
// name{label="value",...} with labels sorted.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	out := map[string]float64{}
	for name, fam := range families {
		for _, m := range fam.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			out[name+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestMetricsEndpoint scrapes the metrics over HTTP for two GPU containers: a share (30 cores,
// 5 GiB) and two whole cards, with their processes found through /proc and NVML.
func TestMetricsEndpoint(t *testing.T) {
	node := newMockNode(t, eightMixed)
	cards := node.discover(t)
	mgr := NewManager(cards, ManagerOptions{PairWindow: time.Second, Logger: quietLogger()})
	b := newBooks(cards)
	shareCores, err := b.admit(mgr, ResourceCore, 30)
	if err != nil {
		t.Fatal(err)
	}
	shareMem, err := b.admit(mgr, ResourceMemory, 20)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := b.admit(mgr, ResourceCore, 200)
	if err != nil {
		t.Fatal(err)
	}
	if shareCores.Cards[0].Index != 0 || shareMem.Cards[0].Index != 0 || whole.Cards[0].Index != 1 || whole.Cards[1].Index != 2 {
		t.Fatalf("unexpected placement: share on %v/%v, whole on %v", shareCores.UUIDs(), shareMem.UUIDs(), whole.UUIDs())
	}
	sock := startPodResources(t, []*podresourcesapi.PodResources{
		{Namespace: "ml", Name: "train", Containers: []*podresourcesapi.ContainerResources{
			container("worker", map[Resource][]string{ResourceCore: shareCores.DeviceIDs, ResourceMemory: shareMem.DeviceIDs}),
			container("sidecar", nil),
		}},
		{Namespace: "ml", Name: "big", Containers: []*podresourcesapi.ContainerResources{
			container("main", map[Resource][]string{ResourceCore: whole.DeviceIDs}),
		}},
		{Namespace: "other", Name: "pgpu", Containers: []*podresourcesapi.ContainerResources{{
			Name: "c", Devices: []*podresourcesapi.ContainerDevices{{ResourceName: "nvidia.com/gpu", DeviceIds: []string{"GPU-elsewhere"}}},
		}}},
	})
	proc := fakeProc(t, map[uint32]string{
		4242: "PATH=/bin " + EnvAllocationID + "=" + AllocationID(shareCores.DeviceIDs),
		4343: EnvAllocationID + "=" + AllocationID(whole.DeviceIDs) + " HOME=/root",
		4344: EnvAllocationID + "=" + AllocationID(whole.DeviceIDs),
		999:  "PATH=/bin", // the MPS server: on the card, in no container
	})
	const mib = 1 << 20
	node.procs[cards[0].UUID] = []nvml.ProcessInfo{{Pid: 4242, UsedGpuMemory: 1000 * mib}, {Pid: 999, UsedGpuMemory: 300 * mib}}
	node.procs[cards[1].UUID] = []nvml.ProcessInfo{{Pid: 4343, UsedGpuMemory: 2048 * mib}}
	node.procs[cards[2].UUID] = []nvml.ProcessInfo{{Pid: 4344, UsedGpuMemory: 4096 * mib}}
	node.samples[cards[0].UUID] = []nvml.ProcessUtilizationSample{{Pid: 4242, TimeStamp: 10, SmUtil: 20}, {Pid: 4242, TimeStamp: 20, SmUtil: 25}, {Pid: 999, TimeStamp: 20, SmUtil: 5}}
	node.samples[cards[1].UUID] = []nvml.ProcessUtilizationSample{{Pid: 4343, TimeStamp: 15, SmUtil: 90}}

	opts := DefaultUsageOptions()
	opts.NodeName = "gpu-node-1"
	opts.PodResourcesSocket = sock
	opts.ProcRoot = proc
	opts.Logger = quietLogger()
	srv := httptest.NewServer(NewMetricsHandler(NewUsageReader(node, mgr, opts), quietLogger()))
	defer srv.Close()

	got := scrape(t, srv.URL+"/metrics")
	labels := func(pod, ctr, extra string) string {
		l := []string{fmt.Sprintf("container_name=%q", ctr), extra, `namespace="ml"`, `node="gpu-node-1"`, fmt.Sprintf("pod_name=%q", pod)}
		sort.Strings(l)
		return "{" + strings.Join(l, ",") + "}"
	}
	want := map[string]float64{
		// The share: the seed's example values.
		"container_request_gpu_utilization" + labels("train", "worker", `req_of_gpu="total"`):   0.30000001192092896,
		"container_request_gpu_memory" + labels("train", "worker", `req_of_gpu_memory="total"`): 5120,
		"container_gpu_utilization" + labels("train", "worker", `gpu="gpu0"`):                   0.25,
		"container_gpu_utilization" + labels("train", "worker", `gpu="total"`):                  0.25,
		"container_gpu_memory_total" + labels("train", "worker", `gpu_memory="gpu0"`):           1000,
		"container_gpu_memory_total" + labels("train", "worker", `gpu_memory="total"`):          1000,
		"container_request_gpu_utilization" + labels("big", "main", `req_of_gpu="total"`):       2,
		"container_request_gpu_memory" + labels("big", "main", `req_of_gpu_memory="total"`):     40960 + 81920,
		"container_gpu_utilization" + labels("big", "main", `gpu="gpu1"`):                       0.9,
		"container_gpu_utilization" + labels("big", "main", `gpu="gpu2"`):                       0,
		"container_gpu_utilization" + labels("big", "main", `gpu="total"`):                      0.9,
		"container_gpu_memory_total" + labels("big", "main", `gpu_memory="gpu1"`):               2048,
		"container_gpu_memory_total" + labels("big", "main", `gpu_memory="gpu2"`):               4096,
		"container_gpu_memory_total" + labels("big", "main", `gpu_memory="total"`):              6144,
	}
	for _, c := range cards {
		want[fmt.Sprintf(`gitfleet_gpu_card_healthy{gpu=%q,node="gpu-node-1",uuid=%q}`, gpuLabel(c.Index), c.UUID)] = 1
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}

	// The next scrape asks NVML only for samples newer than the ones already reported.
	if alias := scrape(t, srv.URL+"/metric"); len(alias) != len(want) {
		t.Errorf("/metric has %d series, want the %d of /metrics", len(alias), len(want))
	}
	if since := node.sinceSeen[cards[0].UUID]; !slices.Equal(since, []uint64{0, 20}) {
		t.Errorf("GetProcessUtilization on gpu0 was asked for samples since %v, want [0 20]", since)
	}

	resp, err := http.Get(srv.URL + "/usage")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{"gpu0  " + cards[0].UUID, "ml         train  worker     gpu0       30        5120", "ml         big    main       gpu1,gpu2  200"} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/usage lacks %q:\n%s", line, body)
		}
	}
}

// TestMetricsWithoutGPU: a node without GPUs still serves /metrics (empty) and says so on
// /usage, so the DaemonSet's port and Prometheus's scrape stay healthy.
func TestMetricsWithoutGPU(t *testing.T) {
	opts := DefaultUsageOptions()
	opts.NodeName = "cpu-node"
	opts.Logger = quietLogger()
	srv := httptest.NewServer(NewMetricsHandler(NewUsageReader(nil, NewManager(nil, DefaultManagerOptions()), opts), quietLogger()))
	defer srv.Close()
	if got := scrape(t, srv.URL+"/metrics"); len(got) != 0 {
		t.Errorf("/metrics on a node without GPUs = %v, want no series", got)
	}
	resp, err := http.Get(srv.URL + "/usage")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "node cpu-node: no GPU"; !strings.Contains(string(body), want) {
		t.Errorf("/usage = %q, want %q", body, want)
	}
}

// lostCard is NVML with one card gone from the bus: every lookup of it fails.
type lostCard struct {
	nvml.Interface
	uuid string
}

func (l lostCard) DeviceGetHandleByUUID(uuid string) (nvml.Device, nvml.Return) {
	if uuid == l.uuid {
		return nil, nvml.ERROR_GPU_IS_LOST
	}
	return l.Interface.DeviceGetHandleByUUID(uuid)
}

// A card NVML cannot read does not break the scrape: the other cards are reported, and
// /usage says what could not be read.
func TestMetricsWithLostCard(t *testing.T) {
	node := newMockNode(t, eightMixed)
	cards := node.discover(t)
	mgr := NewManager(cards, ManagerOptions{Logger: quietLogger()})
	opts := DefaultUsageOptions()
	opts.NodeName = "gpu-node-1"
	opts.PodResourcesSocket = startPodResources(t, nil)
	opts.ProcRoot = t.TempDir()
	opts.Logger = quietLogger()
	srv := httptest.NewServer(NewMetricsHandler(NewUsageReader(lostCard{node, cards[5].UUID}, mgr, opts), quietLogger()))
	defer srv.Close()
	if got := scrape(t, srv.URL+"/metrics"); len(got) != 8 {
		t.Errorf("/metrics with gpu5 lost has %d series, want the 8 cards' health: %v", len(got), got)
	}
	resp, err := http.Get(srv.URL + "/usage")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "problem: NVML DeviceGetHandleByUUID on GPU " + cards[5].UUID + ": ERROR_GPU_IS_LOST"; !strings.Contains(string(body), want) {
		t.Errorf("/usage lacks %q:\n%s", want, body)
	}
}
