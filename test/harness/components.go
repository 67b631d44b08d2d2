package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// startEtcd starts the one etcd that all clusters share. It speaks plain HTTP on loopback
// only: it is an implementation detail of the harness, and TLS would only slow every request.
func (e *Env) startEtcd(ctx context.Context) error {
	begin := time.Now()
	dataDir := filepath.Join(e.WorkDir, "etcd")
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	p, ports, err := startOnFreePorts(ctx, 2,
		func(ports []int) (*process, error) {
			// A failed attempt may have left a member ID bound to the old peer URL.
			if err := os.RemoveAll(dataDir); err != nil {
				return nil, fmt.Errorf("harness: etcd: clean data directory: %w", err)
			}
			clientURL := "http://127.0.0.1:" + itoa(ports[0])
			peerURL := "http://127.0.0.1:" + itoa(ports[1])
			args := []string{
				"--name=harness",
				"--data-dir=" + dataDir,
				"--listen-client-urls=" + clientURL,
				"--advertise-client-urls=" + clientURL,
				"--listen-peer-urls=" + peerURL,
				"--initial-advertise-peer-urls=" + peerURL,
				"--initial-cluster=harness=" + peerURL,
				"--initial-cluster-state=new",
				// The data is thrown away with the work directory, so durability buys nothing
				// and fsync is the main cost of every write on a test machine.
				"--unsafe-no-fsync",
				// A single member elects itself after one election timeout; the default (1s)
				// would be most of etcd's startup time. With no other members there is nobody
				// to lose an election to, so short timeouts cost nothing.
				"--heartbeat-interval=10",
				"--election-timeout=100",
				"--log-level=warn",
			}
			p, err := startProcess("etcd", "", e.bins.etcd, args, e.WorkDir, e.logPath("", "etcd"), nil)
			if err != nil {
				return nil, fmt.Errorf("harness: etcd: %w", err)
			}
			return p, nil
		},
		func(ctx context.Context, p *process, ports []int) error {
			url := "http://127.0.0.1:" + itoa(ports[0]) + "/health"
			return p.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
				body, err := httpGet(ctx, client, url)
				if err == nil && !strings.Contains(body, `"health":"true"`) {
					err = fmt.Errorf("unhealthy: %s", body)
				}
				return err
			})
		})
	if err != nil {
		return err
	}
	e.etcd = p
	e.etcdURL = "http://127.0.0.1:" + itoa(ports[0])
	e.log.Info("harness: etcd ready", "url", e.etcdURL, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// start brings up one cluster: kube-apiserver first, then the components that talk to it, in
// parallel.
func (c *Cluster) start(ctx context.Context) error {
	begin := time.Now()
	p, ports, err := startOnFreePorts(ctx, 1, c.launchAPIServer1, c.waitAPIServer1)
	if err != nil {
		return err
	}
	c.port = ports[0]
	c.Host = "https://127.0.0.1:" + itoa(c.port)
	c.setProcess(&c.apiserver, p)
	c.env.log.Info("harness: kube-apiserver ready", "cluster", c.Name, "host", c.Host, "elapsed", time.Since(begin).Round(time.Millisecond))

	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	c.kcmKubeconfig = filepath.Join(c.dir, "kube-controller-manager.kubeconfig")
	c.schedulerKubeconfig = filepath.Join(c.dir, "kube-scheduler.kubeconfig")
	for _, kc := range []struct {
		path string
		e    kubeconfigEntry
	}{
		{c.Kubeconfig, c.adminKubeconfigEntry()},
		{c.kcmKubeconfig, kubeconfigEntry{context: c.Name, user: "system:kube-controller-manager", host: c.Host, caPEM: c.pki.ca.certPEM, client: c.pki.kcm}},
		{c.schedulerKubeconfig, kubeconfigEntry{context: c.Name, user: "system:kube-scheduler", host: c.Host, caPEM: c.pki.ca.certPEM, client: c.pki.scheduler}},
	} {
		if err := writeKubeconfig(kc.path, kc.e); err != nil {
			return fmt.Errorf("harness: cluster %q: write kubeconfig: %w", c.Name, err)
		}
	}

	var fns []func(context.Context) error
	if c.env.opts.ControllerManager {
		fns = append(fns, c.startControllerManager)
	}
	if c.env.opts.Scheduler {
		fns = append(fns, c.startScheduler)
	}
	if c.env.opts.Nodes > 0 {
		fns = append(fns, c.startKwok)
	}
	if err := parallel(ctx, fns...); err != nil {
		return err
	}
	c.env.log.Info("harness: cluster ready", "cluster", c.Name, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

func (c *Cluster) launch(component, bin string, args, extraEnv []string) (*process, error) {
	p, err := startProcess(component, c.Name, bin, args, c.dir, c.env.logPath(c.Name, component), extraEnv)
	if err != nil {
		return nil, fmt.Errorf("harness: cluster %q: %s: %w", c.Name, component, err)
	}
	return p, nil
}

func (c *Cluster) launchAPIServer1(ports []int) (*process, error) { return c.launchAPIServer(ports[0]) }

func (c *Cluster) launchAPIServer(port int) (*process, error) {
	pki := c.pki
	args := []string{
		"--etcd-servers=" + c.env.etcdURL,
		// The prefix is what makes the clusters independent while sharing one etcd.
		"--etcd-prefix=/registry-" + c.Name,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// Endpoint reconcilers refuse a loopback address as the "kubernetes" service's
		// endpoint; nothing routes to that service here, so it needs no endpoints.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + itoa(port),
		"--cert-dir=" + filepath.Join(c.dir, "pki"),
		"--tls-cert-file=" + pki.apiserverCertFile,
		"--tls-private-key-file=" + pki.apiserverKeyFile,
		"--client-ca-file=" + pki.caFile,
		"--authorization-mode=Node,RBAC",
		"--service-account-key-file=" + pki.saPubFile,
		"--service-account-signing-key-file=" + pki.saKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		// Only a configuration value: no traffic goes to service IPs.
		"--service-cluster-ip-range=10.96.0.0/16",
		"--requestheader-client-ca-file=" + pki.frontProxyCAFile,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki.proxyClientCertFile,
		"--proxy-client-key-file=" + pki.proxyClientKeyFile,
		"--allow-privileged=true",
		"--profiling=false",
	}
	return c.launch("kube-apiserver", c.env.bins.apiserver, args, nil)
}

func (c *Cluster) waitAPIServer1(ctx context.Context, p *process, ports []int) error {
	return c.waitAPIServer(ctx, p, ports[0])
}

// waitAPIServer waits until /readyz answers 200 to the admin certificate and the system
// namespaces exist: they are created by an apiserver loop that /readyz does not wait for, and
// tests create objects in "default" right away.
func (c *Cluster) waitAPIServer(ctx context.Context, p *process, port int) error {
	client := c.adminHTTPClient()
	defer client.CloseIdleConnections()
	base := "https://127.0.0.1:" + itoa(port)
	return p.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
		for _, path := range []string{"/readyz", "/api/v1/namespaces/default", "/api/v1/namespaces/kube-system"} {
			if _, err := httpGet(ctx, client, base+path); err != nil {
				return err
			}
		}
		return nil
	})
}

// adminHTTPClient authenticates with the admin certificate and trusts only the cluster CA.
func (c *Cluster) adminHTTPClient() *http.Client {
	cert, err := tls.X509KeyPair(c.pki.admin.certPEM, c.pki.admin.keyPEM)
	tlsConfig := &tls.Config{RootCAs: c.pki.caPool(), MinVersion: tls.VersionTLS12}
	if err == nil { // cannot fail for a pair made by newClusterPKI
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
}

// servingHTTPClient checks the health of kube-controller-manager and kube-scheduler, whose
// serving certificate the harness issued from the cluster CA. It sends no client certificate:
// /healthz is open to anonymous requests on those components.
func (c *Cluster) servingHTTPClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.pki.caPool(), MinVersion: tls.VersionTLS12},
	}}
}

