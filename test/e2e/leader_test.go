package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/schema"
)

// requestCounter counts every request one replica sends to the member clusters.
type requestCounter struct {
	inner reconciler.Connector
	n     atomic.Int64
}

func (c *requestCounter) RESTConfig(cl *schema.Cluster) (*rest.Config, error) {
	cfg, err := c.inner.RESTConfig(cl)
	if err != nil {
		return nil, err
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			c.n.Add(1)
			return rt.RoundTrip(r)
		})
	})
	return cfg, nil
}

// TestLeaderElection runs two replicas of gitfleet serve: only the leader touches the
// member clusters; when it stops, the other takes over and applies.
func TestLeaderElection(t *testing.T) {
	r := newRemoteFleet(t, "leader")
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("leader"),
		"apps/web/cm.yaml":            configMap("leader", "web", "v1"),
	})
	replica := func() (*requestCounter, context.CancelFunc, chan error) {
		_, src := r.loop(300 * time.Millisecond)
		counter := &requestCounter{inner: r.conn}
		apply := reconciler.DefaultApplyOptions()
		apply.HealthTimeout = 10 * time.Second
		opts := reconciler.DefaultServerOptions()
		opts.Management = env.Cluster(alpha).RESTConfig()
		opts.LeaderElectionNamespace, opts.LeaderElectionID = "kube-system", "gitfleet-leader-test"
		opts.MetricsAddr, opts.ProbeAddr, opts.WebhookAddr = "0", "0", "0"
		opts.ShutdownTimeout = 5 * time.Second
		opts.Loop = reconciler.LoopOptions{Source: src, Connector: counter, Apply: apply, Interval: 300 * time.Millisecond,
			Metrics: reconciler.NewMetrics(prometheus.NewRegistry())}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- reconciler.Serve(ctx, opts) }()
		return counter, cancel, errc
	}
	first, stopFirst, firstDone := replica()
	eventually(t, 30*time.Second, "the first replica to apply", func() bool { return configMapValue(t, alpha, "leader", "web") == "v1" })
	second, stopSecond, secondDone := replica()
	t.Cleanup(func() { stopSecond(); <-secondDone })

	time.Sleep(2 * time.Second)
	if n := second.n.Load(); n != 0 {
		t.Fatalf("the replica that is not the leader sent %d requests to member clusters", n)
	}
	if first.n.Load() == 0 {
		t.Fatal("the leader sent no requests")
	}

	// The leader stops (a rollout, a crash); the other replica takes over.
	stopFirst()
	if err := <-firstDone; err != nil {
		t.Errorf("the first replica stopped with %v", err)
	}
	r.push(map[string]string{"apps/web/cm.yaml": configMap("leader", "web", "v2")})
	took := eventually(t, 30*time.Second, "the second replica to take over and apply", func() bool {
		return configMapValue(t, beta, "leader", "web") == "v2"
	})
	t.Logf("hand-over and apply took %s", took)
}

