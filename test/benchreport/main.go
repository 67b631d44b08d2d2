// Command benchreport reads `go test -bench` output on stdin, passes it through, and then
// prints one table: per measure, gitfleet's figure, the baseline measured in the same run
// on the same machine, their ratio, the goal and whether it is met. Speed goals are stated
// as such ratios, never as absolute times; a few are promises in their own right (how long
// a hand edit goes unnoticed, how much memory a fleet takes, how many writes a no-op
// sends), and those are checked on the figure itself, with the baseline beside it.
//
// Which rows there are is decided by the benchmarks that ran (rules.go): a run of one
// benchmark gets that benchmark's rows, and a benchmark with a baseline sub-benchmark and
// no rule of its own still gets its time ratio.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// result is one benchmark line: Benchmark/sub without the -GOMAXPROCS suffix, and every
// metric by its unit (ns/op, objects/s, detect-median-ms, ...).
type result struct {
	name    string
	metrics map[string]float64
}

func main() {
	results, err := read(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, rows(results))
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
