package reconciler

import (
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/prometheus/client_golang/prometheus"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// Metrics are the Prometheus metrics of the reconciler, served on /metrics.
type Metrics struct {
	reconcileDuration *prometheus.HistogramVec
	objects           *prometheus.CounterVec
	clusterHealthy    *prometheus.GaugeVec
	fetchErrors       prometheus.Counter
	// Drift counts out-of-band changes per cluster, App and action (corrected, reported,
	// resolved).
	Drift *prometheus.CounterVec
	// driftOpen is the number of drifted objects of alert-only Apps not fixed yet.
	driftOpen *prometheus.GaugeVec
	// revision is 1 for the revision applied, the last commit that changed something
	// outside status/.
	appliedRevision *prometheus.GaugeVec
	// Webhooks counts push webhooks per provider and result (accepted, bad_signature, ...).
	Webhooks *prometheus.CounterVec
	// rolloutWave is the 1-based wave an App's rollout is at (waves+1 once complete);
	// rolloutClusters counts the clusters that have the revision rolled out;
	// RolloutHalts counts halts per App.
	rolloutWave, rolloutClusters, rolloutHalted *prometheus.GaugeVec
	RolloutHalts                                *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gitfleet_reconcile_duration_seconds", Help: "Time of one reconcile of the fleet, fetch to status.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
		}, []string{"result"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitfleet_objects_applied_total", Help: "Objects handled by applies, per cluster and action (created, configured, unchanged, deleted).",
		}, []string{"cluster", "action"}),
		clusterHealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitfleet_cluster_healthy", Help: "1 when the cluster's last apply succeeded and everything is healthy.",
		}, []string{"cluster"}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gitfleet_git_fetch_errors_total", Help: "Failed fetches of the fleet repository.",
		}),
		Drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitfleet_drift_total", Help: "Objects changed or deleted outside gitfleet, per cluster, app and action.",
		}, []string{"cluster", "app", "action"}),
		driftOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitfleet_drift_open", Help: "Objects of alert-only apps (drift: alert) that differ from the fleet repository and are left so, per cluster and app.",
		}, []string{"cluster", "app"}),
		appliedRevision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitfleet_applied_revision_info", Help: "1 for the fleet revision applied (the last commit that changed something outside status/).",
		}, []string{"revision"}),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitfleet_webhook_requests_total", Help: "Push webhooks received, per provider and result.",
		}, []string{"provider", "result"}),
		rolloutWave: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitfleet_rollout_wave", Help: "The wave (1 = first) an app's rollout is at; waves+1 once complete.",
		}, []string{"app"}),
		rolloutClusters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitfleet_rollout_clusters", Help: "Clusters of an app's rollout, by whether they have the revision rolled out (updated) or not yet (pending).",
		}, []string{"app", "state"}),
		rolloutHalted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gitfleet_rollout_halted", Help: "1 while an app's rollout is halted (until a new commit).",
		}, []string{"app"}),
		RolloutHalts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitfleet_rollout_halts_total", Help: "Rollouts halted by a failed wave, per app.",
		}, []string{"app"}),
	}
	reg.MustRegister(m.reconcileDuration, m.objects, m.clusterHealthy, m.fetchErrors, m.Drift, m.driftOpen, m.appliedRevision, m.Webhooks,
		m.rolloutWave, m.rolloutClusters, m.rolloutHalted, m.RolloutHalts)
	return m
}

func (m *Metrics) fetchError() {
	if m != nil {
		m.fetchErrors.Inc()
	}
}

func (m *Metrics) observe(results []ClusterResult, took time.Duration) {
	if m == nil {
		return
	}
	result := "success"
	for _, r := range results {
		healthy := 1.0
		if len(r.Errors()) > 0 || r.Health() != Healthy {
			healthy, result = 0, "failure"
		}
		m.clusterHealthy.WithLabelValues(r.Cluster).Set(healthy)
		c := r.Counts()
		for action, n := range map[ssa.Action]int{ssa.CreatedAction: c.Created, ssa.ConfiguredAction: c.Configured, ssa.UnchangedAction: c.Unchanged, ssa.DeletedAction: c.Pruned} {
			m.objects.WithLabelValues(r.Cluster, string(action)).Add(float64(n))
		}
	}
	m.reconcileDuration.WithLabelValues(result).Observe(took.Seconds())
}

// drift counts a drift reported, corrected or resolved.
func (m *Metrics) drift(cluster, app, action string, resolved bool) {
	if m == nil {
		return
	}
	if resolved {
		action = "resolved"
	}
	m.Drift.WithLabelValues(cluster, app, action).Inc()
}

// openDrift sets the open drift reports of each App of a cluster.
func (m *Metrics) openDrift(cluster string, apps []string, open map[string]int) {
	if m == nil {
		return
	}
	for _, app := range apps {
		m.driftOpen.WithLabelValues(cluster, app).Set(float64(open[app]))
	}
}

// revision records the revision applied.
func (m *Metrics) revision(rev string) {
	if m == nil {
		return
	}
	m.appliedRevision.Reset()
	m.appliedRevision.WithLabelValues(rev).Set(1)
}

// rollout records where an App's rollout stands.
func (m *Metrics) rollout(r status.Rollout) {
	if m == nil {
		return
	}
	m.rolloutWave.WithLabelValues(r.App).Set(float64(r.Wave + 1))
	updated, pending := 0, 0
	for _, w := range r.Waves {
		for _, c := range w.Clusters {
			if c.Revision == r.Revision {
				updated++
			} else {
				pending++
			}
		}
	}
	m.rolloutClusters.WithLabelValues(r.App, "updated").Set(float64(updated))
	m.rolloutClusters.WithLabelValues(r.App, "pending").Set(float64(pending))
	halted := 0.0
	if r.Phase == status.RolloutHalted {
		halted = 1
	}
	m.rolloutHalted.WithLabelValues(r.App).Set(halted)
}

// rolloutHalt counts a halt.
func (m *Metrics) rolloutHalt(app string) {
	if m != nil {
		m.RolloutHalts.WithLabelValues(app).Inc()
	}
}
