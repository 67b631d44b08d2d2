// Package hostile holds the inputs of a hostile fleet repository that several packages'
// tests plant, so that each test refuses the same thing.
package hostile

import (
	"fmt"
	"strings"
)

// AliasBomb is the "billion laughs" as top-level keys of a YAML mapping: nine levels of
// nine aliases, 9^9 nodes once expanded, from a few hundred bytes. Append it to a
// manifest's head to plant it in a file that still names its kind.
func AliasBomb() string {
	var b strings.Builder
	b.WriteString("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		prev, name := string(rune('a'+i-1)), string(rune('a'+i))
		fmt.Fprintf(&b, "%s: &%s [%s]\n", name, name, strings.TrimSuffix(strings.Repeat("*"+prev+", ", 9), ", "))
	}
	return b.String()
}
