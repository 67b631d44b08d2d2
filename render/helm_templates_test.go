package render

import "testing"

func TestDanglingPipe(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
	}{
		{"x: {{ .Values.foo | }}", 1},
		{"a\nb: {{- .Values.foo | -}}", 2},
		{"{{ $x := .a |}}", 1},
		{"{{ (.a | ) | quote }}", 1},
		{"{{\n  .a\n  |\n}}", 1},
		{"x: {{ .Values.foo | quote }}", 0},
		{`x: {{ "a | " }} {{ .b }}`, 0},
		{"x: {{ `|` }}", 0},
		{"{{/* a | */}}", 0},
		{"{{- /* keep | */ -}}\n{{ .a }}", 0},
		{"{{ '|' }}", 0},
		{"{{ .a | default (.b | quote) }}", 0},
		{"plain | text }}", 0},
	} {
		if got := danglingPipe([]byte(tc.src)); got != tc.line {
			t.Errorf("danglingPipe(%q) = %d, want %d", tc.src, got, tc.line)
		}
	}
}
