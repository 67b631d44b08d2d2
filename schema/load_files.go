package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"go.yaml.in/yaml/v4"
)

// IgnoreFile, at the root of a fleet repository, lists in .gitignore syntax the YAML files
// and directories gitfleet does not read as fleet files: documentation examples, say, or
// a generator's data that only looks like YAML. Everything else with a .yaml or .yml
// name must be YAML.
const IgnoreFile = ".gitfleetignore"

// maxIgnoreFile bounds the ignore file like every other input from the repository.
const maxIgnoreFile = 64 << 10

type ignoreRules struct{ m gitignore.Matcher }

func readIgnoreFile(fsys fs.FS) (ignoreRules, error) {
	data, err := fs.ReadFile(fsys, IgnoreFile)
	if errors.Is(err, fs.ErrNotExist) {
		return ignoreRules{}, nil
	}
	if err != nil {
		return ignoreRules{}, fmt.Errorf("reading %s: %w", IgnoreFile, err)
	}
	if len(data) > maxIgnoreFile {
		return ignoreRules{}, fmt.Errorf("%s is %d bytes; at most %d are read", IgnoreFile, len(data), maxIgnoreFile)
	}
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	return ignoreRules{m: gitignore.NewMatcher(ps)}, nil
}

func (r ignoreRules) match(p string, dir bool) bool {
	return r.m != nil && r.m.Match(strings.Split(p, "/"), dir)
}

// isChartDir says whether dir holds a Helm chart: its templates are not YAML until Helm
// renders them, so the chart is the renderer's to read and check.
func isChartDir(fsys fs.FS, dir string) bool {
	_, err := fs.Stat(fsys, path.Join(dir, "Chart.yaml"))
	return err == nil
}

// notText reports a file that cannot be YAML at all: a NUL byte or bytes that are not
// UTF-8 mean a binary file (an archive, an image) that was given a YAML name.
func notText(file string, data []byte) *FieldError {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return &FieldError{Position: Position{File: file, Line: 1 + bytes.Count(data[:i], []byte("\n"))}, Message: fmt.Sprintf("not a YAML file: binary content (a NUL byte at offset %d); remove it, or list it in %s if it must stay", i, IgnoreFile)}
	}
	if !utf8.Valid(data) {
		i := invalidUTF8(data)
		return &FieldError{Position: Position{File: file, Line: 1 + bytes.Count(data[:i], []byte("\n"))}, Message: fmt.Sprintf("not a YAML file: bytes that are not UTF-8 at offset %d; YAML files are UTF-8 text: re-save it as UTF-8, or list it in %s", i, IgnoreFile)}
	}
	return nil
}

func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// addSyntax adds the first syntax problem of a YAML file that is not a fleet file.
func (l ErrorList) addSyntax(file string, data []byte) ErrorList {
	if fe := CheckSyntax(file, data); fe != nil {
		fe.Message += fmt.Sprintf(" (gitfleet reads every .yaml file in the repository; list files that are not YAML in %s)", IgnoreFile)
		return append(l, fe)
	}
	return l
}

// span is the lines of one document.
type span struct {
	file        string
	first, last int
}

type spans []span

func docSpan(file string, n *yaml.Node) span {
	last := n.Line
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		last = max(last, n.Line)
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return span{file: file, first: n.Line, last: last}
}

// drop removes the errors inside the spans: problems found in a document read against the
// wrong apiVersion say nothing the apiVersion error does not.
func (s spans) drop(errs ErrorList) ErrorList {
	if len(s) == 0 {
		return errs
	}
	out := errs[:0]
	for _, e := range errs {
		inside := false
		for _, sp := range s {
			inside = inside || (e.File == sp.file && e.Line >= sp.first && e.Line <= sp.last)
		}
		if !inside {
			out = append(out, e)
		}
	}
	return out
}
