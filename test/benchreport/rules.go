package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// index is the results by name.
type index map[string]result

// rows makes the table: the rows of every benchmark with a rule of its own, in the order
// they ran, then the time ratio of every other benchmark with a baseline sub-benchmark.
func rows(results []result) []row {
	ix := index{}
	for _, r := range results {
		ix[r.name] = r
	}
	var out []row
	for _, r := range results {
		out = append(out, reconcileRows(ix, r)...)
		out = append(out, renderCLIRows(ix, r)...)
		out = append(out, latencyRows(r)...)
	}
	out = append(out, fleetRows(results)...)
	return append(out, ratioRows(results)...)
}

// split cuts a name at its last '/': the group and the sub-benchmark.
func split(name string) (group, sub string) {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return name, ""
	}
	return name[:i], name[i+1:]
}

// ownRules are the benchmarks whose rows come from a rule of their own, never from
// ratioRows.
var ownRules = []string{"BenchmarkReconcile/", "BenchmarkFleet/", "BenchmarkRenderCLI/"}

// Goals of BenchmarkReconcile (issue 15): the first apply within 0.9 of the raw-SSA
// ceiling's throughput; a no-op at least 20x faster than kubectl and no write; one changed
// object exactly one write on each cluster.
const (
	firstApplyOfCeiling   = 0.9
	noopFasterThanKubectl = 20
)

// reconcileRows are the rows of one BenchmarkReconcile/<shape>/<scenario>/gitfleet: against
// the ceiling and against kubectl.
func reconcileRows(ix index, r result) []row {
	group, sub := split(r.name)
	if !strings.HasPrefix(group, "BenchmarkReconcile/") || sub != "gitfleet" {
		return nil
	}
	shape, scenario := split(strings.TrimPrefix(group, "BenchmarkReconcile/"))
	raw, okRaw := ix[group+"/baseline-raw-ssa"]
	kubectl, okKubectl := ix[group+"/baseline-kubectl"]
	writes, dryRuns := r.metrics["writes/op"], r.metrics["dry-runs/op"]
	ns := r.metrics["ns/op"]
	requests := fmt.Sprintf("%s, %s, %s", seconds(ns), count(writes, "write"), count(dryRuns, "dry run"))
	what := map[string]string{"first-apply": "first apply", "noop": "no-op apply", "one-change": "one object changed"}[scenario]
	if what == "" {
		what = scenario
	}
	measure := fmt.Sprintf("%s, %s (%s)", what, shape, group)
	var out []row
	if okRaw {
		ceiling := row{measure: measure, gitfleet: requests, baseline: "raw SSA ceiling: " + seconds(raw.metrics["ns/op"]),
			ratio: faster(ns, raw.metrics["ns/op"]), goal: "-", met: "-"}
		if scenario == "first-apply" {
			g, c := r.metrics["objects/s"], raw.metrics["objects/s"]
			ceiling.gitfleet = fmt.Sprintf("%.0f objects/s (%s)", g, seconds(ns))
			ceiling.baseline = fmt.Sprintf("raw SSA ceiling: %.0f objects/s", c)
			ceiling.ratio = "-"
			if c > 0 {
				ceiling.ratio = fmt.Sprintf("%.2fx the throughput", g/c)
			}
			ceiling.goal = fmt.Sprintf(">= %gx the ceiling's throughput", firstApplyOfCeiling)
			ceiling.met = verdict(c > 0 && g/c >= firstApplyOfCeiling)
		}
		out = append(out, ceiling)
	}
	if okKubectl {
		k := kubectl.metrics["ns/op"]
		vs := row{measure: measure, gitfleet: requests, baseline: "kubectl apply --server-side: " + seconds(k), ratio: faster(ns, k), goal: "-", met: "-"}
		switch scenario {
		case "noop":
			vs.goal = fmt.Sprintf(">= %dx faster than kubectl, 0 writes", noopFasterThanKubectl)
			vs.met = verdict(ns > 0 && k/ns >= noopFasterThanKubectl && writes == 0)
		case "one-change":
			// The changed object is on every cluster the App targets: one write each.
			clusters := max(1, r.metrics["clusters"])
			vs.goal = "exactly 1 write per cluster"
			if clusters > 1 {
				vs.goal = fmt.Sprintf("exactly 1 write per cluster (%.0f)", clusters)
			}
			vs.met = verdict(writes == clusters)
		}
		out = append(out, vs)
	}
	return out
}

