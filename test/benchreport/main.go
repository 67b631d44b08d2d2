// Command benchreport reads `go test -bench` output on stdin, passes it through, and then
// prints, for every benchmark with a "baseline..." sub-benchmark, the ratio of each other
// sub-benchmark's time to the baseline's. Speed goals are stated as such ratios, measured
// in the same run on the same machine, never as absolute times.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type result struct {
	name    string
	nsPerOp float64
}

func main() {
	groups := map[string][]result{}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || fields[3] != "ns/op" {
			continue
		}
		ns, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			continue
		}
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 { // strip the -GOMAXPROCS suffix
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		group, sub, ok := strings.Cut(name, "/")
		if !ok {
			continue
		}
		groups[group] = append(groups[group], result{sub, ns})
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	fmt.Println("\nratios against the baseline measured in the same run (lower is faster):")
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
			fmt.Printf("  %-40s %-24s %8.2fx of %s (%.3f s/op)\n", g, r.name, r.nsPerOp/base.nsPerOp, base.name, r.nsPerOp/1e9)
		}
	}
}
