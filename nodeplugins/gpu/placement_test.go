package gpu

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"gitfleet.dev/gitfleet/test/harness"
)

const (
	placedNode = "gpu-node-1"
	placedNS   = "gpu-jobs"
)

// placedKubelet is the kubelet's side for one node: its books of free IDs per resource, and
// the admission of one container resource as the kubelet does it (GetPreferredAllocation,
// then Allocate with the preferred IDs).
type placedKubelet struct {
	clients map[Resource]pluginapi.DevicePluginClient
	free    map[Resource][]string
}

func (k *placedKubelet) preferred(t *testing.T, r Resource, size int) ([]string, error) {
	t.Helper()
	resp, err := k.clients[r].GetPreferredAllocation(t.Context(), &pluginapi.PreferredAllocationRequest{
		ContainerRequests: []*pluginapi.ContainerPreferredAllocationRequest{{AvailableDeviceIDs: k.free[r], AllocationSize: int32(size)}},
	})
	if err != nil {
		return nil, err
	}
	return resp.ContainerResponses[0].DeviceIDs, nil
}

// admit places one resource of one container and returns the indexes of the cards it got.
func (k *placedKubelet) admit(t *testing.T, cards []Card, r Resource, size int) []int {
	t.Helper()
	ids, err := k.preferred(t, r, size)
	if err != nil {
		t.Fatalf("GetPreferredAllocation(%d %s): %v", size, r, err)
	}
	allocate(t, k.clients[r], ids)
	k.free[r] = slices.DeleteFunc(k.free[r], func(id string) bool { return slices.Contains(ids, id) })
	return cardIndexes(t, cards, ids)
}

func cardIndexes(t *testing.T, cards []Card, ids []string) []int {
	t.Helper()
	var out []int
	for _, id := range ids {
		u, err := parseDeviceID(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cards {
			if c.UUID == u.UUID && !slices.Contains(out, c.Index) {
				out = append(out, c.Index)
			}
		}
	}
	slices.Sort(out)
	return out
}

// gpuPod is a pod bound to placedNode, as kube-scheduler leaves it after gpu-quota-admission
// chose its cards: containers ask for (cores, memory), annotations as the extender writes them.
func gpuPod(name string, annotations map[string]string, requests ...[2]int) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: placedNS, Annotations: annotations},
		Spec:       corev1.PodSpec{NodeName: placedNode},
	}
	for i, req := range requests {
		limits := corev1.ResourceList{}
		if req[0] > 0 {
			limits[corev1.ResourceName(ResourceCore)] = *resource.NewQuantity(int64(req[0]), resource.DecimalSI)
		}
		if req[1] > 0 {
			limits[corev1.ResourceName(ResourceMemory)] = *resource.NewQuantity(int64(req[1]), resource.DecimalSI)
		}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: "c" + string(rune('0'+i)), Image: "cuda:12", Resources: corev1.ResourceRequirements{Limits: limits},
		})
	}
	return pod
}

func predicated(at string, indexes map[int]string) map[string]string {
	a := map[string]string{AnnotationPredicateTime: at, AnnotationPredicateNode: placedNode, AnnotationAssigned: "false"}
	for i, v := range indexes {
		a[AnnotationPredicateIndexPrefix+string(rune('0'+i))] = v
	}
	return a
}