// TestLeaderFailoverAfterKill runs two gitfleet serve processes with the default
// leader-election flags and kills the leader with SIGKILL (a crash: the Lease is not
// released). The other replica takes the Lease only once the dead leader's lease has
// expired, within the bound the flags give, and applies the next push. The library's
// logs (client-go's leader election, through klog) come out in gitfleet's format.
func TestLeaderFailoverAfterKill(t *testing.T) {
	bin := buildGitfleet(t)
	const ns = "failover"
	r := newRemoteFleet(t, ns)
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace(ns),
		"apps/web/cm.yaml":            configMap(ns, "web", "v1"),
	})
	leaseNS := createNamespace(t, alpha, ns+"-system")
	args := func() []string {
		return serveArgs(t, r, env.Kubeconfig, env.Kubeconfig, leaseNS)
	}
	first := startServe(t, bin, "first", args()...)
	for _, cl := range []string{alpha, beta} {
		eventually(t, 60*time.Second, "the first replica to apply to "+cl, func() bool { return configMapValue(t, cl, ns, "web") == "v1" })
	}
	firstID := leaseRecord(t, leaseNS).holder
	if firstID == "" {
		t.Fatal("the first replica applied but no one holds the Lease")
	}
	second := startServe(t, bin, "second", args()...)
	eventually(t, 30*time.Second, "the second replica to try for the Lease", func() bool {
		return strings.Contains(second.output(), "Attempting to acquire leader lease")
	})

	// The crash. The test watches the Lease and keeps the last renewal of the dead leader.
	timings := reconciler.DefaultLeaderTimings()
	lastRenew := leaseRecord(t, leaseNS).renewTime
	first.kill()
	killedAt := time.Now()
	var taken lease
	eventually(t, 60*time.Second, "another replica to take the Lease", func() bool {
		l := leaseRecord(t, leaseNS)
		if l.holder == firstID {
			lastRenew = l.renewTime
			return false
		}
		taken = l
		return l.holder != ""
	})
	took := time.Since(killedAt)
	// The new leader never starts before the dead leader's lease expired...
	if taken.acquireTime.Before(lastRenew.Add(timings.LeaseDuration)) {
		t.Errorf("the second replica took the Lease at %s, before the first one's lease expired (renewed %s, lease %s)", taken.acquireTime, lastRenew, timings.LeaseDuration)
	}
	// ...and takes it at the first retry after the lease expired: the dead leader's last
	// renewal is at most one retry (with client-go's 1.2 jitter) before the kill, the
	// other replica sees it at most one retry later, and takes over at its first retry
	// after the lease duration; one second more for the API server on a busy machine.
	bound := timings.LeaseDuration + time.Duration(2*1.2*float64(timings.RetryPeriod)) + time.Second
	if took > bound {
		t.Errorf("the Lease changed hands %s after the kill, over the %s the default flags allow (lease %s, retry %s)", took, bound, timings.LeaseDuration, timings.RetryPeriod)
	}
	t.Logf("the Lease changed hands %s after the kill (bound %s)", took, bound)

	r.push(map[string]string{"apps/web/cm.yaml": configMap(ns, "web", "v2")})
	for _, cl := range []string{alpha, beta} {
		eventually(t, 60*time.Second, "the new leader to apply to "+cl, func() bool { return configMapValue(t, cl, ns, "web") == "v2" })
	}

	expectGitfleetFormat(t, "first", first.output())
	expectGitfleetFormat(t, "second", second.output())
}

// expectGitfleetFormat checks that every line a serve process printed is one of gitfleet's
// structured log lines (time=... level=... msg=...), or the error it exited with: the
// libraries' lines (controller-runtime's, client-go's through klog) included, and no
// complaint from controller-runtime that its logger was never set.
func expectGitfleetFormat(t *testing.T, name, out string) {
	t.Helper()
	if strings.Contains(out, "was never called") {
		t.Errorf("the %s replica printed controller-runtime's complaint about its logger", name)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "time=") && !strings.HasPrefix(line, "Error: ") {
			t.Errorf("the %s replica printed a line not in gitfleet's format (time=... level=... msg=...): %q", name, line)
		}
	}
}

