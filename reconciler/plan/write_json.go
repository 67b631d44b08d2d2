package plan

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as indented JSON (the Report struct: its field comments
// are the documentation). Empty lists are written as [], never null, so that tools can
// iterate without checks.
func WriteJSON(w io.Writer, r *Report) error {
	out := *r
	out.Clusters = make([]ClusterPlan, len(r.Clusters))
	for i, cp := range r.Clusters {
		cp.Create, cp.Change, cp.Prune, cp.Kept = nonNil(cp.Create), nonNil(cp.Change), nonNil(cp.Prune), nonNil(cp.Kept)
		if cp.Notes == nil {
			cp.Notes = []string{}
		}
		out.Clusters[i] = cp
	}
	if out.Violations == nil {
		out.Violations = []Violation{}
	}
	if out.Incomplete == nil {
		out.Incomplete = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil(l []ObjectChange) []ObjectChange {
	if l == nil {
		return []ObjectChange{}
	}
	return l
}
