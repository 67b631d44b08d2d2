package yamlbound

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/test/hostile"
)

func TestCheck(t *testing.T) {
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	// Aliases make the nesting deep without the file being so: twenty levels, each
	// holding the one above twice.
	var deepAlias strings.Builder
	deepAlias.WriteString("l0: &l0 {x: 1}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&deepAlias, "l%d: &l%d {a: {b: {c: {d: {e: {f: {g: *l%d}}}}}}}\n", i, i, i-1)
	}
	for _, tc := range []struct {
		name, data string
		limits     Limits
		wantFlag   string
		wantLine   int
	}{
		{name: "manifest", data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &d {a: b}\nmore: *d\n", limits: DefaultLimits()},
		{name: "alias bomb", data: hostile.AliasBomb(), limits: DefaultLimits(), wantFlag: FlagMaxNodes},
		{name: "deep", data: deep, limits: DefaultLimits(), wantFlag: FlagMaxDepth, wantLine: 1},
		{name: "deep through aliases", data: deepAlias.String(), limits: DefaultLimits(), wantFlag: FlagMaxDepth},
		{name: "big file", data: strings.Repeat("# padding\n", 100), limits: Limits{MaxFileSize: 500}, wantFlag: FlagMaxFileSize},
		// Refused by the count of indicators, before a parser builds 600,000 nodes.
		{name: "flat list", data: "[" + strings.Repeat("a,", 600_000) + "a]", limits: DefaultLimits(), wantFlag: FlagMaxNodes},
		{name: "many nodes over documents", data: strings.Repeat("---\n[a, b, c]\n", 30), limits: Limits{MaxNodes: 100}, wantFlag: FlagMaxNodes},
		{name: "syntax error is the parser's business", data: "a: [", limits: DefaultLimits()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("apps/web/cm.yaml", []byte(tc.data), tc.limits)
			if tc.wantFlag == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var be *Error
			if !errors.As(err, &be) || !errors.Is(err, ErrBound) {
				t.Fatalf("Check = %v, want a bound error", err)
			}
			if be.Flag != tc.wantFlag || be.File != "apps/web/cm.yaml" {
				t.Errorf("error %+v, want flag %s and the file", be, tc.wantFlag)
			}
			if tc.wantLine != 0 && be.Line != tc.wantLine {
				t.Errorf("line %d, want %d", be.Line, tc.wantLine)
			}
			if !strings.Contains(err.Error(), "apps/web/cm.yaml") || !strings.Contains(err.Error(), tc.wantFlag) {
				t.Errorf("message %q names neither the file nor the flag", err)
			}
		})
	}
}

// TestCheckMeasuresEachAnchorOnce: the check of a bomb is linear in its size, not in its
// expansion. Counted, not timed: the walk must visit each written node about once.
func TestCheckMeasuresEachAnchorOnce(t *testing.T) {
	// 60 levels of two aliases each: 2^60 nodes expanded, under any limit a uint64 allows.
	var b strings.Builder
	b.WriteString("l0: &l0 x\n")
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [*l%d, *l%d]\n", i, i, i-1, i-1)
	}
	err := Check("f.yaml", []byte(b.String()), Limits{MaxNodes: 1 << 62})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
}