// TestSchedulerExtenderPlacement drives the plugin through the kubelet's gRPC calls while
// pods with gpu-quota-admission's annotations wait on a real API server: each container gets
// the annotated card (memory too, whichever resource the kubelet asks first), the pod is then
// annotated gpu-assigned=true, a pod without annotations gets the card the plugin would choose
// anyway, and a choice the node cannot honour is refused naming the pod.
func TestSchedulerExtenderPlacement(t *testing.T) {
	env := harness.StartT(t, harness.Options{Clusters: []string{"gpu"}})
	client, err := kubernetes.NewForConfig(env.Cluster("gpu").RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mustCreate(t, func() error {
		_, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: placedNode}}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: placedNS}}, metav1.CreateOptions{})
		return err
	})
	// No controller-manager creates the namespace's default service account, which the
	// ServiceAccount admission plugin wants before it admits a pod.
	mustCreate(t, func() error {
		_, err := client.CoreV1().ServiceAccounts(placedNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
		return err
	})
	createPod := func(pod *corev1.Pod) {
		t.Helper()
		mustCreate(t, func() error {
			_, err := client.CoreV1().Pods(placedNS).Create(ctx, pod, metav1.CreateOptions{})
			return err
		})
	}
	assigned := func(name string) string {
		t.Helper()
		pod, err := client.CoreV1().Pods(placedNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return pod.Annotations[AnnotationAssigned]
	}

	cards := newMockNode(t, eightMixed).discover(t)
	mgr := NewManager(cards, ManagerOptions{PairWindow: 2 * time.Second, Logger: quietLogger()})
	placements := NewPlacements(NewKubePods(client), PlacementOptions{NodeName: placedNode, Timeout: 5 * time.Second, Logger: quietLogger()})
	dir := socketDir(t)
	kubeletReg := startKubelet(t, dir)
	opts := DefaultPluginOptions()
	opts.Placements = placements
	startPluginWith(t, mgr, dir, fakeNodeFiles(t, len(cards)), opts)
	_, clients := kubeletReg.waitRegistrations(t)
	k := &placedKubelet{clients: clients, free: map[Resource][]string{}}
	for _, c := range cards {
		k.free[ResourceCore] = append(k.free[ResourceCore], c.DeviceIDs(ResourceCore)...)
		k.free[ResourceMemory] = append(k.free[ResourceMemory], c.DeviceIDs(ResourceMemory)...)
	}

	t.Run("share, cores first", func(t *testing.T) {
		// Without the extender 30 cores go to GPU 0 (all cards are free, lowest index).
		createPod(gpuPod("share", predicated("100", map[int]string{0: "3"}), [2]int{30, 20}))
		if got := k.admit(t, cards, ResourceCore, 30); !slices.Equal(got, []int{3}) {
			t.Errorf("30 cores on %v, want GPU 3 (the annotated card)", got)
		}
		if got := assigned("share"); got != "false" {
			t.Errorf("gpu-assigned = %q with the memory still to place, want false", got)
		}
		if got := k.admit(t, cards, ResourceMemory, 20); !slices.Equal(got, []int{3}) {
			t.Errorf("memory on %v, want GPU 3 (the card of the container's cores)", got)
		}
		if got := assigned("share"); got != "true" {
			t.Errorf("gpu-assigned = %q after both resources were placed, want true", got)
		}
	})

	t.Run("share, memory first, second container", func(t *testing.T) {
		// Without the extender memory asked first goes to the card with the most free
		// memory (GPU 7, 141 GB).
		createPod(gpuPod("memfirst", predicated("200", map[int]string{1: "5"}), [2]int{}, [2]int{50, 40}))
		if got := k.admit(t, cards, ResourceMemory, 40); !slices.Equal(got, []int{5}) {
			t.Errorf("memory on %v, want GPU 5 (the annotated card)", got)
		}
		if got := k.admit(t, cards, ResourceCore, 50); !slices.Equal(got, []int{5}) {
			t.Errorf("50 cores on %v, want GPU 5", got)
		}
		if got := assigned("memfirst"); got != "true" {
			t.Errorf("gpu-assigned = %q, want true", got)
		}
	})

	t.Run("oldest choice first", func(t *testing.T) {
		createPod(gpuPod("later", predicated("600", map[int]string{0: "1"}), [2]int{10, 0}))
		createPod(gpuPod("earlier", predicated("500", map[int]string{0: "2"}), [2]int{10, 0}))
		if got := k.admit(t, cards, ResourceCore, 10); !slices.Equal(got, []int{2}) {
			t.Errorf("first 10 cores on %v, want GPU 2 (pod earlier, predicate-time 500)", got)
		}
		if a, b := assigned("earlier"), assigned("later"); a != "true" || b != "false" {
			t.Errorf("gpu-assigned earlier=%q later=%q, want true and false", a, b)
		}
		if got := k.admit(t, cards, ResourceCore, 10); !slices.Equal(got, []int{1}) {
			t.Errorf("second 10 cores on %v, want GPU 1 (pod later)", got)
		}
		if got := assigned("later"); got != "true" {
			t.Errorf("gpu-assigned later=%q, want true", got)
		}
	})

	t.Run("whole cards", func(t *testing.T) {
		createPod(gpuPod("whole", predicated("300", map[int]string{0: "4,6"}), [2]int{200, 0}))
		if got := k.admit(t, cards, ResourceCore, 200); !slices.Equal(got, []int{4, 6}) {
			t.Errorf("200 cores on %v, want GPUs 4 and 6 (the annotated cards)", got)
		}
		if got := assigned("whole"); got != "true" {
			t.Errorf("gpu-assigned = %q, want true", got)
		}
	})

	t.Run("no annotations: the plugin's own choice", func(t *testing.T) {
		createPod(gpuPod("plain", nil, [2]int{30, 0}))
		want, err := NewManager(cards, ManagerOptions{Logger: quietLogger()}).Preferred(ResourceCore, k.free[ResourceCore], nil, 30)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.preferred(t, ResourceCore, 30)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("preferred IDs of a pod without annotations (-plugin alone +with the API server):\n%s", diff)
		}
		allocate(t, k.clients[ResourceCore], got)
		if got := assigned("plain"); got != "" {
			t.Errorf("gpu-assigned = %q on a pod the extender did not place, want none", got)
		}
	})

	t.Run("a choice the node cannot honour is refused", func(t *testing.T) {
		// GPU 3 serves the share of pod share: it is not a whole free card.
		createPod(gpuPod("mismatch", predicated("400", map[int]string{0: "3"}), [2]int{100, 0}))
		_, err := k.preferred(t, ResourceCore, 100)
		for _, want := range []string{"GPU 3", "70 free core units", "pod gpu-jobs/mismatch", AnnotationPredicateIndexPrefix + "0=3"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("GetPreferredAllocation(100) = %v, want a refusal containing %q", err, want)
			}
		}
		_, err = k.clients[ResourceCore].Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{
			{DevicesIds: cards[0].DeviceIDs(ResourceCore)},
		}})
		if err == nil || !strings.Contains(err.Error(), "the kubelet gave GPU 0, the scheduler extender chose GPU 3 for pod gpu-jobs/mismatch") {
			t.Errorf("Allocate(GPU 0) = %v, want a refusal naming both cards and the pod", err)
		}
		if got := assigned("mismatch"); got != "false" {
			t.Errorf("gpu-assigned = %q on a refused pod, want false", got)
		}
	})
}

func mustCreate(t *testing.T, create func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatal(err)
	}
}

// startPluginWith runs the plugin with opts (the kubelet directory, node files and a quiet
// logger set here) until the test ends.
func startPluginWith(t *testing.T, mgr *Manager, dir string, files ResponseOptions, opts PluginOptions) {
	t.Helper()
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
