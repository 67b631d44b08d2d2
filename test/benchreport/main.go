// Command benchreport reads `go test -bench` output on stdin, passes it through, and then
// prints, for every benchmark with a "baseline..." sub-benchmark, the ratio of each other
// sub-benchmark's time to the baseline's. Speed goals are stated as such ratios, measured
// in the same run on the same machine, never as absolute times.
//
// Latencies are the exception: how long a hand edit of a managed object goes unnoticed is
// a promise in itself (BenchmarkDriftDetection). Their goals are printed with the median
// and worst measured, each next to its baseline from the same run and the ratio to it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// result is one benchmark line: Benchmark/sub without the -GOMAXPROCS suffix, and every
// metric by its unit (ns/op, objects/s, detect-median-ms, ...).
type result struct {
	name    string
	metrics map[string]float64
}

// latencyGoal is a goal for the median of a latency a benchmark reports as
// <metric>-median-ms and <metric>-worst-ms, next to <baseline>-median-ms and
// <baseline>-worst-ms measured in the same benchmark.
type latencyGoal struct {
	bench, metric, baseline string
	// what the latency is, as the README states the goal.
	what     string
	medianMs float64
}

var latencyGoals = []latencyGoal{
	{bench: "BenchmarkDriftDetection/alert", metric: "detect", baseline: "baseline-informer", what: "drift reported (drift: alert)", medianMs: 1000},
	{bench: "BenchmarkDriftDetection/correct", metric: "correct", baseline: "baseline-corrector", what: "drift corrected (drift: correct)", medianMs: 100},
}

func main() {
	results, err := read(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	printRatios(os.Stdout, results)
	printLatencyGoals(os.Stdout, results)
}

// read copies in to out and returns the benchmark lines it saw.
func read(in io.Reader, out io.Writer) ([]result, error) {
	var results []result
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		if r, ok := parse(line); ok {
			results = append(results, r)
		}
	}
	return results, sc.Err()
}

// parse reads "BenchmarkX/sub-2  N  V1 UNIT1  V2 UNIT2 ...".
func parse(line string) (result, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return result{}, false
	}
	if _, err := strconv.Atoi(fields[1]); err != nil {
		return result{}, false
	}
	name := fields[0]
	if i := strings.LastIndex(name, "-"); i > 0 { // strip the -GOMAXPROCS suffix
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	r := result{name: name, metrics: map[string]float64{}}
	for i := 2; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return result{}, false
		}
		r.metrics[fields[i+1]] = v
	}
	return r, true
}

// printRatios prints each sub-benchmark's time against its benchmark's baseline.
func printRatios(out io.Writer, results []result) {
	groups := map[string][]result{}
	for _, r := range results {
		group, sub, ok := strings.Cut(r.name, "/")
		if _, timed := r.metrics["ns/op"]; !ok || !timed {
			continue
		}
		groups[group] = append(groups[group], result{sub, r.metrics})
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	fmt.Fprintln(out, "\nratios against the baseline measured in the same run (lower is faster):")
	for _, g := range names {
		var base *result
		for i, r := range groups[g] {
			if strings.HasPrefix(r.name, "baseline") {
				base = &groups[g][i]
			}
		}
		if base == nil {
			continue
		}
		for _, r := range groups[g] {
			if r.name == base.name {
				continue
			}
			ns, baseNs := r.metrics["ns/op"], base.metrics["ns/op"]
			fmt.Fprintf(out, "  %-40s %-24s %8.2fx of %s (%.3f s/op)\n", g, r.name, ns/baseNs, base.name, ns/1e9)
		}
	}
}

// printLatencyGoals prints every latency goal whose benchmark ran: median and worst, the
// baseline's, the ratio of the medians, and whether the goal is met.
func printLatencyGoals(out io.Writer, results []result) {
	byName := map[string]result{}
	for _, r := range results {
		byName[r.name] = r
	}
	header := false
	for _, g := range latencyGoals {
		r, ok := byName[g.bench]
		if !ok {
			continue
		}
		if !header {
			fmt.Fprintln(out, "\nlatency goals (median and worst of this run, next to the baseline measured with them):")
			header = true
		}
		med, okMed := r.metrics[g.metric+"-median-ms"]
		worst, okWorst := r.metrics[g.metric+"-worst-ms"]
		bmed, okBase := r.metrics[g.baseline+"-median-ms"]
		bworst := r.metrics[g.baseline+"-worst-ms"]
		if !okMed || !okWorst || !okBase {
			fmt.Fprintf(out, "  %-32s %s: metrics %s-median-ms, %s-worst-ms or %s-median-ms missing\n", g.bench, g.what, g.metric, g.metric, g.baseline)
			continue
		}
		verdict := "met"
		if med >= g.medianMs {
			verdict = "NOT MET"
		}
		ratio := "-"
		if bmed > 0 {
			ratio = fmt.Sprintf("%.1fx", med/bmed)
		}
		fmt.Fprintf(out, "  %-32s %s: median %s, worst %s; goal: median under %s: %s; %s median %s, worst %s (%s of it)\n",
			g.bench, g.what, ms(med), ms(worst), goal(g.medianMs), verdict, g.baseline, ms(bmed), ms(bworst), ratio)
	}
}

// ms formats a measured latency.
func ms(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

// goal formats a goal's latency, as round as it was stated.
func goal(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}
