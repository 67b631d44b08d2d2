package e2e

import (
	"context"
	"fmt"
	"net"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/gitsource"
	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun/sshtest"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/schema"
)

// loopWith is r.loop(0) with its options changed.
func (r *remoteFleet) loopWith(mutate func(*reconciler.LoopOptions)) *reconciler.Loop {
	r.t.Helper()
	opts := gitsource.DefaultOptions()
	opts.URL, opts.Branch, opts.Log = "file://"+r.bare, "main", logr.Discard()
	src, err := gitsource.New(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	apply := reconciler.DefaultApplyOptions()
	apply.HealthTimeout = 10 * time.Second
	lo := reconciler.LoopOptions{Source: src, Status: gitsource.StatusWriter{Source: src, Options: gitsource.DefaultStatusOptions()}, Connector: r.conn, Apply: apply}
	mutate(&lo)
	return reconciler.NewLoop(lo)
}

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
	const creds = "password: {env: GITFLEET_SECRET_MACHINES_E2E_PASSWORD}"

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

// TestServeMachines: the serve loop checks a Baremetal cluster's machine over SSH when
// it first sees it and again when its spec changes (not on other pushes), commits the
// facts and checks in the cluster's status file, and keeps the Node's labels as the
// repository says.
func TestServeMachines(t *testing.T) {
	ctx := t.Context()
	t.Setenv("GITFLEET_SECRET_MACHINES_E2E_PASSWORD", "pw")
	const ip = "127.0.0.7"
	probe := "@@gitfleet-probe:hostname\nprobe-host\n@@gitfleet-probe:cpus\n16\n@@gitfleet-probe:uid\n0\n@@gitfleet-probe:end\n"
	srv := sshtest.StartOn(t, ip, sshtest.Auth{User: "root", Password: "pw"}, func(cmd string) sshtest.Reply {
		switch cmd {
		case machines.ProbeScript:
			return sshtest.Reply{Stdout: probe}
		case machines.ClockCommand:
			now := time.Now()
			return sshtest.Reply{Stdout: fmt.Sprintf("%d.%09d\n", now.Unix(), now.Nanosecond())}
		}
		return sshtest.Reply{Status: 127}
	})
	_, port, _ := net.SplitHostPort(srv.Addr)
	cs, err := kubernetes.NewForConfig(env.Cluster(alpha).RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: ip}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), ip, metav1.DeleteOptions{}) })
	nodeLabel := func() string {
		n, err := cs.CoreV1().Nodes().Get(ctx, ip, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Labels["rack"]
	}
	clusterFile := func(rack string) string {
		return "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: alpha\n  labels: {env: test}\nspec:\n  type: Baremetal\n  version: \"1.37.2\"\n" +
			"  machines:\n  - {ip: " + ip + ", port: " + port + ", role: master, password: {env: GITFLEET_SECRET_MACHINES_E2E_PASSWORD}, labels: {rack: " + rack + "}}\n"
	}
	probes := func() int {
		n := 0
		for _, c := range srv.Commands() {
			if c == machines.ProbeScript {
				n++
			}
		}
		return n
	}

	r := newRemoteFleet(t, "machines-serve")
	r.push(map[string]string{"clusters/alpha.yaml": clusterFile("r1")})
	hosts, err := sshrun.LoadKnownHosts(sshtest.WriteKnownHosts(t, sshtest.KnownHostsLine(srv.Addr, srv.HostKey.PublicKey())))
	if err != nil {
		t.Fatal(err)
	}
	keeper := machines.DefaultKeeperOptions()
	keeper.Check.KnownHosts, keeper.Check.Secrets = hosts, notify.EnvFileResolver(notify.DefaultEnvFileOptions())
	keeper.FieldManager, keeper.RESTConfig = reconciler.FieldManager, r.conn.RESTConfig
	keeper.Interval = time.Hour
	loop := r.loopWith(func(o *reconciler.LoopOptions) { o.Machines = machines.NewKeeper(keeper) })
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = loop.Start(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	eventually(t, 20*time.Second, "node label rack=r1", func() bool { return nodeLabel() == "r1" })
	eventually(t, 20*time.Second, "machine facts in the status commit", func() bool {
		s, _ := r.remoteStatus(alpha)
		return len(s.Machines) == 1 && s.Machines[0].Hostname == "probe-host" && s.Machines[0].Node == ip &&
			s.Machines[0].Facts != nil && s.Machines[0].Facts.CPUs == 16 && len(s.Machines[0].Checks) > 10
	})
	if n := probes(); n != 1 {
		t.Errorf("the machine was probed %d times, want once", n)
	}

	// A push that does not touch the machines does not log in to them again.
	r.push(map[string]string{"docs/README.md": "Machines of this fleet.\n"})
	head := git(t, r.repo.Dir, "rev-parse", "HEAD")
	loop.Trigger()
	eventually(t, 20*time.Second, "the unrelated push applied", func() bool {
		s, _ := r.remoteStatus(alpha)
		return s.Revision == head
	})
	// A machine change makes the cluster due at once.
	r.push(map[string]string{"clusters/alpha.yaml": clusterFile("r2")})
	loop.Trigger()
	eventually(t, 20*time.Second, "node label rack=r2", func() bool { return nodeLabel() == "r2" })
	if n := probes(); n != 2 {
		t.Errorf("the machine was probed %d times, want twice (first sight and its change, not the unrelated push)", n)
	}

	// One reconcile (serve --once) waits for the machine pass: its status commit holds
	// the results and the Node has its label when it returns.
	cancel()
	<-done
	r.push(map[string]string{"clusters/alpha.yaml": clusterFile("r3")})
	once := r.loopWith(func(o *reconciler.LoopOptions) {
		o.Machines = machines.NewKeeper(keeper)
		o.WaitForMachines = true
	})
	if _, err := once.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := nodeLabel(); got != "r3" {
		t.Errorf("after one reconcile the Node has rack=%q, want r3", got)
	}
	if s, _ := r.remoteStatus(alpha); len(s.Machines) != 1 || s.Machines[0].Facts == nil || s.Machines[0].Facts.CPUs != 16 {
		t.Errorf("the status commit of one reconcile has no machine facts: %+v", s.Machines)
	}
}
