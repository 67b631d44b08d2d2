package reconcilebench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/fleetgen"
	"gitfleet.dev/gitfleet/test/harness"
	"gitfleet.dev/gitfleet/test/peakmem"
)

const (
	// fleetSizesEnv lists the fleet sizes BenchmarkFleet runs, in member clusters,
	// comma-separated (default 10,30,100). A CI job that cannot spend the minutes the
	// 100-cluster size takes sets 10,30; `make bench` runs all three.
	fleetSizesEnv = "GITFLEET_BENCH_FLEET_SIZES"
	// fleetServers real API servers carry all cluster entries of BenchmarkFleet: what grows
	// with the entries is gitfleet's own per-cluster cost, not the servers'.
	fleetServers = 3
	mib          = 1 << 20
)

func fleetSizes(b *testing.B) []int {
	v := os.Getenv(fleetSizesEnv)
	if v == "" {
		return []int{10, 30, 100}
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want cluster counts such as 10,30,100", fleetSizesEnv, v)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkFleet runs gitfleet as one replica of `gitfleet serve` runs it (a Loop with
// drift watching, default apply options) over fleets of 10, 30 and 100 member clusters
// with 1,000 objects each (one App per cluster, in namespaces of its own). One op is the
// first pass (everything created) and a second, no-op pass (the interval's re-apply).
// It reports both pass times, the peak Go heap in use and peak RSS of this process over
// both passes (gitfleet plus the generated repository, nothing else: the API servers are
// other processes), and once the drift watch is up, the goroutines and open watch
// requests per cluster. Goals (test/benchreport): 10 clusters under 150 MiB, 100 under
// 1 GiB, pass time per cluster growing no more than 1.5x from the smallest size to the
// largest (linear growth), and no write in the no-op pass.
func BenchmarkFleet(b *testing.B) {
	sizes := fleetSizes(b)
	objects := scaled(b, 1000)
	servers := make([]string, fleetServers)
	for i := range servers {
		servers[i] = fmt.Sprintf("server-%d", i)
	}
	env := harness.StartT(b, harness.Options{Clusters: servers})
	for _, n := range sizes {
		b.Run(fmt.Sprintf("%dx%d", n, objects), func(b *testing.B) {
			var first, noop time.Duration
			var heap, rss, startRSS, writes int64
			var goroutines, watches float64
			op := 0
			for b.Loop() {
				op++
				m := runFleet(b, env, fleetgen.Options{Clusters: n, Apps: 1, ObjectsPerApp: objects, ClusterApps: true, AppNamespaces: true, Suffix: fmt.Sprintf("-fleet-%d-%d", n, op)})
				first += m.first
				noop += m.noop
				heap, rss, startRSS, writes = max(heap, m.heap), max(rss, m.rss), max(startRSS, m.startRSS), writes+m.noopWrites
				goroutines, watches = float64(m.goroutines)/float64(n), float64(m.watches)/float64(n)
			}
			per := float64(b.N)
			b.ReportMetric(first.Seconds()/per, "first-pass-s")
			b.ReportMetric(noop.Seconds()/per, "noop-pass-s")
			b.ReportMetric(first.Seconds()/per/float64(n)*1000, "first-pass-ms/cluster")
			b.ReportMetric(noop.Seconds()/per/float64(n)*1000, "noop-pass-ms/cluster")
			b.ReportMetric(float64(heap)/mib, "peak-heap-MiB")
			if rss > 0 {
				b.ReportMetric(float64(rss)/mib, "peak-rss-MiB")
				b.ReportMetric(float64(startRSS)/mib, "start-rss-MiB")
			}
			b.ReportMetric(goroutines, "goroutines/cluster")
			b.ReportMetric(watches, "watches/cluster")
			b.ReportMetric(float64(writes)/per, "noop-writes/op")
		})
	}
}

// fleetRun is what one op of BenchmarkFleet measured.
type fleetRun struct {
	first, noop time.Duration
	heap, rss   int64
	// startRSS is what the process held before the fleet: the program and the harness.
	startRSS            int64
	noopWrites          int64
	goroutines, watches int
}

// runFleet makes a Loop for a new fleet, runs its first and a no-op pass, and measures.
func runFleet(b *testing.B, env *harness.Env, gen fleetgen.Options) fleetRun {
	b.Helper()
	b.StopTimer()
	files := fleetgen.FS(gen)
	repo, err := schema.Load(b.Context(), files)
	if err != nil {
		b.Fatal(err)
	}
	conn := &counter{inner: &sharedServers{servers: env.Clusters, fleet: repo.Fleet.Metadata.Name}}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	loop := reconciler.NewLoop(reconciler.LoopOptions{
		Source: oneRevision{files}, Connector: conn, Apply: reconciler.DefaultApplyOptions(),
		Interval: time.Hour, WatchDrift: true,
	})
	runtime.GC()
	debug.FreeOSMemory()
	goroutinesBefore := runtime.NumGoroutine()
	rssReset := peakmem.ResetPeakRSS()
	startRSS, _ := peakmem.RSS()
	heap := peakmem.Start(10*time.Millisecond, peakmem.HeapObjects)
	b.StartTimer()

	var m fleetRun
	pass := func(why reconciler.TriggerKind) time.Duration {
		start := time.Now()
		outcome, err := loop.ReconcileNow(ctx, why)
		if err != nil || outcome != reconciler.OutcomeApplied {
			b.Fatalf("%s pass: %s: %v", why, outcome, err)
		}
		return time.Since(start)
	}
	m.first = pass(reconciler.TriggerStart)
	conn.reset()
	m.noop = pass(reconciler.TriggerInterval)
	m.noopWrites = conn.writes.Load()

	b.StopTimer()
	m.heap = heap.Stop()
	if hwm, ok := peakmem.PeakRSS(); ok && rssReset {
		m.rss, m.startRSS = hwm, startRSS
	}
	// The drift watch starts its informers after a pass, each with a LIST and then a
	// WATCH: wait until every cluster has one per kind it holds (Namespaces, ConfigMaps),
	// and a little longer in case there are more.
	want := int64(2 * gen.Clusters)
	deadline := time.Now().Add(30 * time.Second)
	for conn.openWatches() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	m.watches = int(conn.openWatches())
	m.goroutines = runtime.NumGoroutine() - goroutinesBefore
	cancel()
	b.StartTimer()
	return m
}

// sharedServers connects cluster entry cls-N to the API server N mod len(servers).
//
// Entries of one fleet cannot simply share a server: gitfleet finds its inventories and
// its drift-watched objects by the fleet's label, cluster-wide, so each entry would take
// the others' Apps for its own orphans and watch their objects too. So on the wire, each
// entry's fleet label value is its own (fleet.entry): in label selectors and request bodies
// the fleet's name becomes the entry's, and in responses back again. gitfleet sees its
// fleet; each API server holds several fleets, one per entry. The rewriting is done in
// gitfleet's process and counted in its time and memory.
type sharedServers struct {
	servers []*harness.Cluster
	fleet   string
}

var _ reconciler.Connector = (*sharedServers)(nil)

func (s *sharedServers) RESTConfig(c *schema.Cluster) (*rest.Config, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(c.Metadata.Name, "cls-"))
	if err != nil {
		return nil, fmt.Errorf("cluster %s is not one of fleetgen's cls-N", c.Metadata.Name)
	}
	cfg := s.servers[n%len(s.servers)].RESTConfig()
	cfg.Timeout = 30 * time.Second // as reconciler.KubeconfigConnector
	// The rewriting reads JSON. gitfleet's clients ask for JSON, except the drift watch's
	// metadata client, which prefers protobuf and also accepts JSON: rewriteRequest leaves
	// it the JSON choices.
	cfg.ContentType, cfg.AcceptContentTypes = "application/json", "application/json"
	from, to := s.fleet, s.fleet+"."+c.Metadata.Name
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			r, err := rewriteRequest(r, from, to)
			if err != nil {
				return nil, err
			}
			resp, err := rt.RoundTrip(r)
			if err != nil || resp.Body == nil || resp.Body == http.NoBody {
				return resp, err
			}
			if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
				resp.Body.Close()
				return nil, fmt.Errorf("sharing an API server between cluster entries needs JSON, got %s for %s", ct, r.URL)
			}
			resp.Body = &lineRewriter{src: bufio.NewReader(resp.Body), closer: resp.Body, from: []byte(strconv.Quote(to)), to: []byte(strconv.Quote(from))}
			resp.ContentLength = -1
			resp.Header.Del("Content-Length")
			return resp, nil
		})
	})
	return cfg, nil
}

