package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"gitfleet.dev/gitfleet/reconciler/view"
)

// ServerOptions configure `gitfleet serve`.
type ServerOptions struct {
	// Management is the cluster gitfleet runs in: it holds the leader-election Lease.
	Management *rest.Config
	// LeaderElection makes replicas elect one leader that reconciles; the others wait.
	LeaderElection bool
	// LeaderElectionNamespace and LeaderElectionID name the Lease.
	LeaderElectionNamespace, LeaderElectionID string
	// Leader are the leader election's durations: how fast a crashed leader is replaced,
	// and how soon a leader that cannot renew stops writing.
	Leader LeaderTimings
	// Fence stops the loop's writes when this replica may have lost the lease; nil makes
	// one. Give one to fence other writers as well (Fence.Connector).
	Fence *LeaderFence
	// MetricsAddr serves /metrics, ProbeAddr /healthz and /readyz, WebhookAddr the push
	// webhooks ("0" disables a server).
	MetricsAddr, ProbeAddr, WebhookAddr string
	// WebhookSecret verifies push webhooks.
	WebhookSecret []byte
	// ViewAddr serves the read-only web view ("" or "0" disables it). View configures
	// it; its Source is the loop.
	ViewAddr string
	View     view.Options
	// ShutdownTimeout bounds how long an apply in progress may finish on shutdown
	// before it is abandoned between two requests.
	ShutdownTimeout time.Duration
	Loop            LoopOptions
}

// DefaultServerOptions returns the options of a Deployment in the global cluster.
func DefaultServerOptions() ServerOptions {
	return ServerOptions{
		LeaderElection:          true,
		LeaderElectionNamespace: "gitfleet-system",
		LeaderElectionID:        "gitfleet-leader",
		Leader:                  DefaultLeaderTimings(),
		MetricsAddr:             ":8080",
		ProbeAddr:               ":8081",
		WebhookAddr:             ":9292",
		ShutdownTimeout:         30 * time.Second,
		View:                    view.DefaultOptions(),
	}
}

// Serve runs the reconciler until ctx ends: a controller-runtime manager with leader
// election (a Lease), the reconcile loop and the webhook receiver on the leader only, and
// metrics, probes and the web view (when ViewAddr is set) on every replica. /readyz fails on replicas that are not the leader,
// so a Service in front of the replicas sends push webhooks to the leader.
//
// With leader election, the loop's writes (member clusters and status commits) go through
// a LeaderFence, so that a leader that can no longer renew its lease stops writing before
// another replica may take over.
func Serve(ctx context.Context, opts ServerOptions) error {
	shutdown := opts.ShutdownTimeout
	var lock resourcelock.Interface
	if opts.LeaderElection {
		if err := opts.Leader.Validate(); err != nil {
			return err
		}
		fence := opts.Fence
		if fence == nil {
			fence = NewLeaderFence(opts.Leader.RenewDeadline)
		}
		inner, err := newLeaseLock(opts)
		if err != nil {
			return err
		}
		lock = fence.Lock(inner)
		opts.Loop.Connector = fence.Connector(opts.Loop.Connector)
		opts.Loop.Status = fence.Status(opts.Loop.Status)
	}
	mgr, err := ctrl.NewManager(opts.Management, manager.Options{
		LeaderElection:                      opts.LeaderElection,
		LeaderElectionNamespace:             opts.LeaderElectionNamespace,
		LeaderElectionID:                    opts.LeaderElectionID,
		LeaderElectionResourceLockInterface: lock,
		LeaseDuration:                       &opts.Leader.LeaseDuration,
		RenewDeadline:                       &opts.Leader.RenewDeadline,
		RetryPeriod:                         &opts.Leader.RetryPeriod,
		LeaderElectionReleaseOnCancel:       true,
		Metrics:                             metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:              opts.ProbeAddr,
		GracefulShutdownTimeout:             &shutdown,
		Logger:                              opts.Loop.Apply.Log,
	})
	if err != nil {
		return fmt.Errorf("starting the manager: %w", err)
	}
	if opts.Loop.Metrics == nil {
		opts.Loop.Metrics = NewMetrics(ctrlmetrics.Registry)
	}
	loop := NewLoop(opts.Loop)
	if err := mgr.Add(loop); err != nil {
		return err
	}
	if opts.WebhookAddr != "0" {
		hooks := WebhookHandler(WebhookOptions{Secret: opts.WebhookSecret, Trigger: loop.Trigger, Metrics: opts.Loop.Metrics})
		if err := mgr.Add(&httpRunnable{name: "webhook", addr: opts.WebhookAddr, handler: hooks, leaderOnly: true}); err != nil {
			return err
		}
	}
	if opts.ViewAddr != "" && opts.ViewAddr != "0" {
		// The view runs on every replica: it only reads, so two replicas serving it can
		// never conflict, a port-forward to any pod answers, and a replica that becomes
		// leader is already listening. A follower's view says it has no state; a Service in
		// front of the replicas sends requests to the leader anyway, as /readyz fails on
		// the others.
		vo := opts.View
		vo.Source = loop
		pages, err := view.NewHandler(vo)
		if err != nil {
			return err
		}
		if err := mgr.Add(&httpRunnable{name: "view", addr: opts.ViewAddr, handler: pages, log: vo.Log}); err != nil {
			return err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	elected := mgr.Elected()
	if err := mgr.AddReadyzCheck("leader", func(*http.Request) error {
		select {
		case <-elected:
			return nil
		default:
			return errors.New("not the leader")
		}
	}); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// newLeaseLock is the Lease that replicas elect their leader with, made as
// controller-runtime makes it (leaderelection.NewResourceLock), so that the fence can wrap
// it: an identity unique to the process, and requests that time out within half the renew
// deadline so that one hung request does not cost the lease.
func newLeaseLock(opts ServerOptions) (resourcelock.Interface, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	cfg := rest.AddUserAgent(rest.CopyConfig(opts.Management), "leader-election")
	cfg.Timeout = max(opts.Leader.RenewDeadline/2, time.Second)
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("leader election client: %w", err)
	}
	coordination, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("leader election client: %w", err)
	}
	return resourcelock.New(resourcelock.LeasesResourceLock, opts.LeaderElectionNamespace, opts.LeaderElectionID,
		core, coordination, resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
}

// httpRunnable serves a handler, on the leader only or on every replica.
type httpRunnable struct {
	// name says what is served, in errors and logs.
	name       string
	addr       string
	handler    http.Handler
	leaderOnly bool
	// log, when set, gets a line with the address once it listens (the view's address
	// is where a person points a browser).
	log logr.Logger
}

func (h *httpRunnable) NeedLeaderElection() bool { return h.leaderOnly }

func (h *httpRunnable) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return fmt.Errorf("%s listener on %s: %w", h.name, h.addr, err)
	}
	if h.log.GetSink() != nil {
		h.log.Info("listening", "server", h.name, "url", "http://"+ln.Addr().String()+"/")
	}
	// Requests get the runnable's context: at shutdown the view's event streams end
	// instead of holding Shutdown for its whole timeout.
	srv := &http.Server{Handler: h.handler, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
