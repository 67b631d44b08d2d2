package render

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/releaseutil"
)

// helmSplit is Helm's own split, documents in order, empty ones dropped as gitfleet drops
// them (they hold no object).
func helmSplit(s string) []string {
	m := releaseutil.SplitManifests(s)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []string
	for _, k := range keys {
		if m[k] != "" {
			out = append(out, m[k])
		}
	}
	return out
}

var splitCases = []string{
	"",
	"   \n",
	"a: 1",
	"---\na: 1",
	"a: 1\n---\nb: 2\n",
	"a: 1\n---\n---\nb: 2",
	"---\n---\n",
	"a: |\n  x\n  ---\n  y\n---\nb: 2",
	"a: 1\n  \n\t---  \n\nb: 2",
	"a: 1\n----\nb: 2",
	"a: 1\n---b: 2",
	"a: 1 --- b\nc: ---",
	"\n\n---\n\n---\n\nx: 1\n\n---\n",
	"a: 1\r\n---\r\nb: 2\r\n",
	"# Source: x\n---\n# comment only\n---\nkind: A\n",
}

func TestSplitManifestsIsHelms(t *testing.T) {
	for _, c := range splitCases {
		if got, want := splitManifests(c), helmSplit(c); !slices.Equal(got, want) {
			t.Errorf("splitManifests(%q) = %q, Helm splits it into %q", c, got, want)
		}
	}
}

func FuzzSplitManifests(f *testing.F) {
	for _, c := range splitCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.Contains(s, "\v") { // Go's TrimSpace trims \v, RE2's \s does not
			if got, want := splitManifests(s), helmSplit(s); !slices.Equal(got, want) {
				t.Errorf("splitManifests(%q) = %q, Helm splits it into %q", s, got, want)
			}
		}
	})
}
