package e2e

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

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
