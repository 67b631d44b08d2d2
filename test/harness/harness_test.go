package harness

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// TestEnv starts one environment with everything switched on and checks, in order, what the
// harness promises. One environment for all checks keeps the test fast: startup dominates.
func TestEnv(t *testing.T) {
	begin := time.Now()
	env := StartT(t, Options{
		Clusters:          []string{"alpha", "beta"},
		ControllerManager: true,
		Scheduler:         true,
		Nodes:             2,
	})
	t.Logf("Start took %s", time.Since(begin).Round(time.Millisecond))
	ctx := t.Context()
	alpha, beta := env.Cluster("alpha"), env.Cluster("beta")
	if alpha == nil || beta == nil || env.Cluster("gamma") != nil {
		t.Fatalf("Cluster lookup: alpha=%v beta=%v gamma=%v", alpha, beta, env.Cluster("gamma"))
	}

	t.Run("kubeconfig contexts", func(t *testing.T) {
		for _, c := range env.Clusters {
			// The combined kubeconfig, selecting the cluster by context name.
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				&clientcmd.ClientConfigLoadingRules{ExplicitPath: env.Kubeconfig},
				&clientcmd.ConfigOverrides{CurrentContext: c.Name},
			).ClientConfig()
			if err != nil {
				t.Fatalf("%s: load context from %s: %v", c.Name, env.Kubeconfig, err)
			}
			if cfg.Host != c.Host {
				t.Errorf("%s: context host = %s, want %s", c.Name, cfg.Host, c.Host)
			}
			if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
				t.Errorf("%s: get kube-system via combined kubeconfig: %v", c.Name, err)
			}
			// The cluster's own kubeconfig: its current context is the cluster.
			raw, err := clientcmd.LoadFromFile(c.Kubeconfig)
			if err != nil {
				t.Fatalf("%s: load %s: %v", c.Name, c.Kubeconfig, err)
			}
			if raw.CurrentContext != c.Name || len(raw.Contexts) != 1 {
				t.Errorf("%s: kubeconfig has current context %q and %d contexts, want %q and 1", c.Name, raw.CurrentContext, len(raw.Contexts), c.Name)
			}
			own, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
			if err != nil {
				t.Fatalf("%s: client config: %v", c.Name, err)
			}
			if _, err := kubernetes.NewForConfigOrDie(own).Discovery().ServerVersion(); err != nil {
				t.Errorf("%s: server version via own kubeconfig: %v", c.Name, err)
			}
		}
	})

	t.Run("etcd prefix isolation", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "only-in-alpha"}, Data: map[string]string{"k": "v"}}
		if _, err := clientset(t, alpha).CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create in alpha: %v", err)
		}
		_, err := clientset(t, beta).CoreV1().ConfigMaps("default").Get(ctx, cm.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("get alpha's ConfigMap from beta: err = %v, want NotFound", err)
		}
	})

	t.Run("authentication and authorization", func(t *testing.T) {
		admin := alpha.RESTConfig()
		// No client certificate: authenticated as system:anonymous, which RBAC refuses.
		anonymous := &rest.Config{Host: admin.Host, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData}}
		if _, err := kubernetes.NewForConfigOrDie(anonymous).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("anonymous list namespaces: err = %v, want Forbidden", err)
		}
		// beta's admin certificate is not signed by alpha's CA: not authenticated at all.
		foreign := beta.RESTConfig()
		foreign.Host, foreign.CAData = admin.Host, admin.CAData
		if _, err := kubernetes.NewForConfigOrDie(foreign).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
			t.Errorf("list namespaces with another cluster's certificate: err = %v, want Unauthorized", err)
		}
		// An authenticated user without RBAC bindings is refused too.
		nobody := alpha.RESTConfig()
		nobody.Impersonate = rest.ImpersonationConfig{UserName: "nobody"}
		if _, err := kubernetes.NewForConfigOrDie(nobody).CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("user nobody list secrets: err = %v, want Forbidden", err)
		}
	})

	t.Run("kwok nodes and scheduling", func(t *testing.T) {
		for _, c := range env.Clusters {
			cs := clientset(t, c)
			nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatalf("%s: list nodes: %v", c.Name, err)
			}
			ready := map[string]bool{}
			for i := range nodes.Items {
				ready[nodes.Items[i].Name] = nodeReady(&nodes.Items[i])
			}
			if len(ready) != 2 || !ready["node-1"] || !ready["node-2"] {
				t.Errorf("%s: nodes (name: ready) = %v, want node-1 and node-2 Ready", c.Name, ready)
			}
		}
		// A pod is admitted (the "default" service account exists), scheduled onto a kwok
		// node by kube-scheduler and made Running by kwok's stages.
		cs := clientset(t, alpha)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "probe"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/none"}}},
		}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod: %v", err)
		}
		eventually(t, 30*time.Second, func() error {
			got, err := cs.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got.Spec.NodeName == "" || got.Status.Phase != corev1.PodRunning {
				return errors.New("pod on node " + got.Spec.NodeName + " in phase " + string(got.Status.Phase))
			}
			return nil
		})
	})

	t.Run("controller manager deletes namespaces", func(t *testing.T) {
		cs := clientset(t, beta)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace: %v", err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}
		if _, err := cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create ConfigMap: %v", err)
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete namespace: %v", err)
		}
		eventually(t, 30*time.Second, func() error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return errors.New("namespace still there")
		})
	})

	t.Run("stop and start apiserver", func(t *testing.T) {
		host := alpha.Host
		cs := clientset(t, alpha)
		if err := alpha.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cs.CoreV1().ConfigMaps("default").Get(short, "only-in-alpha", metav1.GetOptions{})
		cancel()
		if err == nil {
			t.Fatal("request to a stopped apiserver succeeded")
		}
		if !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("request to a stopped apiserver: err = %v, want connection refused", err)
		}
		// The other cluster does not notice.
		if _, err := clientset(t, beta).CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Errorf("beta while alpha is down: %v", err)
		}
		begin := time.Now()
		if err := alpha.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("StartAPIServer took %s", time.Since(begin).Round(time.Millisecond))
		if alpha.Host != host {
			t.Errorf("Host after restart = %s, want %s", alpha.Host, host)
		}
		// Same client, same host, same certificates; the object survived in etcd.
		got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "only-in-alpha", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get after restart: %v", err)
		}
		if got.Data["k"] != "v" {
			t.Errorf("ConfigMap data after restart = %v", got.Data)
		}
		// Starting a running apiserver is a no-op.
		if err := alpha.StartAPIServer(ctx); err != nil {
			t.Errorf("StartAPIServer on a running apiserver: %v", err)
		}
	})

	t.Run("stop", func(t *testing.T) {
		var pids []int
		for _, c := range env.Clusters {
			for _, p := range c.processes() {
				pids = append(pids, p.cmd.Process.Pid)
			}
		}
		pids = append(pids, env.etcd.cmd.Process.Pid)
		// kube-apiserver, controller-manager, scheduler and kwok per cluster, plus etcd.
		if len(pids) != 2*4+1 {
			t.Errorf("%d processes, want 9", len(pids))
		}
		begin := time.Now()
		if err := env.Stop(); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		t.Logf("Stop took %s", time.Since(begin).Round(time.Millisecond))
		if _, err := os.Stat(env.WorkDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("WorkDir %s after Stop: stat err = %v, want not exist", env.WorkDir, err)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d after Stop: kill(0) = %v, want ESRCH", pid, err)
			}
		}
		if err := env.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		if err := alpha.StartAPIServer(ctx); err == nil {
			t.Error("StartAPIServer after Stop succeeded")
		}
	})
}

func TestMissingBinaries(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(t.Context(), Options{BinDir: dir})
	if err == nil || !strings.Contains(err.Error(), "kube-apiserver not found in "+dir) || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("Start with an empty BinDir: err = %v, want kube-apiserver not found ... make tools", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, opts := range []Options{
		{Clusters: []string{"Upper"}},
		{Clusters: []string{"a", "a"}},
		{Clusters: []string{"../x"}},
		{Nodes: -1},
	} {
		if _, err := Start(t.Context(), opts); err == nil {
			t.Errorf("Start(%+v) succeeded, want an error", opts)
		}
	}
}

func TestModulePath(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"module gitfleet.dev/gitfleet\n\ngo 1.26\n":     "gitfleet.dev/gitfleet",
		"// c\nmodule \"gitfleet.dev/gitfleet\" // x\n": "gitfleet.dev/gitfleet",
		"module gitfleet.dev/gitfleet/test/tools\n":     "gitfleet.dev/gitfleet/test/tools",
		"go 1.26\n": "",
	} {
		path := dir + "/go.mod"
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := modulePath(path); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", content, got, want)
		}
	}
}

func clientset(t *testing.T, c *Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// eventually polls f until it returns nil, failing the test with f's last error after timeout.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