// TestLeaderFenceStopsWrites: the leader's Lease renewals are refused by a proxy in front
// of the management API server (a network partition between the leader and its Lease,
// while the member clusters stay reachable). The leader keeps writing to member clusters
// until its renew deadline, then stops; its last request to a member cluster comes before
// its lease expires and before the new leader's first.
func TestLeaderFenceStopsWrites(t *testing.T) {
	bin := buildGitfleet(t)
	const ns = "fence"
	r := newRemoteFleet(t, ns)
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace(ns),
		"apps/web/cm.yaml":            configMap(ns, "web", "v1"),
	})
	leaseNS := createNamespace(t, alpha, ns+"-system")
	dir := t.TempDir()
	management := newAPIProxy(t, alpha)
	firstMembers := map[string]*apiProxy{alpha: newAPIProxy(t, alpha), beta: newAPIProxy(t, beta)}
	secondMembers := map[string]*apiProxy{alpha: newAPIProxy(t, alpha), beta: newAPIProxy(t, beta)}
	managementKubeconfig := proxyKubeconfig(t, filepath.Join(dir, "management"), map[string]*apiProxy{alpha: management})

	startServe(t, bin, "first", serveArgs(t, r, proxyKubeconfig(t, filepath.Join(dir, "first"), firstMembers), managementKubeconfig, leaseNS)...)
	for _, cl := range []string{alpha, beta} {
		eventually(t, 60*time.Second, "the first replica to apply to "+cl, func() bool { return configMapValue(t, cl, ns, "web") == "v1" })
	}
	second := startServe(t, bin, "second", serveArgs(t, r, proxyKubeconfig(t, filepath.Join(dir, "second"), secondMembers), env.Kubeconfig, leaseNS)...)
	eventually(t, 30*time.Second, "the second replica to try for the Lease", func() bool {
		return strings.Contains(second.output(), "Attempting to acquire leader lease")
	})

	// Pushes keep coming, so the leader keeps writing.
	pushStart := time.Now()
	stopPushing := make(chan struct{})
	pushed := make(chan error, 1)
	go func() {
		for i := 2; ; i++ {
			select {
			case <-stopPushing:
				pushed <- nil
				return
			case <-time.After(300 * time.Millisecond):
			}
			if err := r.tryPush(map[string]string{"apps/web/cm.yaml": configMap(ns, "web", fmt.Sprintf("v%d", i))}); err != nil {
				pushed <- err
				return
			}
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopPushing)
			if err := <-pushed; err != nil {
				t.Errorf("pushing: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	eventually(t, 30*time.Second, "the leader to write the pushes", func() bool { return writes(firstMembers, pushStart) > 0 })

	blockedAt := time.Now()
	management.blockLeases()
	eventually(t, 60*time.Second, "the second replica to take over and write", func() bool { return writes(secondMembers, time.Time{}) > 0 })
	stop()

	lastRenewal := management.lastLeaseRenewal()
	lastFirst := lastRequest(firstMembers)
	firstSecond := firstRequest(secondMembers)
	timings := reconciler.DefaultLeaderTimings()
	t.Logf("renewals blocked at %s; last renewal %s; first replica's last request to a member %s (%d writes after the block); second replica's first %s",
		blockedAt.Format(time.StampMilli), lastRenewal.Format(time.StampMilli), lastFirst.Format(time.StampMilli), writes(firstMembers, blockedAt), firstSecond.Format(time.StampMilli))
	if expiry := lastRenewal.Add(timings.LeaseDuration); !lastFirst.Before(expiry) {
		t.Errorf("the first replica sent a request to a member cluster at %s, after its lease expired at %s", lastFirst.Format(time.StampMilli), expiry.Format(time.StampMilli))
	}
	if !lastFirst.Before(firstSecond) {
		t.Errorf("the first replica's last request to a member cluster (%s) came after the new leader's first (%s)", lastFirst.Format(time.StampMilli), firstSecond.Format(time.StampMilli))
	}
}

// buildGitfleet builds the gitfleet binary for the test.
func buildGitfleet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gitfleet")
	out, err := exec.Command("go", "build", "-o", bin, "gitfleet.dev/gitfleet/cmd/gitfleet").CombinedOutput()
	if err != nil {
		t.Fatalf("building gitfleet: %v\n%s", err, out)
	}
	return bin
}

// serveArgs are the arguments of a replica of gitfleet serve over the remote fleet, with
// no status commits (the test's pushes do not have to rebase on them) and no listeners.
func serveArgs(t *testing.T, r *remoteFleet, kubeconfig, managementKubeconfig, leaseNS string) []string {
	return []string{"serve", "--repo-url", "file://" + r.bare, "--kubeconfig", kubeconfig,
		"--management-kubeconfig", managementKubeconfig, "--management-context", alpha,
		"--leader-election-namespace", leaseNS, "--cache-dir", t.TempDir(), "--interval", "300ms",
		"--no-status-commits", "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--webhook-bind-address", "0"}
}

// tryPush is push for a goroutine: it returns errors instead of failing the test.
func (r *remoteFleet) tryPush(files map[string]string) error {
	if err := r.repo.Write(files); err != nil {
		return err
	}
	if _, err := r.repo.Commit("push"); err != nil {
		return err
	}
	if out, err := exec.Command("git", "-C", r.repo.Dir, "push", "origin", "main").CombinedOutput(); err != nil {
		return fmt.Errorf("git push: %v: %s", err, out)
	}
	return nil
}

// serveProcess is a running gitfleet serve.
type serveProcess struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

func startServe(t *testing.T, bin, name string, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				p.kill()
			}
		}
		if t.Failed() {
			t.Logf("%s replica's output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *serveProcess) kill() {
	_ = p.cmd.Process.Kill() // SIGKILL
	<-p.done
}

func (p *serveProcess) output() string { return p.out.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func createNamespace(t *testing.T, cluster, name string) string {
	t.Helper()
	err := clientFor(t, cluster).Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

// lease is what the test reads of gitfleet's leader-election Lease.
type lease struct {
	holder                 string
	acquireTime, renewTime time.Time
}

func leaseRecord(t *testing.T, ns string) lease {
	t.Helper()
	var l coordinationv1.Lease
	if err := clientFor(t, alpha).Get(t.Context(), keyOf(ns, "gitfleet-leader"), &l); err != nil {
		return lease{}
	}
	var out lease
	if l.Spec.HolderIdentity != nil {
		out.holder = *l.Spec.HolderIdentity
	}
	if l.Spec.AcquireTime != nil {
		out.acquireTime = l.Spec.AcquireTime.Time
	}
	if l.Spec.RenewTime != nil {
		out.renewTime = l.Spec.RenewTime.Time
	}
	return out
}

// apiProxy is a plain-HTTP reverse proxy in front of a harness API server, authenticating
// as its admin: it records every request it passes (when it arrived), and can refuse the
// requests for Leases.
type apiProxy struct {
	srv    *httptest.Server
	blocks atomic.Bool

	mu       sync.Mutex
	requests []proxied
}

type proxied struct {
	at     time.Time
	method string
	path   string
	code   int
}

func newAPIProxy(t *testing.T, cluster string) *apiProxy {
	t.Helper()
	cfg := env.Cluster(cluster).RESTConfig()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }, Transport: rt, FlushInterval: -1}
	p := &apiProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
		if p.blocks.Load() && strings.Contains(r.URL.Path, "/leases") {
			http.Error(rec, "Lease requests blocked by the test", http.StatusServiceUnavailable)
		} else {
			rp.ServeHTTP(rec, r)
		}
		p.mu.Lock()
		p.requests = append(p.requests, proxied{at: at, method: r.Method, path: r.URL.Path, code: rec.code})
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *apiProxy) blockLeases() { p.blocks.Store(true) }

// lastLeaseRenewal is when the last successful update of a Lease arrived.
func (p *apiProxy) lastLeaseRenewal() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var last time.Time
	for _, r := range p.requests {
		if r.method == http.MethodPut && strings.Contains(r.path, "/leases/") && r.code < 300 && r.at.After(last) {
			last = r.at
		}
	}
	return last
}

