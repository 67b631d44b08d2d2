package plan

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxValue is how much of one field value the text and markdown reports show; the JSON
// report has them whole.
const maxValue = 200

// line is one line of a cluster's details, with its meaning for colouring.
type line struct {
	mark byte // '+' create, '~' change, '-' prune, '=' kept, ' ' field, '!' note
	text string
}

// clusterLines are the details of one cluster as the text and markdown reports show
// them: one line per object, its changed fields indented under it.
func clusterLines(cp ClusterPlan) []line {
	var out []line
	for _, c := range cp.Create {
		out = append(out, line{'+', fmt.Sprintf("+ %s (app %s)", c.ID(), c.App)})
	}
	for _, c := range cp.Change {
		app := "app " + c.App
		if c.FromApp != "" {
			app = fmt.Sprintf("moves from app %s to app %s", c.FromApp, c.App)
		}
		out = append(out, line{'~', fmt.Sprintf("~ %s (%s)", c.ID(), app)})
		for _, f := range c.Fields {
			if diff := lineDiff(f.Old, f.New); diff != nil {
				out = append(out, line{' ', "    " + fieldHeader(f) + ":"})
				for _, d := range diff {
					if d == "…" {
						out = append(out, line{' ', "        …"})
						continue
					}
					// The mark stays first, so that a diff block colours the line.
					out = append(out, line{d[0], d[:1] + "       " + clip(d[2:])})
				}
				continue
			}
			out = append(out, line{' ', "    " + fieldText(f)})
		}
	}
	for _, c := range cp.Prune {
		out = append(out, line{'-', fmt.Sprintf("- %s (app %s)", c.ID(), c.App)})
	}
	for _, c := range cp.Kept {
		out = append(out, line{'=', fmt.Sprintf("= %s (app %s) is no longer rendered but kept: %s", c.ID(), c.App, c.Reason)})
	}
	for _, n := range cp.Notes {
		out = append(out, line{'!', "! " + n})
	}
	return out
}

// fieldHeader is a field's path, with the drift mark.
func fieldHeader(f FieldChange) string {
	if f.Drift {
		return f.Path + " [drift: the cluster differs from the base revision here already]"
	}
	return f.Path
}

// fieldText is one changed field: path: old -> new.
func fieldText(f FieldChange) string {
	var s string
	switch {
	case f.Old == "":
		s = fmt.Sprintf("%s: added %s", f.Path, clip(f.New))
	case f.New == "":
		s = fmt.Sprintf("%s: removed (was %s)", f.Path, clip(f.Old))
	default:
		s = fmt.Sprintf("%s: %s -> %s", f.Path, clip(f.Old), clip(f.New))
	}
	if f.Drift {
		s += "   [drift: the cluster differs from the base revision here already]"
	}
	return s
}

func clip(s string) string {
	if len(s) <= maxValue {
		return s
	}
	cut := maxValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:cut], len(s)-cut)
}

// counts is "1 to create, 2 to change, 0 to prune" with kept and unchanged when there are any.
func counts(cp ClusterPlan) string {
	s := fmt.Sprintf("%d to create, %d to change, %d to prune", len(cp.Create), len(cp.Change), len(cp.Prune))
	if len(cp.Kept) > 0 {
		s += fmt.Sprintf(", %d kept", len(cp.Kept))
	}
	return s
}

// violationText is one violation on one line: where, what kind, the numbers, the message.
func violationText(v Violation) string {
	var b strings.Builder
	b.WriteString(v.Position())
	if v.Field != "" {
		b.WriteString(": " + v.Field)
	}
	b.WriteString(": [" + string(v.Kind))
	if v.Cluster != "" {
		b.WriteString(", cluster " + v.Cluster)
	}
	b.WriteString("] ")
	if q := v.Quota; q != nil {
		fmt.Fprintf(&b, "asked %s %s, available %s: ", q.Asked, q.Resource, q.Available)
	}
	if v.Object != "" {
		b.WriteString(v.Object + " ")
	}
	b.WriteString(v.Message)
	return b.String()
}

// headline names the two revisions.
func headline(r *Report) string {
	mode := "renders compared"
	if r.Live {
		mode = "head compared with the live clusters"
	}
	return fmt.Sprintf("gitfleet plan: %s (%s) → %s (%s), %s", r.Base.Ref, short(r.Base.Commit), r.Head.Ref, short(r.Head.Commit), mode)
}

func short(commit string) string {
	if len(commit) == 40 {
		return commit[:8]
	}
	return commit
}

// quiet is a cluster the change does nothing to and that has nothing to say: the reports
// name such clusters on one line instead of giving each a section.
func quiet(cp ClusterPlan) bool {
	return cp.State == ClusterUnchanged && cp.Violations == 0 && len(cp.Notes) == 0
}

// quietNames are the names of the quiet clusters.
func quietNames(r *Report) []string {
	var out []string
	for _, cp := range r.Clusters {
		if quiet(cp) {
			out = append(out, cp.Name)
		}
	}
	return out
}
