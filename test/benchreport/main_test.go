package main

import (
	"bytes"
	"strings"
	"testing"
)

// A run as `make bench` prints it (trimmed): a reconcile shape, two fleet sizes, a render
// comparison, the drift latencies and a benchmark with only a baseline sub-benchmark.
const sample = `goos: linux
BenchmarkReconcile/10x1000-configmaps/first-apply/gitfleet-2         	       1	10000000000 ns/op	         3.000 dry-runs/op	      1001 objects/s	     10011 writes/op
BenchmarkReconcile/10x1000-configmaps/first-apply/baseline-raw-ssa-2 	       1	9000000000 ns/op	      1112 objects/s
BenchmarkReconcile/10x1000-configmaps/first-apply/baseline-kubectl-2 	       1	20000000000 ns/op	       500.5 objects/s
BenchmarkReconcile/10x1000-configmaps/noop/gitfleet-2                	      10	 100000000 ns/op	         0 dry-runs/op	    100100 objects/s	         0 writes/op
BenchmarkReconcile/10x1000-configmaps/noop/baseline-raw-ssa-2        	       1	8000000000 ns/op	      1251 objects/s
BenchmarkReconcile/10x1000-configmaps/noop/baseline-kubectl-2        	       1	3500000000 ns/op	      2860 objects/s
BenchmarkReconcile/10x1000-configmaps/one-change/gitfleet-2          	       3	 200000000 ns/op	        10.00 clusters	         1.000 dry-runs/op	     50050 objects/s	        11.00 writes/op
BenchmarkReconcile/10x1000-configmaps/one-change/baseline-kubectl-2  	       1	3600000000 ns/op	      2780 objects/s
BenchmarkFleet/10x1000-2         	       1	 30000000000 ns/op	       2000 first-pass-ms/cluster	        20.00 first-pass-s	        26.00 goroutines/cluster	        100.0 noop-pass-ms/cluster	         1.000 noop-pass-s	         0 noop-writes/op	        60.00 peak-heap-MiB	       140.0 peak-rss-MiB	        90.00 start-rss-MiB	         2.000 watches/cluster
BenchmarkFleet/100x1000-2        	       1	 330000000000 ns/op	       2200 first-pass-ms/cluster	       220.0 first-pass-s	        26.00 goroutines/cluster	        200.0 noop-pass-ms/cluster	        20.00 noop-pass-s	         0 noop-writes/op	       600.0 peak-heap-MiB	      1100 peak-rss-MiB	         2.000 watches/cluster
BenchmarkRenderCLI/1x2000-kustomization/gitfleet-render-2         	       1	4091394486 ns/op	       488.8 objects/s	       109.7 peak-rss-MB
BenchmarkRenderCLI/1x2000-kustomization/baseline-kustomize-binary-2         	       1	2660000000 ns/op	       751.8 objects/s	        42.00 peak-rss-MB
BenchmarkRenderCLI/1x2000-kustomization/gitfleet-help-2         	       1	 60000000 ns/op	       105.0 peak-rss-MB
BenchmarkDriftDetection/alert-2         	       1	2327857465 ns/op	         4.077 baseline-informer-median-ms	         6.772 baseline-informer-worst-ms	       117.5 detect-median-ms	       120.7 detect-worst-ms	        28.81 detect-x-baseline
BenchmarkDriftDetection/correct-2       	       1	2790009611 ns/op	        12.38 baseline-corrector-median-ms	        29.98 baseline-corrector-worst-ms	       124.0 correct-median-ms	       143.3 correct-worst-ms	        10.02 correct-x-baseline
BenchmarkValidate/gitfleet-2     	       4	 300000000 ns/op
BenchmarkValidate/baseline-yaml-parse-2     	       9	 130000000 ns/op
PASS
`

func report(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	results, err := read(strings.NewReader(sample), &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != sample {
		t.Errorf("the input was not passed through unchanged:\n%s", out.String())
	}
	out.Reset()
	printTable(&out, rows(results))
	return out.String()
}

// tableRow finds the row whose measure starts with prefix and whose baseline cell contains
// baseline, and returns its cells.
func tableRow(t *testing.T, table, prefix, baseline string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) == 6 && strings.HasPrefix(cells[0], prefix) && strings.Contains(cells[2], baseline) {
			return cells
		}
	}
	t.Fatalf("no row %q with baseline %q in:\n%s", prefix, baseline, table)
	return nil
}