func (p *apiProxy) all() []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// writes counts the requests that change something, arrived after since, at any proxy.
func writes(proxies map[string]*apiProxy, since time.Time) int {
	n := 0
	for _, p := range proxies {
		for _, r := range p.all() {
			if r.method != http.MethodGet && r.at.After(since) {
				n++
			}
		}
	}
	return n
}

func lastRequest(proxies map[string]*apiProxy) time.Time {
	var last time.Time
	for _, p := range proxies {
		for _, r := range p.all() {
			if r.at.After(last) {
				last = r.at
			}
		}
	}
	return last
}

func firstRequest(proxies map[string]*apiProxy) time.Time {
	var first time.Time
	for _, p := range proxies {
		for _, r := range p.all() {
			if first.IsZero() || r.at.Before(first) {
				first = r.at
			}
		}
	}
	return first
}

// codeRecorder keeps the status code of a response; Unwrap lets the reverse proxy flush
// watch events through it.
type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) {
	c.code = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// proxyKubeconfig writes a kubeconfig with one context per proxy, named after its cluster.
func proxyKubeconfig(t *testing.T, path string, proxies map[string]*apiProxy) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for name, p := range proxies {
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: p.srv.URL}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
		cfg.CurrentContext = name
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLeaderFencePausedLeader: the leader is frozen (SIGSTOP, as a long GC pause, a
// throttled container or a suspended VM would freeze it) until another replica has taken
// the Lease, then thawed. Its goroutines wake up in the middle of their work, before its
// leader election has noticed anything: not one of their requests may reach a member
// cluster, since the new leader is already writing there.
func TestLeaderFencePausedLeader(t *testing.T) {
	bin := buildGitfleet(t)
	const ns = "paused"
	r := newRemoteFleet(t, ns)
	r.push(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace(ns),
		"apps/web/cm.yaml":            configMap(ns, "web", "v1"),
	})
	leaseNS := createNamespace(t, alpha, ns+"-system")
	dir := t.TempDir()
	firstMembers := map[string]*apiProxy{alpha: newAPIProxy(t, alpha), beta: newAPIProxy(t, beta)}
	first := startServe(t, bin, "first", serveArgs(t, r, proxyKubeconfig(t, filepath.Join(dir, "first"), firstMembers), env.Kubeconfig, leaseNS)...)
	for _, cl := range []string{alpha, beta} {
		eventually(t, 60*time.Second, "the first replica to apply to "+cl, func() bool { return configMapValue(t, cl, ns, "web") == "v1" })
	}
	firstID := leaseRecord(t, leaseNS).holder
	second := startServe(t, bin, "second", serveArgs(t, r, env.Kubeconfig, env.Kubeconfig, leaseNS)...)
	eventually(t, 30*time.Second, "the second replica to try for the Lease", func() bool {
		return strings.Contains(second.output(), "Attempting to acquire leader lease")
	})

	// A push the frozen leader fetches but has not applied yet, as far as the test can
	// arrange it: the freeze comes as soon as the push is in.
	r.push(map[string]string{"apps/web/cm.yaml": configMap(ns, "web", "v2")})
	if err := first.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = first.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)
	eventually(t, 60*time.Second, "the second replica to take the Lease", func() bool {
		l := leaseRecord(t, leaseNS)
		return l.holder != "" && l.holder != firstID
	})
	for _, cl := range []string{alpha, beta} {
		eventually(t, 60*time.Second, "the new leader to apply to "+cl, func() bool { return configMapValue(t, cl, ns, "web") == "v2" })
	}
	r.push(map[string]string{"apps/web/cm.yaml": configMap(ns, "web", "v3")})
	thawedAt := time.Now()
	thaw()
	select {
	case <-first.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the thawed replica, which lost the Lease, did not exit")
	}
	var late []string
	for _, p := range firstMembers {
		for _, r := range p.all() {
			if r.at.After(thawedAt) {
				late = append(late, r.method+" "+r.path)
			}
		}
	}
	if len(late) > 0 {
		t.Errorf("the replica that lost the Lease sent %d requests to member clusters after it was thawed: %q", len(late), late)
	}
	expectGitfleetFormat(t, "first", first.output())
	expectGitfleetFormat(t, "second", second.output())
}
