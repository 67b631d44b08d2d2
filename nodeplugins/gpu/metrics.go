package gpu

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The seed's GPU-Manager metrics (names, labels and units as TKEStack's monitoring reads them).
var (
	containerLabels = []string{"container_name", "namespace", "node", "pod_name"}

	descUtilization = prometheus.NewDesc("container_gpu_utilization",
		"GPU utilization of the container as a fraction of one card: per card (gpu=gpuN) and summed (gpu=total).",
		append(containerLabels, "gpu"), nil)
	descMemory = prometheus.NewDesc("container_gpu_memory_total",
		"gpu memory usage in MiB: per card (gpu_memory=gpuN) and summed (gpu_memory=total).",
		append(containerLabels, "gpu_memory"), nil)
	descRequestMemory = prometheus.NewDesc("container_request_gpu_memory",
		"GPU memory the container requested, in MiB (tencent.com/vcuda-memory x 256).",
		append(containerLabels, "req_of_gpu_memory"), nil)
	descRequestUtilization = prometheus.NewDesc("container_request_gpu_utilization",
		"GPU the container requested, in cards (tencent.com/vcuda-core / 100).",
		append(containerLabels, "req_of_gpu"), nil)
	// Not in the seed: the card health the plugin reports to the kubelet, so an alert can
	// say which card was withdrawn and why.
	descCardHealthy = prometheus.NewDesc("gitfleet_gpu_card_healthy",
		"1 when the card's vcuda units are offered to the kubelet, 0 when the card is unhealthy.",
		[]string{"node", "gpu", "uuid"}, nil)
)

// collector formats each scrape's Usage as the seed's metrics.
type collector struct {
	reader *UsageReader
	log    *slog.Logger
}

var _ prometheus.Collector = (*collector)(nil)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUtilization, descMemory, descRequestMemory, descRequestUtilization, descCardHealthy} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	usage := c.reader.Read(context.Background())
	for _, p := range usage.Problems {
		c.log.Warn("GPU usage reading incomplete", "problem", p)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, card := range usage.Cards {
		healthy := 0.0
		if card.Healthy {
			healthy = 1
		}
		gauge(descCardHealthy, healthy, usage.Node, gpuLabel(card.Card.Index), card.Card.UUID)
	}
	for _, ctr := range usage.Containers {
		labels := []string{ctr.Container, ctr.Namespace, usage.Node, ctr.Pod}
		var util, used float64
		for _, i := range ctr.Cards {
			util += ctr.Utilization[i]
			used += float64(ctr.UsedMiB[i])
			gauge(descUtilization, ctr.Utilization[i], append(labels, gpuLabel(i))...)
			gauge(descMemory, float64(ctr.UsedMiB[i]), append(labels, gpuLabel(i))...)
		}
		gauge(descUtilization, util, append(labels, "total")...)
		gauge(descMemory, used, append(labels, "total")...)
		gauge(descRequestMemory, float64(ctr.MemoryMiB), append(labels, "total")...)
		// GPU-Manager computed the request in float32: the seed's example of 30 units is
		// 0.30000001192092896, and dashboards built for it compare against that value.
		gauge(descRequestUtilization, float64(float32(ctr.CoreUnits)/CoreUnitsPerCard), append(labels, "total")...)
	}
}

func gpuLabel(index int) string { return fmt.Sprintf("gpu%d", index) }

// NewMetricsHandler serves /metrics (Prometheus), /metric (the path the seed's port-forward
// example uses) and /usage (the same reading as a table for people).
func NewMetricsHandler(reader *UsageReader, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{reader: reader, log: log})
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.Handle("/metric", metrics)
	mux.HandleFunc("/usage", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeUsage(w, reader.Read(r.Context()))
	})
	return mux
}

// writeUsage prints a reading for people.
func writeUsage(w io.Writer, u Usage) {
	if len(u.Cards) == 0 {
		fmt.Fprintf(w, "node %s: no GPU (nothing is advertised to the kubelet)\n", u.Node)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "GPU\tUUID\tNAME\tMEMORY MiB\tUSED MiB\tHEALTH\n")
	for _, c := range u.Cards {
		health := "healthy"
		if !c.Healthy {
			health = "unhealthy: " + c.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", gpuLabel(c.Card.Index), c.Card.UUID, c.Card.Name, c.Card.MemoryMiB, c.UsedMiB, health)
	}
	fmt.Fprintf(tw, "\nNAMESPACE\tPOD\tCONTAINER\tGPUS\tREQ CORE\tREQ MEMORY MiB\tUTIL\tUSED MiB\n")
	for _, c := range u.Containers {
		var gpus []string
		var util float64
		var used uint64
		for _, i := range c.Cards {
			gpus = append(gpus, gpuLabel(i))
			util += c.Utilization[i]
			used += c.UsedMiB[i]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%.2f\t%d\n", c.Namespace, c.Pod, c.Container, strings.Join(gpus, ","), c.CoreUnits, c.MemoryMiB, util, used)
	}
	_ = tw.Flush()
	for _, p := range u.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
}