func TestTable(t *testing.T) {
	table := report(t)
	for _, tc := range []struct {
		prefix, baseline string
		want             []string // gitfleet, ratio, goal, met
	}{
		{"first apply, 10x1000-configmaps (BenchmarkReconcile/10x1000-configmaps/first-apply)", "raw SSA ceiling: 1112 objects/s",
			[]string{"1001 objects/s (10.0 s)", "0.90x the throughput", ">= 0.9x the ceiling's throughput", "yes"}},
		{"first apply, 10x1000-configmaps", "kubectl apply --server-side: 20.0 s",
			[]string{"10.0 s, 10011 writes, 3 dry runs", "2.0x faster", "-", "-"}},
		{"no-op apply, 10x1000-configmaps", "kubectl apply --server-side: 3.50 s",
			[]string{"0.100 s, 0 writes, 0 dry runs", "35.0x faster", ">= 20x faster than kubectl, 0 writes", "yes"}},
		{"no-op apply, 10x1000-configmaps", "raw SSA ceiling: 8.00 s",
			[]string{"0.100 s, 0 writes, 0 dry runs", "80.0x faster", "-", "-"}},
		{"one object changed, 10x1000-configmaps", "kubectl",
			[]string{"0.200 s, 11 writes, 1 dry run", "18.0x faster", "exactly 1 write per cluster (10)", "no"}},
		{"fleet of 10 clusters x 1000 objects, one replica (BenchmarkFleet/10x1000): peak memory", "-",
			[]string{"RSS 140 MiB (90 MiB before the fleet), heap 60 MiB", "-", "RSS under 150 MiB", "yes"}},
		{"fleet of 100 clusters x 1000 objects, one replica (BenchmarkFleet/100x1000): peak memory", "-",
			[]string{"RSS 1.07 GiB, heap 600 MiB", "-", "RSS under 1.00 GiB", "no"}},
		{"fleet of 100 clusters x 1000 objects, one replica (BenchmarkFleet/100x1000): passes", "-",
			[]string{"first pass 220 s, no-op pass 20.0 s (0 writes)", "-", "no-op pass: 0 writes", "yes"}},
		{"pass time per cluster, growth from 10 to 100 clusters", "10 clusters: first pass 2000 ms, no-op 100 ms per cluster",
			[]string{"100 clusters: first pass 2200 ms, no-op 200 ms per cluster", "first 1.10x, no-op 2.00x", "<= 1.5x (linear)", "no"}},
		{"peak RSS per added cluster", "10 clusters: 140 MiB",
			[]string{"10.7 MiB per cluster of 1000 objects", "-", "-", "-"}},
		{"gitfleet render, 1x2000-kustomization: time", "kustomize binary: 2.66 s",
			[]string{"4.09 s", "1.54x the time", "no slower than the binary", "no"}},
		{"gitfleet render, 1x2000-kustomization: peak RSS", "kustomize binary: 42 MB",
			[]string{"110 MB (gitfleet --help alone: 105 MB)", "2.61x the memory", "no larger than the binary", "no"}},
		{"drift reported (drift: alert) (BenchmarkDriftDetection/alert)", "baseline-informer: median 4.1 ms, worst 6.8 ms",
			[]string{"median 117.5 ms, worst 120.7 ms", "28.8x the median", "median under 1 s", "yes"}},
		{"drift corrected (drift: correct)", "baseline-corrector: median 12.4 ms, worst 30.0 ms",
			[]string{"median 124.0 ms, worst 143.3 ms", "10.0x the median", "median under 100 ms", "no"}},
		{"BenchmarkValidate/gitfleet", "baseline-yaml-parse: 0.130 s",
			[]string{"0.300 s", "2.31x slower", "under 2 s", "yes"}},
	} {
		cells := tableRow(t, table, tc.prefix, tc.baseline)
		if got := []string{cells[1], cells[3], cells[4], cells[5]}; strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
			t.Errorf("row %q:\n got %q\nwant %q", tc.prefix, got, tc.want)
		}
	}
	if strings.Contains(table, "BenchmarkDriftDetection/alert |") || strings.Count(table, "BenchmarkRenderCLI") != 2 {
		t.Errorf("benchmarks with a rule of their own must not get generic ratio rows too:\n%s", table)
	}
	if !strings.Contains(table, "\n7 of 13 goals met.\n") {
		t.Errorf("the table must end with the goals met:\n%s", table)
	}
}

func TestOneTable(t *testing.T) {
	table := report(t)
	if n := strings.Count(table, "| measure"); n != 1 {
		t.Errorf("%d table headers, want one table:\n%s", n, table)
	}
	widths := map[int]bool{}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "|") {
			widths[len([]rune(line))] = true
		}
	}
	if len(widths) != 1 {
		t.Errorf("the table's lines are not padded to one width:\n%s", table)
	}
}

func TestLatencyMetricsMissing(t *testing.T) {
	var out bytes.Buffer
	printTable(&out, rows([]result{{name: "BenchmarkDriftDetection/alert", metrics: map[string]float64{"ns/op": 1}}}))
	if cells := tableRow(t, out.String(), "drift reported", "-"); cells[1] != "metrics detect-median-ms, detect-worst-ms or baseline-informer-median-ms missing" || cells[5] != "no" {
		t.Errorf("a benchmark that ran without its latency metrics must be named, its goal not met:\n%s", out.String())
	}
}

func TestNothingRan(t *testing.T) {
	var out bytes.Buffer
	printTable(&out, rows(nil))
	if !strings.Contains(out.String(), "no benchmark with a baseline or a goal ran") {
		t.Errorf("an empty run must say so:\n%s", out.String())
	}
}

// One changed object is one write on each cluster the App targets, and no more.
func TestOneChangeWritesPerCluster(t *testing.T) {
	for _, tc := range []struct {
		clusters, writes float64
		met              string
	}{{1, 1, "yes"}, {10, 10, "yes"}, {10, 11, "no"}, {1, 0, "no"}} {
		rs := []result{
			{name: "BenchmarkReconcile/s/one-change/gitfleet", metrics: map[string]float64{"ns/op": 1e8, "writes/op": tc.writes, "clusters": tc.clusters}},
			{name: "BenchmarkReconcile/s/one-change/baseline-kubectl", metrics: map[string]float64{"ns/op": 1e9}},
		}
		var out bytes.Buffer
		printTable(&out, rows(rs))
		if cells := tableRow(t, out.String(), "one object changed", "kubectl"); cells[5] != tc.met {
			t.Errorf("%v writes on %v clusters: met %q, want %q", tc.writes, tc.clusters, cells[5], tc.met)
		}
	}
}
