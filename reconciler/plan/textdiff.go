package plan

import (
	"encoding/json"
	"strings"
)

// textDiffContext is how many unchanged lines are shown around each changed one.
const textDiffContext = 2

// maxTextDiffCells bounds the line comparison (lines of old times lines of new): beyond
// it a value is shown whole, clipped, rather than spending seconds on a diff.
const maxTextDiffCells = 4_000_000

// lineDiff returns a unified-style diff of two multi-line string values (a ConfigMap's
// file, a script): "-" and "+" lines with a little context, "…" between hunks. It
// returns nil when either value is not a multi-line JSON string, and the reports then show
// the values as they are.
func lineDiff(oldJSON, newJSON string) []string {
	var oldS, newS string
	if json.Unmarshal([]byte(oldJSON), &oldS) != nil || json.Unmarshal([]byte(newJSON), &newS) != nil {
		return nil
	}
	if !strings.Contains(oldS, "\n") && !strings.Contains(newS, "\n") {
		return nil
	}
	a, b := strings.Split(oldS, "\n"), strings.Split(newS, "\n")
	if len(a)*len(b) > maxTextDiffCells {
		return nil
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		mark byte
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			// Removals before additions, as diff writes them.
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	// Keep changed lines and their context.
	keep := make([]bool, len(ops))
	for k, o := range ops {
		if o.mark == ' ' {
			continue
		}
		for c := max(0, k-textDiffContext); c <= min(len(ops)-1, k+textDiffContext); c++ {
			keep[c] = true
		}
	}
	var out []string
	for k, o := range ops {
		if !keep[k] {
			if len(out) > 0 && out[len(out)-1] != "…" {
				out = append(out, "…")
			}
			continue
		}
		out = append(out, string(o.mark)+" "+o.text)
	}
	if len(out) > 0 && out[len(out)-1] == "…" {
		out = out[:len(out)-1]
	}
	return out
}
