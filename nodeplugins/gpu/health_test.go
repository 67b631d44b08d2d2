package gpu

import (
	"context"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/google/go-cmp/cmp"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// startHealth runs a health watcher over the mock until the test ends.
func startHealth(t *testing.T, node *mockNode, mgr *Manager, quiet time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := DefaultHealthOptions()
	opts.WaitTimeout = 20 * time.Millisecond
	opts.RecoveryQuiet = quiet
	opts.Logger = quietLogger()
	go func() { done <- NewHealthWatcher(node, mgr, opts).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("health watcher: %v", err)
		}
	})
}

// TestCardFailureAndRecovery: an Xid 79 (the card fell off the bus) withdraws the card's units
// through ListAndWatch; an application Xid does not; the card comes back once NVML can read
// it again and it has been quiet for the recovery period.
func TestCardFailureAndRecovery(t *testing.T) {
	ctx := t.Context()
	node := newMockNode(t, eightMixed)
	cards := node.discover(t)
	mgr := NewManager(cards, ManagerOptions{PairWindow: time.Second, Logger: quietLogger()})
	dir := socketDir(t)
	kubelet := startKubelet(t, dir)
	startPlugin(t, mgr, dir, fakeNodeFiles(t, len(cards)))
	const quiet = 200 * time.Millisecond
	startHealth(t, node, mgr, quiet)
	_, clients := kubelet.waitRegistrations(t)

	core, err := clients[ResourceCore].ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	mem, err := clients[ResourceMemory].ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	healthy := map[string]int{}
	for _, c := range cards {
		healthy[gpuLabel(c.Index)+" Healthy"] = 100
	}
	if diff := cmp.Diff(healthy, countHealth(cards, recvDevices(t, core))); diff != "" {
		t.Fatalf("vcuda-core at start (-want +got):\n%s", diff)
	}
	recvDevices(t, mem)

	// An application's Xid 13 on gpu2 first: it must not show up as an update. Then gpu3
	// falls off the bus: NVML reports Xid 79 and stops answering for it.
	node.events <- nvml.EventData{Device: node.device(2), EventType: nvml.EventTypeXidCriticalError, EventData: 13}
	node.setLost(cards[3].UUID, true)
	node.events <- nvml.EventData{Device: node.device(3), EventType: nvml.EventTypeXidCriticalError, EventData: 79}

	failed := map[string]int{}
	for k, v := range healthy {
		failed[k] = v
	}
	delete(failed, "gpu3 Healthy")
	failed["gpu3 Unhealthy"] = 100
	if diff := cmp.Diff(failed, countHealth(cards, recvDevices(t, core))); diff != "" {
		t.Fatalf("vcuda-core after Xid 79 on gpu3 (-want +got):\n%s", diff)
	}
	memAfter := countHealth(cards, recvDevices(t, mem))
	if memAfter["gpu3 Unhealthy"] != int(cards[3].MemoryMiB/256) || memAfter["gpu3 Healthy"] != 0 || memAfter["gpu2 Unhealthy"] != 0 {
		t.Fatalf("vcuda-memory after Xid 79 on gpu3: %v, want all of gpu3's units unhealthy and only those", memAfter)
	}
	if ok, reason := mgr.Health(cards[3].UUID); ok || reason != "Xid 79 critical error" {
		t.Errorf("gpu3 health = %v %q, want unhealthy with its Xid", ok, reason)
	}

	// Still lost after the quiet period: it stays withdrawn.
	time.Sleep(3 * quiet)
	if ok, _ := mgr.Health(cards[3].UUID); ok {
		t.Fatal("gpu3 came back while NVML still cannot read it")
	}

	// The card answers again: ListAndWatch offers its units again.
	node.setLost(cards[3].UUID, false)
	if diff := cmp.Diff(healthy, countHealth(cards, recvDevices(t, core))); diff != "" {
		t.Fatalf("vcuda-core after gpu3 recovered (-want +got):\n%s", diff)
	}

	// A double-bit ECC error also withdraws the card.
	node.events <- nvml.EventData{Device: node.device(6), EventType: nvml.EventTypeDoubleBitEccError}
	if got := countHealth(cards, recvDevices(t, core)); got["gpu6 Unhealthy"] != 100 {
		t.Fatalf("vcuda-core after a double-bit ECC error on gpu6: %v, want gpu6's 100 units unhealthy", got)
	}
}

// A card that cannot register for events is served without health checks rather than
// stopping the watcher (old drivers answer ERROR_NOT_SUPPORTED).
func TestHealthWithoutEventSupport(t *testing.T) {
	node := newMockNode(t, oneCard)
	node.device(0).RegisterEventsFunc = func(uint64, nvml.EventSet) nvml.Return { return nvml.ERROR_NOT_SUPPORTED }
	cards := node.discover(t)
	mgr := NewManager(cards, ManagerOptions{Logger: quietLogger()})
	startHealth(t, node, mgr, time.Second)
	time.Sleep(100 * time.Millisecond)
	if ok, reason := mgr.Health(cards[0].UUID); !ok {
		t.Fatalf("card without event support marked unhealthy: %s", reason)
	}
}
