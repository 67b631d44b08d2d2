package e2e

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/schema"
)

// machinesCluster is cluster alpha declared Baremetal with the given machines (YAML list
// items), loaded and validated as the repository would be.
func machinesCluster(t *testing.T, machineYAML string) *schema.Cluster {
	t.Helper()
	files := fstest.MapFS{
		"fleet.yaml": {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: machines\n")},
		"clusters/alpha.yaml": {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: alpha\nspec:\n  type: Baremetal\n  version: \"1.37.2\"\n" +
			"  network: {clusterCIDR: 172.16.0.0/16}\n  machines:\n" + machineYAML)},
	}
	repo, err := schema.Load(context.Background(), files)
	if err != nil {
		t.Fatalf("the test's repository does not validate: %v", err)
	}
	return repo.Cluster(alpha)
}

// TestMachineNodeLabelsAndTaints: the labels and taints declared on machines follow the
// repository on their Nodes (found by name = IP, by InternalIP, by hostname) through add,
// change and removal, while what others set on the Nodes stays.
func TestMachineNodeLabelsAndTaints(t *testing.T) {
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(env.Cluster(alpha).RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	foreignTaint := corev1.Taint{Key: "example.com/maintenance", Value: "true", Effect: corev1.TaintEffectPreferNoSchedule}
	// foreign are the taints each Node had before gitfleet touched it: the operator's
	// maintenance taint, and whatever the API server's admission added (not-ready).
	foreign := map[string][]string{}
	makeNode := func(name, internalIP string) {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{foreignTaint}}}
		created, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{FieldManager: "kubelet"})
		if err != nil {
			t.Fatalf("creating node %s: %v", name, err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		for _, tt := range created.Spec.Taints {
			foreign[name] = append(foreign[name], tt.ToString())
		}
		if internalIP != "" {
			created.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: internalIP}}
			if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: "kubelet"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	makeNode("10.99.0.11", "")               // named by IP, as TKEStack names nodes
	makeNode("machines-e2e-b", "10.99.0.12") // named by hostname, found by InternalIP
	makeNode("machines-e2e-c", "")           // found only through the hostname fact

	apply := func(c *schema.Cluster) []machines.NodeResult {
		t.Helper()
		res, err := machines.ApplyNodes(ctx, cs, c, machines.NodeOptions{
			FieldManager: reconciler.FieldManager,
			Hostnames:    map[string]string{"10.99.0.13": "Machines-E2E-C"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Errorf("machine %s node %s: %v", r.Machine, r.Node, r.Err)
			}
		}
		return res
	}
	type nodeState struct {
		Labels map[string]string
		Taints []string
	}
	live := func(name string) nodeState {
		t.Helper()
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := nodeState{Labels: n.Labels}
		for _, tt := range n.Spec.Taints {
			s.Taints = append(s.Taints, tt.ToString())
		}
		return s
	}
	expect := func(step, name string, labels map[string]string, taints ...string) {
		t.Helper()
		labels["kubernetes.io/hostname"] = name
		want := nodeState{Labels: labels, Taints: append(append([]string(nil), foreign[name]...), taints...)}
		if diff := cmp.Diff(want, live(name)); diff != "" {
			t.Errorf("%s: node %s (-want +got):\n%s", step, name, diff)
		}
	}
	const creds = "password: {env: MACHINES_E2E_PASSWORD}"

	// Add.
	res := apply(machinesCluster(t, `
  - {ip: 10.99.0.11, role: master, `+creds+`, labels: {zone: a, tier: gpu}, taints: [{key: gpu, value: "true", effect: NoSchedule}]}
  - {ip: 10.99.0.12, `+creds+`, labels: {zone: b}}
  - {ip: 10.99.0.13, `+creds+`, labels: {zone: c}}
  - {ip: 10.99.0.14, `+creds+`, labels: {zone: d}}
`))
	wantActions := []machines.NodeResult{
		{Machine: "10.99.0.11", Node: "10.99.0.11", Action: machines.NodeApplied},
		{Machine: "10.99.0.12", Node: "machines-e2e-b", Action: machines.NodeApplied},
		{Machine: "10.99.0.13", Node: "machines-e2e-c", Action: machines.NodeApplied},
		{Machine: "10.99.0.14", Action: machines.NodeNotFound},
	}
	if diff := cmp.Diff(wantActions, res); diff != "" {
		t.Errorf("first apply (-want +got):\n%s", diff)
	}
	expect("add", "10.99.0.11", map[string]string{"zone": "a", "tier": "gpu"}, "gpu=true:NoSchedule")
	expect("add", "machines-e2e-b", map[string]string{"zone": "b"})
	expect("add", "machines-e2e-c", map[string]string{"zone": "c"})
	if _, err := cs.CoreV1().Nodes().Get(ctx, "10.99.0.14", metav1.GetOptions{}); err == nil {
		t.Errorf("a Node was created for a machine that has none")
	}

	// Change: a label value changes, a label goes, a taint changes effect, one is added.
	apply(machinesCluster(t, `
  - {ip: 10.99.0.11, role: master, `+creds+`, labels: {zone: x}, taints: [{key: gpu, value: "true", effect: NoExecute}]}
  - {ip: 10.99.0.12, `+creds+`, labels: {zone: b}, taints: [{key: dedicated, value: ml, effect: NoSchedule}]}
  - {ip: 10.99.0.13, `+creds+`, labels: {zone: c}}
`))
	expect("change", "10.99.0.11", map[string]string{"zone": "x"}, "gpu=true:NoExecute")
	expect("change", "machines-e2e-b", map[string]string{"zone": "b"}, "dedicated=ml:NoSchedule")

	// Removal: labels and taints dropped from a machine, and machines dropped from the
	// repository entirely.
	res = apply(machinesCluster(t, `
  - {ip: 10.99.0.11, role: master, `+creds+`}
`))
	expect("remove", "10.99.0.11", map[string]string{})
	expect("remove", "machines-e2e-b", map[string]string{})
	expect("remove", "machines-e2e-c", map[string]string{})
	released := map[string]bool{}
	for _, r := range res {
		if r.Action == machines.NodeReleased {
			released[r.Node] = true
		}
	}
	if !released["machines-e2e-b"] || !released["machines-e2e-c"] {
		t.Errorf("results %+v: want the nodes of the removed machines released", res)
	}

	// Once released, a Node is no longer gitfleet's: a later apply leaves it alone.
	res = apply(machinesCluster(t, `
  - {ip: 10.99.0.11, role: master, `+creds+`}
`))
	for _, r := range res {
		if r.Action == machines.NodeReleased && (r.Node == "machines-e2e-b" || r.Node == "machines-e2e-c") {
			t.Errorf("node %s released again: nothing of gitfleet's is left on it", r.Node)
		}
	}
	expect("after release", "10.99.0.11", map[string]string{})
	expect("after release", "machines-e2e-b", map[string]string{})
	expect("after release", "machines-e2e-c", map[string]string{})
	for _, name := range []string{"10.99.0.11", "machines-e2e-b"} {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := n.Annotations[machines.TaintsAnnotation]; ok {
			t.Errorf("node %s still has %s=%q", name, machines.TaintsAnnotation, v)
		}
	}
}
