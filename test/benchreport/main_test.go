package main

import (
	"bytes"
	"strings"
	"testing"
)

// A run as `make bench` prints it (trimmed): two ratio benchmarks and the drift latencies.
const sample = `goos: linux
BenchmarkNoopReconcile/gitfleet-2         	      10	 100000000 ns/op	         0 writes/op	         0 dry-runs/op
BenchmarkNoopReconcile/baseline-kubectl-apply-server-side-2         	       1	3500000000 ns/op
BenchmarkDriftDetection/alert-2         	       1	2327857465 ns/op	         4.077 baseline-informer-median-ms	         6.772 baseline-informer-worst-ms	       117.5 detect-median-ms	       120.7 detect-worst-ms	        28.81 detect-x-baseline
BenchmarkDriftDetection/correct-2       	       1	2790009611 ns/op	        12.38 baseline-corrector-median-ms	        29.98 baseline-corrector-worst-ms	       124.0 correct-median-ms	       143.3 correct-worst-ms	        10.02 correct-x-baseline
PASS
`

func TestReport(t *testing.T) {
	var out bytes.Buffer
	results, err := read(strings.NewReader(sample), &out)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != sample {
		t.Errorf("the input was not passed through unchanged:\n%s", out.String())
	}
	printRatios(&out, results)
	printLatencyGoals(&out, results)
	for _, want := range []string{
		"BenchmarkNoopReconcile                   gitfleet                     0.03x of baseline-kubectl-apply-server-side (0.100 s/op)",
		"BenchmarkDriftDetection/alert    drift reported (drift: alert): median 117.5 ms, worst 120.7 ms; goal: median under 1 s: met; baseline-informer median 4.1 ms, worst 6.8 ms (28.8x of it)",
		"BenchmarkDriftDetection/correct  drift corrected (drift: correct): median 124.0 ms, worst 143.3 ms; goal: median under 100 ms: NOT MET; baseline-corrector median 12.4 ms, worst 30.0 ms (10.0x of it)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "x of baseline"); n != 1 {
		t.Errorf("drift sub-benchmarks have no baseline sub-benchmark and must get no time ratio:\n%s", out.String())
	}
}

func TestLatencyMetricsMissing(t *testing.T) {
	var out bytes.Buffer
	printLatencyGoals(&out, []result{{name: "BenchmarkDriftDetection/alert", metrics: map[string]float64{"ns/op": 1}}})
	if !strings.Contains(out.String(), "detect-median-ms, detect-worst-ms or baseline-informer-median-ms missing") {
		t.Errorf("a benchmark that ran without its latency metrics must be named:\n%s", out.String())
	}
}
