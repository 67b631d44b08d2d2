package schema

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v4"
)

// SyntaxError turns the YAML library's error for data, the content of file, into a
// positioned one. The mark is where the parser gave up; an unclosed bracket or quote is
// then reported where it was opened (the context mark), which is where a person has to
// look. A tab is named as such: the library's "found character that cannot start any
// token" does not say which character, and a tab looks like spaces in most editors.
func SyntaxError(file string, data []byte, err error) *FieldError {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return &FieldError{Position: Position{File: file}, Message: "invalid YAML: " + err.Error()}
	}
	if line, col, ok := tabAt(data, le.Mark.Line, le.Mark.Column); ok {
		return &FieldError{Position: Position{File: file, Line: line, Column: col}, Message: "invalid YAML: a tab character; YAML indents with spaces only: replace the tab with spaces"}
	}
	mark := le.Mark
	msg := le.Message
	if le.ContextMsg != "" && le.ContextMark.Line > 0 {
		mark = le.ContextMark
		msg = le.ContextMsg + ": " + msg
	}
	return &FieldError{Position: Position{File: file, Line: mark.Line, Column: mark.Column}, Message: "invalid YAML: " + msg}
}

// tabAt says whether the parser stopped at a tab: the character at the mark (line and
// column counted from 1), or a tab in the indentation of that line.
func tabAt(data []byte, line, col int) (int, int, bool) {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0, 0, false
	}
	text := lines[line-1]
	if col >= 1 && col <= len(text) && text[col-1] == '\t' {
		return line, col, true
	}
	indent := len(text) - len(bytes.TrimLeft(text, " \t"))
	if i := bytes.IndexByte(text[:indent], '\t'); i >= 0 {
		return line, i + 1, true
	}
	return 0, 0, false
}

// CheckSyntax parses every document of a YAML file, without decoding it, and returns
// its first syntax problem or nil.
func CheckSyntax(file string, data []byte) *FieldError {
	if err := Documents(data, func(*yaml.Node) bool { return true }); err != nil {
		return SyntaxError(file, data, err)
	}
	return nil
}

// Documents parses the YAML documents of data one by one into nodes (aliases stay
// pointers to their anchors, nothing is expanded) and hands each to fn, empty ones
// between two "---" included, until fn returns false. The error is the parser's, for
// SyntaxError; nil when every document parsed.
func Documents(data []byte, fn func(doc *yaml.Node) bool) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !fn(&doc) {
			return nil
		}
	}
}