// rewriteRequest gives the fleet's label value the entry's, in the label selector and the
// body.
func rewriteRequest(r *http.Request, from, to string) (*http.Request, error) {
	r = r.Clone(r.Context())
	if accept := r.Header.Get("Accept"); strings.Contains(accept, "protobuf") {
		var json []string
		for _, choice := range strings.Split(accept, ",") {
			if !strings.Contains(choice, "protobuf") {
				json = append(json, choice)
			}
		}
		r.Header.Set("Accept", strings.Join(json, ","))
	}
	q := r.URL.Query()
	if sel := q.Get("labelSelector"); sel != "" {
		parts := strings.Split(sel, ",")
		for i, p := range parts {
			if key, value, ok := strings.Cut(p, "="); ok && key == render.LabelFleet && value == from {
				parts[i] = key + "=" + to
			}
		}
		q.Set("labelSelector", strings.Join(parts, ","))
		r.URL.RawQuery = q.Encode()
	}
	if r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	data, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	data = bytes.ReplaceAll(data, []byte(strconv.Quote(from)), []byte(strconv.Quote(to)))
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return r, nil
}

// lineRewriter replaces from with to in a response, a line at a time: a watch's events
// are one line each, so it streams them as they come.
type lineRewriter struct {
	src      *bufio.Reader
	closer   io.Closer
	from, to []byte
	pending  []byte
	err      error
}

func (l *lineRewriter) Read(p []byte) (int, error) {
	for len(l.pending) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		line, err := l.src.ReadBytes('\n')
		l.pending, l.err = bytes.ReplaceAll(line, l.from, l.to), err
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

func (l *lineRewriter) Close() error { return l.closer.Close() }
