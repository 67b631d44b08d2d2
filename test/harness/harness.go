// Package harness starts real Kubernetes control planes on the loopback interface for tests and
// demos: one shared etcd, and per member cluster a kube-apiserver (with real certificate
// authentication and Node,RBAC authorization), optionally kube-controller-manager,
// kube-scheduler and kwok with fake Ready nodes. The binaries are built by `make tools`
// (test/tools/build.sh) into .tools/bin at the repository root.
//
// Clusters are independent: each kube-apiserver stores its objects under its own etcd prefix
// and has its own CA and service-account key, so neither objects nor credentials cross from one
// cluster to another.
//
// Without ControllerManager nothing creates the "default" service account of a namespace, so
// the ServiceAccount admission plugin rejects pods; tests that create pods need it (and
// Scheduler plus Nodes to see them scheduled and Running).
//
// Logs of every component are in WorkDir/logs/<cluster>-<component>.log (etcd.log for etcd).
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Options configures Start. The zero value starts one cluster named "member-1" with only etcd
// and kube-apiserver.
type Options struct {
	Clusters          []string     // member cluster names; one kube-apiserver each; default {"member-1"}
	BinDir            string       // directory with the binaries; default: $GITFLEET_TOOLS_BIN, else <repo root>/.tools/bin
	WorkDir           string       // where certs, kubeconfigs, data and logs go; default a new temporary directory, removed by Stop (a WorkDir given here is kept, for its logs)
	ControllerManager bool         // also start kube-controller-manager per cluster (namespace deletion, service accounts, GC ...)
	Scheduler         bool         // also start kube-scheduler per cluster
	Nodes             int          // if > 0: start kwok per cluster with this many fake Ready nodes named node-1..N
	Log               *slog.Logger // progress messages; nil = discard
}

// Env is a running set of clusters. Stop it when done.
type Env struct {
	Clusters   []*Cluster
	Kubeconfig string // one kubeconfig with one context per cluster, context name == cluster name
	WorkDir    string

	opts        Options
	log         *slog.Logger
	bins        binaries
	ownsWorkDir bool // only a directory the harness created is removed by Stop
	etcd        *process
	etcdURL     string

	stopped  atomic.Bool // set first thing in Stop so that StartAPIServer cannot start orphans
	stopOnce sync.Once
	stopErr  error
}

// Cluster is one member cluster.
type Cluster struct {
	Name       string
	Host       string // https://127.0.0.1:PORT
	Kubeconfig string // kubeconfig with only this cluster (context == Name)

	env  *Env
	dir  string // WorkDir/<Name>
	pki  *clusterPKI
	port int // kube-apiserver's port, kept across StopAPIServer/StartAPIServer

	kcmKubeconfig       string
	schedulerKubeconfig string

	// mu guards the process handles, which StopAPIServer and StartAPIServer replace while a
	// test may be calling Stop.
	mu                sync.Mutex
	apiserver         *process
	controllerManager *process
	scheduler         *process
	kwok              *process
}

const (
	defaultCluster = "member-1"
	repoModule     = "gitfleet.dev/gitfleet"
	toolsBinEnv    = "GITFLEET_TOOLS_BIN"

	// readyTimeout bounds each readiness wait; on this 2-core class of machine an apiserver is
	// ready in a few seconds, so a minute means something is broken, not slow.
	readyTimeout = 60 * time.Second
)

