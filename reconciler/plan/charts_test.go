package plan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestChartChangesInEveryFormat: a chart bump is named with its versions in the text,
// markdown and JSON reports.
func TestChartChangesInEveryFormat(t *testing.T) {
	r := &Report{
		Base: Revision{Ref: "main"}, Head: Revision{Ref: "bump"},
		Charts: []ChartChange{
			{Repository: "https://charts.example.com", Chart: "podinfo", Constraint: "~6.5.0", Base: "6.5.4", Head: "6.5.5"},
			{Repository: "oci://registry.example.com/charts", Chart: "redis", Constraint: "^18", Head: "18.1.0"},
		},
	}
	var text, md, js bytes.Buffer
	if err := WriteText(&text, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2 remote chart(s) change version:",
		"chart podinfo ~6.5.0 from https://charts.example.com: 6.5.4 -> 6.5.5",
		"chart redis ^18 from oci://registry.example.com/charts: (none) -> 18.1.0",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if want := "| podinfo | https://charts.example.com | ~6.5.0 | 6.5.4 | 6.5.5 |"; !strings.Contains(md.String(), want) {
		t.Errorf("markdown lacks %q:\n%s", want, md.String())
	}
	var back struct {
		Charts []ChartChange `json:"charts"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Charts) != 2 || back.Charts[0] != r.Charts[0] {
		t.Errorf("json charts: %+v (%v)\n%s", back.Charts, err, js.String())
	}
}
