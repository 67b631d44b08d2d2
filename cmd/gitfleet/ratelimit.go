package main

import (
	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/reconciler"
)

// rateLimitFlags are the client-side request limits towards member clusters, for the
// commands that write to them. Off by default, as in kubectl: the API server's Priority
// and Fairness is the limit, and a lower one here would only slow gitfleet down.
type rateLimitFlags struct {
	qps   float32
	burst int
}

func (r *rateLimitFlags) add(f *pflag.FlagSet) {
	f.Float32Var(&r.qps, "kube-qps", 0, "most requests per second to each member cluster's API server; 0 sends without a client-side limit and leaves flow control to the API server's Priority and Fairness (429 answers are retried after the server's Retry-After)")
	f.IntVar(&r.burst, "kube-burst", 0, "requests that may go above --kube-qps in a burst (at least --kube-qps; only with --kube-qps)")
}

// set gives the limits to the connector.
func (r rateLimitFlags) set(conn *reconciler.KubeconfigConnector) {
	conn.QPS, conn.Burst = r.qps, r.burst
}
