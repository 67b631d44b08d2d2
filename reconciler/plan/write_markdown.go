package plan

import (
	"fmt"
	"io"
	"strings"
)

// MarkdownOptions tune the pull-request comment.
type MarkdownOptions struct {
	// MaxBytes bounds the comment: GitHub refuses comments over 65,536 characters. What
	// does not fit is cut, cluster by cluster, and the comment says what was cut.
	MaxBytes int
}

// DefaultMarkdownOptions leave room under GitHub's limit.
func DefaultMarkdownOptions() MarkdownOptions { return MarkdownOptions{MaxBytes: 60000} }

// WriteMarkdown writes the report as a pull-request comment: a summary table per cluster,
// the violations, and each changed cluster's objects in a collapsed section.
func WriteMarkdown(w io.Writer, r *Report, o MarkdownOptions) error {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMarkdownOptions().MaxBytes
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", mdEscape(headline(r)))
	s := r.Summary
	switch {
	case len(r.Incomplete) > 0:
		fmt.Fprintf(&b, ":x: **The plan is incomplete**: %s\n\n", mdEscape(strings.Join(r.Incomplete, "; ")))
	case s.Violations > 0:
		fmt.Fprintf(&b, ":x: **%d violation(s)**: gitfleet refuses to apply this revision until they are fixed.\n\n", s.Violations)
	default:
		b.WriteString(":white_check_mark: **No violations.**\n\n")
	}
	fmt.Fprintf(&b, "%d cluster(s): **%d** to create, **%d** to change, **%d** to prune. Renders: %d run, %d reused.\n\n",
		s.Clusters, s.Create, s.Change, s.Prune, s.Renders, s.Reused)
	if len(r.Charts) > 0 {
		b.WriteString("| Remote chart | Repository | Constraint | Base | Head |\n|---|---|---|---|---|\n")
		for _, c := range r.Charts {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(c.Chart), mdEscape(c.Repository), mdEscape(c.Constraint), mdEscape(c.Base), mdEscape(c.Head))
		}
		b.WriteString("\n")
	}
	for _, rp := range r.Rollouts {
		fmt.Fprintf(&b, "App **%s** rolls out in %d wave(s):\n\n", mdEscape(rp.App), len(rp.Waves))
		for i, w := range rp.Waves {
			fmt.Fprintf(&b, "%d. %s\n", i+1, mdEscape(w.String()))
		}
		b.WriteString("\n")
	}
	quietOnes := quietNames(r)
	if len(quietOnes) < len(r.Clusters) {
		b.WriteString("| Cluster | State | Create | Change | Prune | Kept | Violations |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, cp := range r.Clusters {
			if !quiet(cp) {
				fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d |\n", mdEscape(cp.Name), cp.State, len(cp.Create), len(cp.Change), len(cp.Prune), len(cp.Kept), cp.Violations)
			}
		}
	}
	if len(quietOnes) > 0 {
		fmt.Fprintf(&b, "\n%d cluster(s) unchanged: %s.\n", len(quietOnes), mdEscape(listSome(quietOnes, 30)))
	}

	// The rest is cut to fit: room is kept for the note that says what was cut.
	const noteRoom = 600
	budget := o.MaxBytes - noteRoom
	var cut []string
	if len(r.Violations) > 0 {
		var vb strings.Builder
		fmt.Fprintf(&vb, "\n#### Violations\n\n| Kind | Where | Cluster | Problem |\n|---|---|---|---|\n")
		shown := 0
		for _, v := range r.Violations {
			row := fmt.Sprintf("| %s | `%s` %s | %s | %s |\n", v.Kind, mdEscape(v.Position()), mdEscape(v.Field), mdEscape(v.Cluster), mdEscape(problemText(v)))
			if b.Len()+vb.Len()+len(row) > budget {
				break
			}
			vb.WriteString(row)
			shown++
		}
		b.WriteString(vb.String())
		if shown < len(r.Violations) {
			cut = append(cut, fmt.Sprintf("%d of the %d violations", len(r.Violations)-shown, len(r.Violations)))
		}
	}
	var cutClusters []string
	for _, cp := range r.Clusters {
		lines := clusterLines(cp)
		if len(lines) == 0 {
			continue
		}
		section := detailsSection(cp, lines)
		if len(cutClusters) > 0 || b.Len()+len(section) > budget {
			cutClusters = append(cutClusters, cp.Name)
			continue
		}
		b.WriteString(section)
	}
	if len(cutClusters) > 0 {
		cut = append(cut, fmt.Sprintf("the details of %d cluster(s) (%s)", len(cutClusters), listSome(cutClusters, 8)))
	}
	if len(cut) > 0 {
		fmt.Fprintf(&b, "\n> [!NOTE]\n> Cut to fit a comment of %d characters: %s. The CI job's log has the whole plan; `gitfleet plan --base %s --head %s` prints it too.\n",
			o.MaxBytes, strings.Join(cut, " and "), mdEscape(r.Base.Ref), mdEscape(r.Head.Ref))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// detailsSection is one cluster's objects in a collapsed section, as a diff block so
// that GitHub colours creations and prunes.
func detailsSection(cp ClusterPlan, lines []line) string {
	var body strings.Builder
	for _, l := range lines {
		body.WriteString(l.text)
		body.WriteByte('\n')
	}
	fence := codeFence(body.String())
	return fmt.Sprintf("\n<details><summary><b>%s</b> (%s): %s</summary>\n\n%sdiff\n%s%s\n\n</details>\n",
		htmlEscape(cp.Name), cp.State, htmlEscape(counts(cp)), fence, body.String(), fence)
}

func problemText(v Violation) string {
	s := v.Message
	if v.Object != "" {
		s = v.Object + " " + s
	}
	if q := v.Quota; q != nil {
		s = fmt.Sprintf("**asked %s %s, available %s**: %s", q.Asked, q.Resource, q.Available, s)
	}
	return s
}

// codeFence is a backtick fence longer than any run of backticks in the body.
func codeFence(body string) string {
	longest, run := 0, 0
	for _, r := range body {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// mdEscape keeps a value from breaking a table row or starting markup.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}