// clusterName is what the name becomes part of: directory names, file names, an etcd prefix and
// kubeconfig context names. A DNS label is safe in all of them.
var clusterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Start starts etcd, then every cluster in parallel, and returns once all components are ready.
// ctx bounds only the startup: the processes run until Stop. On failure everything started is
// stopped and the error includes the tail of the failing component's log.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	begin := time.Now()
	if len(opts.Clusters) == 0 {
		opts.Clusters = []string{defaultCluster}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Nodes < 0 {
		return nil, fmt.Errorf("harness: Nodes must not be negative, got %d", opts.Nodes)
	}
	seen := map[string]bool{}
	for _, name := range opts.Clusters {
		if !clusterName.MatchString(name) {
			return nil, fmt.Errorf("harness: cluster name %q is not a DNS label (lower-case letters, digits and '-')", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("harness: cluster name %q given twice", name)
		}
		seen[name] = true
	}
	bins, err := findBinaries(opts)
	if err != nil {
		return nil, err
	}

	e := &Env{opts: opts, log: opts.Log, bins: bins}
	if opts.WorkDir == "" {
		if e.WorkDir, err = os.MkdirTemp("", "gitfleet-harness-"); err != nil {
			return nil, fmt.Errorf("harness: create work directory: %w", err)
		}
		e.ownsWorkDir = true
	} else {
		// Absolute, because the components run with their cluster directory as working directory.
		if e.WorkDir, err = filepath.Abs(opts.WorkDir); err != nil {
			return nil, fmt.Errorf("harness: work directory: %w", err)
		}
	}
	defer func() {
		if err != nil {
			if stopErr := e.Stop(); stopErr != nil {
				e.log.Warn("harness: cleanup after failed start", "err", stopErr)
			}
		}
	}()
	if err := os.MkdirAll(filepath.Join(e.WorkDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("harness: create work directory: %w", err)
	}

	for _, name := range opts.Clusters {
		c := &Cluster{Name: name, env: e, dir: filepath.Join(e.WorkDir, name)}
		if c.pki, err = newClusterPKI(name); err != nil {
			return nil, fmt.Errorf("harness: cluster %q: certificates: %w", name, err)
		}
		if err := c.pki.writeFiles(filepath.Join(c.dir, "pki")); err != nil {
			return nil, fmt.Errorf("harness: cluster %q: write certificates: %w", name, err)
		}
		e.Clusters = append(e.Clusters, c)
	}

	if err := e.startEtcd(ctx); err != nil {
		return nil, err
	}

	// The clusters only share etcd, so they start in parallel; the first failure cancels the rest.
	fns := make([]func(context.Context) error, 0, len(e.Clusters))
	for _, c := range e.Clusters {
		fns = append(fns, c.start)
	}
	if err := parallel(ctx, fns...); err != nil {
		return nil, err
	}

	entries := make([]kubeconfigEntry, 0, len(e.Clusters))
	for _, c := range e.Clusters {
		entries = append(entries, c.adminKubeconfigEntry())
	}
	e.Kubeconfig = filepath.Join(e.WorkDir, "kubeconfig")
	if err := writeKubeconfig(e.Kubeconfig, entries...); err != nil {
		return nil, fmt.Errorf("harness: write kubeconfig: %w", err)
	}
	e.log.Info("harness: environment ready", "clusters", opts.Clusters, "kubeconfig", e.Kubeconfig, "elapsed", time.Since(begin).Round(time.Millisecond))
	return e, nil
}

// StartT starts an environment for a test and stops it when the test and its subtests are done.
// If the environment cannot start, the test fails (never skips) with the reason. Unless
// opts.Log is set, progress goes to the test's output (shown with -v or on failure).
func StartT(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	e, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("harness: stop: %v", err)
		}
	})
	return e
}

// Stop stops every process (SIGTERM, then SIGKILL after a few seconds) and removes the work
// directory if the harness created it; a WorkDir given in Options is left in place so that its
// logs can be read. Calling Stop again returns the first call's result.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() { e.stopErr = e.stop() })
	return e.stopErr
}

