package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// row is one line of the table. Every cell is text as printed, "-" where nothing applies.
type row struct {
	measure, gitfleet, baseline, ratio, goal string
	// met is "yes", "no", or "-" for a row without a goal.
	met string
}

var header = row{measure: "measure", gitfleet: "gitfleet", baseline: "baseline (same run)", ratio: "ratio", goal: "goal", met: "met"}

// printTable prints the rows as one Markdown table, columns padded so that it also reads
// in a terminal, and a line counting the goals met.
func printTable(out io.Writer, rows []row) {
	fmt.Fprintln(out)
	if len(rows) == 0 {
		fmt.Fprintln(out, "benchreport: no benchmark with a baseline or a goal ran")
		return
	}
	all := append([]row{header}, rows...)
	width := make([]int, 6)
	for _, r := range all {
		for i, c := range r.cells() {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString("| ")
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
			b.WriteString(" ")
		}
		b.WriteString("|")
		fmt.Fprintln(out, b.String())
	}
	line(header.cells())
	dashes := make([]string, 6)
	for i := range dashes {
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(dashes)
	goals, met := 0, 0
	for _, r := range rows {
		line(r.cells())
		if r.met != "-" {
			goals++
		}
		if r.met == "yes" {
			met++
		}
	}
	fmt.Fprintf(out, "\n%d of %d goals met.\n", met, goals)
}

func (r row) cells() []string {
	return []string{r.measure, r.gitfleet, r.baseline, r.ratio, r.goal, r.met}
}

// verdict is the met cell of a row with a goal.
func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// seconds formats a time in ns as seconds, with three significant figures or more.
func seconds(ns float64) string {
	s := ns / 1e9
	switch {
	case s >= 100:
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	case s >= 10:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s >= 1:
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(s, 'f', 3, 64) + " s"
}

// faster is how many times faster gitfleet is than the baseline, from the times of both;
// below 1 it says how many times slower.
func faster(ns, baseNs float64) string {
	if ns <= 0 || baseNs <= 0 {
		return "-"
	}
	x := baseNs / ns
	if x >= 1 {
		return fmt.Sprintf("%.1fx faster", x)
	}
	return fmt.Sprintf("%.2fx slower", 1/x)
}

// ms formats a measured latency.
func ms(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

// goalMs formats a goal's latency, as round as it was stated.
func goalMs(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}

// mib formats a size in MiB.
func mib(v float64) string {
	if v >= 1024 {
		return strconv.FormatFloat(v/1024, 'f', 2, 64) + " GiB"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " MiB"
}

// count formats a request count per op: whole numbers without decimals.
func count(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v != float64(int64(v)) {
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if v != 1 {
		unit += "s"
	}
	return s + " " + unit
}
