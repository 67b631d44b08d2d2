package render

import (
	"bytes"
	"fmt"
	"path"
	"regexp"

	"helm.sh/helm/v3/pkg/chart"

	"gitfleet.dev/gitfleet/schema"
)

// lookupCall finds template actions that call lookup, which reads the live cluster.
var lookupCall = regexp.MustCompile(`{{[^}]*\blookup\b`)

// checkTemplates reports the first template, in the chart at dir or its subcharts, that
// gitfleet refuses: one that calls lookup (a render that depends on what is in the cluster
// is not what git says), or one with a pipe that leads nowhere. The problem is a
// *schema.FieldError at the template's file and line: it is the chart's, whatever cluster
// it is rendered for, so validate reports it once.
func checkTemplates(dir string, c *chart.Chart) error {
	for _, t := range c.Templates {
		at := schema.Position{File: path.Join(dir, t.Name)}
		if loc := lookupCall.FindIndex(t.Data); loc != nil {
			at.Line = 1 + bytes.Count(t.Data[:loc[0]], []byte("\n"))
			return &schema.FieldError{Position: at, Message: fmt.Sprintf("chart %s: template %s calls lookup, which reads the live cluster; gitfleet renders without a cluster so that what is applied is what the repository says: remove the lookup or set the value it reads in the chart's values", c.Name(), t.Name)}
		}
		if line := danglingPipe(t.Data); line > 0 {
			at.Line = line
			return &schema.FieldError{Position: at, Message: fmt.Sprintf("chart %s: template %s: a pipe '|' with no command after it; Go's template parser (and so Helm) silently drops it, which usually hides a forgotten function such as quote or default: finish the pipeline or remove the '|'", c.Name(), t.Name)}
		}
	}
	for _, dep := range c.Dependencies() {
		if err := checkTemplates(path.Join(dir, "charts", dep.Name()), dep); err != nil {
			return err
		}
	}
	return nil
}

// danglingPipe returns the line of the first template action with a '|' followed by
// nothing but the end of the action or of a parenthesised pipeline, or 0. Go's
// text/template accepts "{{ .Values.foo | }}" and renders it as "{{ .Values.foo }}", so
// the mistake never surfaces at render time. Strings, raw strings, character constants and
// comments are skipped so that a '|' inside them is not taken for a pipe.
func danglingPipe(src []byte) int {
	line := 1
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			line++
			continue
		}
		if !bytes.HasPrefix(src[i:], []byte("{{")) {
			continue
		}
		start := line
		i += 2
		pipe := false // a '|' seen with nothing but spaces after it yet
		for i < len(src) && !bytes.HasPrefix(src[i:], []byte("}}")) {
			c := src[i]
			switch {
			case c == '\n':
				line++
			case bytes.HasPrefix(src[i:], []byte("/*")):
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return 0 // an unclosed comment is the parser's to report.
				}
				line += bytes.Count(src[i:i+2+end], []byte("\n"))
				i += end + 3
				continue
			case c == '"' || c == '\'' || c == '`':
				j := i + 1
				for j < len(src) && src[j] != c {
					if src[j] == '\\' && c != '`' {
						j++
					} else if src[j] == '\n' {
						line++
					}
					j++
				}
				i = j
				pipe = false
			case c == '|':
				pipe = true
			case c == ')':
				if pipe {
					return start
				}
			case c == '-' && i+2 < len(src) && src[i+1] == '}' && src[i+2] == '}':
				// the trim marker before "}}".
			case c != ' ' && c != '\t' && c != '\r':
				pipe = false
			}
			i++
		}
		if pipe {
			return start
		}
		i++ // past the first '}' of "}}"; the loop steps over the second.
	}
	return 0
}
