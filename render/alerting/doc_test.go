package alerting

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/schema"
)

// docTablesStart and docTablesEnd delimit the generated part of doc.go.
const (
	docTablesStart = "// The tables below are generated from the code"
	docTablesEnd   = "package alerting"
)

// docTables writes the PromQL tables of doc.go from the code that builds the rules, so
// that the documentation a platform engineer reads is what Prometheus evaluates.
func docTables() string {
	type row struct{ cols []string }
	table := func(header []string, rows [][]string) []string {
		width := make([]int, len(header)-1)
		for _, r := range append([][]string{header}, rows...) {
			for i := range width {
				width[i] = max(width[i], len(r[i]))
			}
		}
		line := func(cols []string) string {
			var b strings.Builder
			for i, c := range cols[:len(cols)-1] {
				fmt.Fprintf(&b, "%-*s  ", width[i], c)
			}
			return "//\t" + b.String() + cols[len(cols)-1]
		}
		under := make([]string, len(header))
		for i, h := range header {
			under[i] = strings.Repeat("-", len(h))
		}
		out := []string{line(header), line(under)}
		for _, r := range rows {
			out = append(out, line(r))
		}
		return out
	}

	args := queryArgs{window: "5m", targets: selector(TargetsRecord, `policy="p"`)}
	var metrics [][]string
	for _, m := range schema.AlertMetrics() {
		v, ok := valueQuery(m.Type, m.ID, args)
		if !ok {
			v = "MISSING"
		}
		unit := string(m.Unit)
		if m.Boolean {
			unit = "state"
		}
		metrics = append(metrics, []string{string(m.Type), m.ID, unit, v})
	}
	all, _ := targetVector(schema.AlertTargets{AllNamespaces: true})
	targets := [][]string{{"allNamespaces: true", all}}
	for _, w := range []schema.WorkloadTarget{
		{Namespace: "ns"},
		{Namespace: "ns", Kind: schema.AlertWorkloadDeployment},
		{Namespace: "ns", Kind: schema.AlertWorkloadDeployment, Name: "web"},
		{Namespace: "ns", Kind: schema.AlertWorkloadStatefulSet, Name: "db"},
		{Namespace: "ns", Kind: schema.AlertWorkloadDaemonSet},
		{Namespace: "ns", Kind: schema.AlertWorkloadTApp, Name: "cart"},
	} {
		desc := "{namespace: " + w.Namespace
		if w.Kind != "" {
			desc += ", kind: " + string(w.Kind)
		}
		if w.Name != "" {
			desc += ", name: " + w.Name
		}
		targets = append(targets, []string{desc + "}", workloadPods(w)})
	}
	targets = append(targets, []string{"several workloads", "(T1 or T2 ...)"})

	lines := []string{
		docTablesStart + "; `go test ./render/alerting/ -update`",
		"// rewrites them. The values are for a 5-minute period and, for pod metrics, a policy",
		"// named p; the rule compares the value as described above.",
		"//",
	}
	lines = append(lines, table([]string{"policy", "metric", "unit", "value"}, metrics)...)
	lines = append(lines, "//")
	lines = append(lines, table([]string{"target", `recorded in gitfleet:alert_policy_pods{policy="p"}`}, targets)...)
	return strings.Join(lines, "\n") + "\n"
}

// TestDocTables checks that doc.go documents the PromQL the code writes, for every
// metric of the catalog and every target form.
func TestDocTables(t *testing.T) {
	data, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start, end := strings.Index(doc, docTablesStart), strings.Index(doc, docTablesEnd)
	if start < 0 || end < start {
		t.Fatalf("doc.go has no generated tables between %q and %q", docTablesStart, docTablesEnd)
	}
	want := docTables()
	if *update {
		doc = doc[:start] + want + doc[end:]
		if err := os.WriteFile("doc.go", []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := doc[start:end]; got != want {
		t.Errorf("doc.go's PromQL tables are out of date: run go test ./render/alerting/ -update\nwant:\n%s", want)
	}
	if strings.Contains(want, "MISSING") {
		t.Errorf("a catalog metric has no PromQL:\n%s", want)
	}
}