// renderCLIRows compare `gitfleet render` with the binary on one big App: time and peak
// RSS. Goal (issue 15): no slower and no larger.
func renderCLIRows(ix index, r result) []row {
	group, sub := split(r.name)
	if !strings.HasPrefix(group, "BenchmarkRenderCLI/") || sub != "gitfleet-render" {
		return nil
	}
	var base result
	for name, b := range ix {
		if g, s := split(name); g == group && strings.HasPrefix(s, "baseline") {
			base = b
		}
	}
	if base.name == "" {
		return nil
	}
	_, baseSub := split(base.name)
	binary := strings.TrimSuffix(strings.TrimPrefix(baseSub, "baseline-"), "-binary")
	shape := strings.TrimPrefix(group, "BenchmarkRenderCLI/")
	ns, baseNs := r.metrics["ns/op"], base.metrics["ns/op"]
	out := []row{{
		measure:  fmt.Sprintf("gitfleet render, %s: time (%s)", shape, group),
		gitfleet: seconds(ns), baseline: binary + " binary: " + seconds(baseNs),
		ratio: fmt.Sprintf("%.2fx the time", ns/baseNs), goal: "no slower than the binary", met: verdict(ns <= baseNs),
	}}
	if rss, ok := r.metrics["peak-rss-MB"]; ok {
		baseRSS := base.metrics["peak-rss-MB"]
		mine := fmt.Sprintf("%.0f MB", rss)
		if help, ok := ix[group+"/gitfleet-help"].metrics["peak-rss-MB"]; ok {
			// The program's own floor: what is left above it is the render's.
			mine += fmt.Sprintf(" (gitfleet --help alone: %.0f MB)", help)
		}
		out = append(out, row{
			measure:  fmt.Sprintf("gitfleet render, %s: peak RSS (%s)", shape, group),
			gitfleet: mine, baseline: fmt.Sprintf("%s binary: %.0f MB", binary, baseRSS),
			ratio: fmt.Sprintf("%.2fx the memory", rss/baseRSS), goal: "no larger than the binary", met: verdict(baseRSS > 0 && rss <= baseRSS),
		})
	}
	return out
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

// latencyRows is the row of a latency goal whose benchmark this is: median and worst,
// the baseline's, the ratio of the medians.
func latencyRows(r result) []row {
	for _, g := range latencyGoals {
		if r.name != g.bench {
			continue
		}
		measure := fmt.Sprintf("%s (%s)", g.what, g.bench)
		goal := "median under " + goalMs(g.medianMs)
		med, okMed := r.metrics[g.metric+"-median-ms"]
		worst, okWorst := r.metrics[g.metric+"-worst-ms"]
		bmed, okBase := r.metrics[g.baseline+"-median-ms"]
		if !okMed || !okWorst || !okBase {
			return []row{{measure: measure, gitfleet: fmt.Sprintf("metrics %s-median-ms, %s-worst-ms or %s-median-ms missing", g.metric, g.metric, g.baseline),
				baseline: "-", ratio: "-", goal: goal, met: "no"}}
		}
		ratio := "-"
		if bmed > 0 {
			ratio = fmt.Sprintf("%.1fx the median", med/bmed)
		}
		return []row{{measure: measure, gitfleet: fmt.Sprintf("median %s, worst %s", ms(med), ms(worst)),
			baseline: fmt.Sprintf("%s: median %s, worst %s", g.baseline, ms(bmed), ms(r.metrics[g.baseline+"-worst-ms"])),
			ratio:    ratio, goal: goal, met: verdict(med < g.medianMs)}}
	}
	return nil
}

// fleetMemoryGoals are issue 15's peak memory goals by fleet size (peak RSS of the one
// replica, in MiB); other sizes, and scaled-down runs, have none.
var fleetMemoryGoals = map[string]float64{"10x1000": 150, "100x1000": 1024}

// fleetGrowth bounds how much the pass time per cluster may grow from the smallest fleet
// to the largest for the growth to count as linear: some growth is the shared API servers
// holding more objects, not gitfleet.
const fleetGrowth = 1.5

// fleetSize is one BenchmarkFleet/<clusters>x<objects> result.
type fleetSize struct {
	result
	size              string
	clusters, objects int
}

// fleetRows are BenchmarkFleet's rows: per size its passes, memory and per-cluster costs;
// then, from the smallest fleet to the largest, how the per-cluster figures grew.
func fleetRows(results []result) []row {
	var sizes []fleetSize
	for _, r := range results {
		size, ok := strings.CutPrefix(r.name, "BenchmarkFleet/")
		c, o, okSize := strings.Cut(size, "x")
		clusters, err1 := strconv.Atoi(c)
		objects, err2 := strconv.Atoi(o)
		if !ok || !okSize || err1 != nil || err2 != nil {
			continue
		}
		sizes = append(sizes, fleetSize{r, size, clusters, objects})
	}
	var out []row
	for _, s := range sizes {
		m := s.metrics
		measure := fmt.Sprintf("fleet of %d clusters x %d objects, one replica (BenchmarkFleet/%s)", s.clusters, s.objects, s.size)
		writes := m["noop-writes/op"]
		out = append(out, row{measure: measure + ": passes",
			gitfleet: fmt.Sprintf("first pass %s, no-op pass %s (%s)", seconds(m["first-pass-s"]*1e9), seconds(m["noop-pass-s"]*1e9), count(writes, "write")),
			baseline: "-", ratio: "-", goal: "no-op pass: 0 writes", met: verdict(writes == 0)})
		held := fmt.Sprintf("RSS %s, heap %s", mib(m["peak-rss-MiB"]), mib(m["peak-heap-MiB"]))
		if start, ok := m["start-rss-MiB"]; ok {
			held = fmt.Sprintf("RSS %s (%s before the fleet), heap %s", mib(m["peak-rss-MiB"]), mib(start), mib(m["peak-heap-MiB"]))
		}
		mem := row{measure: measure + ": peak memory", gitfleet: held,
			baseline: "-", ratio: "-", goal: "-", met: "-"}
		if limit, ok := fleetMemoryGoals[s.size]; ok {
			rss, okRSS := m["peak-rss-MiB"]
			mem.goal = "RSS under " + mib(limit)
			mem.met = verdict(okRSS && rss < limit)
		}
		out = append(out, mem)
		out = append(out, row{measure: measure + ": per cluster",
			gitfleet: fmt.Sprintf("%.0f goroutines, %.1f open watches, first pass %.0f ms, no-op pass %.0f ms", m["goroutines/cluster"], m["watches/cluster"], m["first-pass-ms/cluster"], m["noop-pass-ms/cluster"]),
			baseline: "-", ratio: "-", goal: "-", met: "-"})
	}
	if len(sizes) < 2 {
		return out
	}
	sort.SliceStable(sizes, func(i, j int) bool { return sizes[i].clusters < sizes[j].clusters })
	small, large := sizes[0], sizes[len(sizes)-1]
	if small.clusters == large.clusters {
		return out
	}
	grow := func(unit string) float64 {
		if small.metrics[unit] <= 0 {
			return 0
		}
		return large.metrics[unit] / small.metrics[unit]
	}
	first, noop := grow("first-pass-ms/cluster"), grow("noop-pass-ms/cluster")
	perCluster := func(s fleetSize) string {
		return fmt.Sprintf("%d clusters: first pass %.0f ms, no-op %.0f ms per cluster", s.clusters, s.metrics["first-pass-ms/cluster"], s.metrics["noop-pass-ms/cluster"])
	}
	growth := fmt.Sprintf("growth from %d to %d clusters (BenchmarkFleet)", small.clusters, large.clusters)
	out = append(out, row{measure: "pass time per cluster, " + growth, gitfleet: perCluster(large), baseline: perCluster(small),
		ratio: fmt.Sprintf("first %.2fx, no-op %.2fx", first, noop), goal: fmt.Sprintf("<= %gx (linear)", fleetGrowth),
		met: verdict(first > 0 && noop > 0 && first <= fleetGrowth && noop <= fleetGrowth)})
	if rs, rl := small.metrics["peak-rss-MiB"], large.metrics["peak-rss-MiB"]; rs > 0 && rl > 0 {
		added := (rl - rs) / float64(large.clusters-small.clusters)
		out = append(out, row{measure: "peak RSS per added cluster, " + growth,
			gitfleet: fmt.Sprintf("%.1f MiB per cluster of %d objects", added, large.objects),
			baseline: fmt.Sprintf("%d clusters: %s", small.clusters, mib(rs)), ratio: "-", goal: "-", met: "-"})
	}
	return out
}

// ratioGoals are the goals of benchmarks that have no rule of their own, by the name of
// the sub-benchmark they apply to: each says what it asks of gitfleet's time (ns) and the
// baseline's.
var ratioGoals = map[string]struct {
	text string
	met  func(ns, baseNs float64) bool
}{
	"BenchmarkValidate/gitfleet":                       {"under 2 s", func(ns, _ float64) bool { return ns < 2e9 }},
	"BenchmarkRender/gitfleet":                         {">= 5x faster than the binaries", func(ns, b float64) bool { return b/ns >= 5 }},
	"BenchmarkPlan/plan":                               {"under 2 s", func(ns, _ float64) bool { return ns < 2e9 }},
	"BenchmarkCNIAddDel100Sequential/gitfleet-overlay": {"within 1.2x the time", func(ns, b float64) bool { return ns <= 1.2*b }},
	"BenchmarkCNIAddDel20Concurrent/gitfleet-overlay":  {"within 1.2x the time", func(ns, b float64) bool { return ns <= 1.2*b }},
}

// ratioRows are the time of every sub-benchmark against its group's baseline, for the
// groups no rule of their own reports, sorted by group.
func ratioRows(results []result) []row {
	groups := map[string][]result{}
	var names []string
	for _, r := range results {
		if _, timed := r.metrics["ns/op"]; !timed || !strings.Contains(r.name, "/") || ownRule(r.name) {
			continue
		}
		group, _ := split(r.name)
		if _, seen := groups[group]; !seen {
			names = append(names, group)
		}
		groups[group] = append(groups[group], r)
	}
	sort.Strings(names)
	var out []row
	for _, g := range names {
		var base *result
		for i, r := range groups[g] {
			if _, sub := split(r.name); strings.HasPrefix(sub, "baseline") {
				base = &groups[g][i]
			}
		}
		if base == nil {
			continue
		}
		_, baseSub := split(base.name)
		for _, r := range groups[g] {
			if r.name == base.name {
				continue
			}
			ns, baseNs := r.metrics["ns/op"], base.metrics["ns/op"]
			rw := row{measure: r.name, gitfleet: seconds(ns), baseline: baseSub + ": " + seconds(baseNs), ratio: faster(ns, baseNs), goal: "-", met: "-"}
			if goal, ok := ratioGoals[r.name]; ok {
				rw.goal, rw.met = goal.text, verdict(ns > 0 && goal.met(ns, baseNs))
			}
			out = append(out, rw)
		}
	}
	return out
}

func ownRule(name string) bool {
	for _, p := range ownRules {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