func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("harness: cluster %q: client: %w", c.Name, err)
	}
	return cs, nil
}

func (c *Cluster) startControllerManager(ctx context.Context) error {
	begin := time.Now()
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	client := c.servingHTTPClient()
	defer client.CloseIdleConnections()
	p, _, err := startOnFreePorts(ctx, 1,
		func(ports []int) (*process, error) {
			args := []string{
				"--kubeconfig=" + c.kcmKubeconfig,
				// Without these it cannot authenticate requests to its own endpoints and
				// warns on every start.
				"--authentication-kubeconfig=" + c.kcmKubeconfig,
				"--authorization-kubeconfig=" + c.kcmKubeconfig,
				"--bind-address=127.0.0.1",
				"--secure-port=" + itoa(ports[0]),
				"--tls-cert-file=" + c.pki.servingCertFile,
				"--tls-private-key-file=" + c.pki.servingKeyFile,
				"--leader-elect=false",
				// Each controller acts as its own service account, as in kubeadm clusters, so
				// RBAC problems show up here as they would in production.
				"--use-service-account-credentials=true",
				"--service-account-private-key-file=" + c.pki.saKeyFile,
				"--root-ca-file=" + c.pki.caFile,
				"--cluster-name=" + c.Name,
				// The default (20 QPS) throttles the start, where every controller fetches a
				// token for its service account one after the other, to about five seconds.
				"--kube-api-qps=200",
				"--kube-api-burst=400",
				"--profiling=false",
			}
			return c.launch("kube-controller-manager", c.env.bins.kcm, args, nil)
		},
		func(ctx context.Context, p *process, ports []int) error {
			url := "https://127.0.0.1:" + itoa(ports[0]) + "/healthz"
			if err := p.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
				_, err := httpGet(ctx, client, url)
				return err
			}); err != nil {
				return err
			}
			// Healthy only means it is serving. The "default" service account appearing shows
			// that controllers run with their service-account credentials; pods cannot be
			// created in a namespace before its "default" account exists.
			return p.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
				_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
				return err
			})
		})
	if err != nil {
		return err
	}
	c.setProcess(&c.controllerManager, p)
	c.env.log.Info("harness: kube-controller-manager ready", "cluster", c.Name, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// schedulerConfig replaces the deprecated --kubeconfig and --leader-elect flags of kube-scheduler.
const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
leaderElection:
  leaderElect: false
`

func (c *Cluster) startScheduler(ctx context.Context) error {
	begin := time.Now()
	configPath := filepath.Join(c.dir, "kube-scheduler.yaml")
	if err := os.WriteFile(configPath, fmt.Appendf(nil, schedulerConfig, c.schedulerKubeconfig), 0o644); err != nil {
		return fmt.Errorf("harness: cluster %q: kube-scheduler config: %w", c.Name, err)
	}
	client := c.servingHTTPClient()
	defer client.CloseIdleConnections()
	p, _, err := startOnFreePorts(ctx, 1,
		func(ports []int) (*process, error) {
			args := []string{
				"--config=" + configPath,
				"--authentication-kubeconfig=" + c.schedulerKubeconfig,
				"--authorization-kubeconfig=" + c.schedulerKubeconfig,
				"--bind-address=127.0.0.1",
				"--secure-port=" + itoa(ports[0]),
				"--tls-cert-file=" + c.pki.servingCertFile,
				"--tls-private-key-file=" + c.pki.servingKeyFile,
			}
			return c.launch("kube-scheduler", c.env.bins.scheduler, args, nil)
		},
		func(ctx context.Context, p *process, ports []int) error {
			url := "https://127.0.0.1:" + itoa(ports[0]) + "/healthz"
			return p.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
				_, err := httpGet(ctx, client, url)
				return err
			})
		})
	if err != nil {
		return err
	}
	c.setProcess(&c.scheduler, p)
	c.env.log.Info("harness: kube-scheduler ready", "cluster", c.Name, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// kwokNodeAnnotation marks the nodes this cluster's kwok manages; kwok is told to manage only
// those, so that a test can still create nodes that stay under its own control.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// startKwok starts kwok with the Stage files passed as --config (kwok then plays them locally
// and needs no Stage CRD), creates the fake nodes and waits until they are Ready.
func (c *Cluster) startKwok(ctx context.Context) error {
	begin := time.Now()
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		// Renew node leases like a kubelet does, so kube-controller-manager's node lifecycle
		// controller keeps the nodes Ready (the heartbeat stage only updates status every
		// ten minutes because it expects leases).
		"--node-lease-duration-seconds=40",
	}
	for _, f := range c.env.bins.stageFiles {
		args = append(args, "--config="+f)
	}
	// kwok also loads ~/.kwok/kwok.yaml if it exists; a home of its own keeps a developer's
	// configuration out of the tests.
	home := filepath.Join(c.dir, "kwok-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("harness: cluster %q: kwok: %w", c.Name, err)
	}
	p, err := c.launch("kwok", c.env.bins.kwok, args, []string{"HOME=" + home})
	if err != nil {
		return err
	}
	c.setProcess(&c.kwok, p)

	names := make([]string, c.env.opts.Nodes)
	for i := range names {
		names[i] = "node-" + itoa(i+1)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        names[i],
			Annotations: map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": names[i],
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		}}
		if i == 0 {
			// The first node stands in for a control-plane node: platform components that
			// run on masters (scheduler extenders, IPAM) have somewhere to go.
			node.Labels["node-role.kubernetes.io/control-plane"] = ""
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return p.fail(fmt.Errorf("create node %s: %w", names[i], err))
		}
	}
	if err := p.waitReady(ctx, readyTimeout, func(ctx context.Context) error {
		for _, name := range names {
			node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(node) {
				return fmt.Errorf("node %s is not Ready", name)
			}
		}
		return nil
	}); err != nil {
		return p.fail(err)
	}
	c.env.log.Info("harness: kwok nodes ready", "cluster", c.Name, "nodes", len(names), "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

func nodeReady(node *corev1.Node) bool {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// httpGet returns the body of a 200 response; any other status is an error that carries the
// reasons a /readyz or /healthz endpoint gives for not being ready.
func httpGet(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, failedChecks(string(body)))
	}
	return string(body), nil
}

// failedChecks keeps the "[-]check failed" lines of a health endpoint's answer, or a short
// prefix of any other body.
func failedChecks(body string) string {
	var failed []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "[-]") {
			failed = append(failed, line)
		}
	}
	if len(failed) > 0 {
		return strings.Join(failed, "; ")
	}
	body = strings.TrimSpace(body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return body
}