func (e *Env) stop() error {
	begin := time.Now()
	e.stopped.Store(true)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	// Cluster components first, all at once so that the grace periods overlap; etcd last,
	// because the apiservers need it until they have exited.
	for _, c := range e.Clusters {
		for _, p := range c.processes() {
			wg.Go(func() {
				if err := p.stop(stopGrace); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if err := e.etcd.stop(stopGrace); err != nil {
		errs = append(errs, err)
	}
	if e.ownsWorkDir {
		if err := os.RemoveAll(e.WorkDir); err != nil {
			errs = append(errs, fmt.Errorf("remove work directory: %w", err))
		}
	}
	e.log.Info("harness: environment stopped", "elapsed", time.Since(begin).Round(time.Millisecond))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("harness: stop: %w", err)
	}
	return nil
}

// Cluster returns the cluster with the given name, or nil.
func (e *Env) Cluster(name string) *Cluster {
	for _, c := range e.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (e *Env) logPath(cluster, component string) string {
	name := component
	if cluster != "" {
		name = cluster + "-" + component
	}
	return filepath.Join(e.WorkDir, "logs", name+".log")
}

// RESTConfig returns a new admin (system:masters) config for the cluster, without a
// client-side rate limit (negative QPS; zero would be client-go's 5/s): tests are not
// slowed by throttling, and no baseline a benchmark builds on it carries a limit that the
// API server itself does not impose.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host: c.Host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   bytes.Clone(c.pki.ca.certPEM),
			CertData: bytes.Clone(c.pki.admin.certPEM),
			KeyData:  bytes.Clone(c.pki.admin.keyPEM),
		},
		QPS: -1,
	}
}

// StopAPIServer stops only this cluster's kube-apiserver, so the cluster looks unreachable
// while its other components keep running. Host keeps its port for StartAPIServer.
//
// The apiserver gets a shorter grace period than in Stop: on SIGTERM it closes its listener at
// once, but then waits up to --request-timeout (60s) for clients such as
// kube-controller-manager to drop their watch connections. It keeps no state of its own, so
// killing it after that first second loses nothing.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserver == nil {
		return fmt.Errorf("harness: cluster %q: kube-apiserver was never started", c.Name)
	}
	if err := c.apiserver.stop(apiserverStopGrace); err != nil {
		return fmt.Errorf("harness: cluster %q: stop kube-apiserver: %w", c.Name, err)
	}
	c.env.log.Info("harness: kube-apiserver stopped", "cluster", c.Name)
	return nil
}

// StartAPIServer starts this cluster's kube-apiserver again on the same port with the same
// certificates and waits until it is ready. It does nothing if the apiserver is running.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env.stopped.Load() {
		return fmt.Errorf("harness: cluster %q: environment is stopped", c.Name)
	}
	if c.apiserver != nil && !c.apiserver.exited() {
		return nil
	}
	begin := time.Now()
	p, err := c.launchAPIServer(c.port)
	if err != nil {
		return fmt.Errorf("harness: cluster %q: kube-apiserver: %w", c.Name, err)
	}
	if err := c.waitAPIServer(ctx, p, c.port); err != nil {
		failure := p.fail(err)
		_ = p.stop(stopGrace)
		if errors.Is(err, errPortInUse) {
			failure = fmt.Errorf("%w (another process took port %d while the apiserver was stopped)", failure, c.port)
		}
		return failure
	}
	c.apiserver = p
	c.env.log.Info("harness: kube-apiserver restarted", "cluster", c.Name, "host", c.Host, "elapsed", time.Since(begin).Round(time.Millisecond))
	return nil
}

// processes returns the cluster's started processes.
func (c *Cluster) processes() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []*process
	for _, p := range []*process{c.kwok, c.scheduler, c.controllerManager, c.apiserver} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// setProcess records a started component so that Stop finds it.
func (c *Cluster) setProcess(slot **process, p *process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*slot = p
}

func (c *Cluster) adminKubeconfigEntry() kubeconfigEntry {
	return kubeconfigEntry{context: c.Name, user: c.Name + "-admin", host: c.Host, caPEM: c.pki.ca.certPEM, client: c.pki.admin}
}

// parallel runs fns concurrently. The first error cancels the context of the others (which then
// fail too) and is the one returned, since the later ones are only its consequence.
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, fn := range fns {
		wg.Go(func() {
			if err := fn(ctx); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func itoa(i int) string { return strconv.Itoa(i) }
