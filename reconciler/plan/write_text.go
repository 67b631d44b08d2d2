package plan

import (
	"fmt"
	"io"
	"strings"
)

// TextOptions tune the terminal report.
type TextOptions struct {
	// Color marks creations green, changes yellow, prunes and violations red. The
	// command sets it only when standard output is a terminal, so that logs and pipes get
	// plain text.
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

// WriteText writes the report for a terminal: a summary, each cluster's objects and
// changed fields, then the violations.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	var b strings.Builder
	paint := func(color, s string) string {
		if !o.Color || color == "" {
			return s
		}
		return color + s + ansiReset
	}
	fmt.Fprintln(&b, paint(ansiBold, headline(r)))
	s := r.Summary
	fmt.Fprintf(&b, "%d cluster(s): %d to create, %d to change, %d to prune; %d violation(s); %d render(s), %d reused\n",
		s.Clusters, s.Create, s.Change, s.Prune, s.Violations, s.Renders, s.Reused)
	if len(r.Charts) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintf(&b, "%d remote chart(s) change version:\n", len(r.Charts))
		for _, c := range r.Charts {
			fmt.Fprintln(&b, "  "+c.String())
		}
	}
	for _, rp := range r.Rollouts {
		fmt.Fprintln(&b)
		fmt.Fprintf(&b, "app %s rolls out in %d wave(s):\n", rp.App, len(rp.Waves))
		for i, w := range rp.Waves {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, w)
		}
	}
	for _, cp := range r.Clusters {
		if quiet(cp) {
			continue
		}
		fmt.Fprintln(&b)
		writeCluster(&b, cp, paint)
	}
	if names := quietNames(r); len(names) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintf(&b, "%d cluster(s) unchanged: %s\n", len(names), strings.Join(names, ", "))
	}
	if len(r.Violations) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, paint(ansiBold+ansiRed, fmt.Sprintf("%d violation(s) in %s:", len(r.Violations), r.Head.Ref)))
		for _, v := range r.Violations {
			fmt.Fprintln(&b, "  "+paint(ansiRed, violationText(v)))
		}
	}
	for _, msg := range r.Incomplete {
		fmt.Fprintln(&b, paint(ansiRed, "not planned: "+msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteClusterText writes one cluster's part of the report: its header line, then its
// objects and changed fields (what `gitfleet diff` prints).
func WriteClusterText(w io.Writer, cp ClusterPlan, o TextOptions) error {
	var b strings.Builder
	writeCluster(&b, cp, func(color, s string) string {
		if !o.Color || color == "" {
			return s
		}
		return color + s + ansiReset
	})
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCluster(b *strings.Builder, cp ClusterPlan, paint func(color, s string) string) {
	header := fmt.Sprintf("cluster %s (%s): %s", cp.Name, cp.State, counts(cp))
	if cp.Violations > 0 {
		header += fmt.Sprintf(", %d violation(s)", cp.Violations)
	}
	fmt.Fprintln(b, paint(ansiBold, header))
	for _, l := range clusterLines(cp) {
		fmt.Fprintln(b, "  "+paint(lineColor(l.mark), l.text))
	}
}

func lineColor(mark byte) string {
	switch mark {
	case '+':
		return ansiGreen
	case '~':
		return ansiYellow
	case '-', '!':
		return ansiRed
	case '=':
		return ansiDim
	}
	return ""
}
