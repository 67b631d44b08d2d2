package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Position is a place in a fleet file. Line and Column start at 1; zero means unknown.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// FieldError is one problem in a fleet file: where it is, which field, and what a person
// should do about it.
type FieldError struct {
	Position
	// Field is the path of the field inside its document, for example
	// "spec.source.kustomize.path". Empty when the problem is with the whole file.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Position, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Position, e.Field, e.Message)
}

// ErrorList holds every problem found in a repository. It is returned as an error by Load
// and Validate when it is not empty; use errors.As to get at the individual entries.
type ErrorList []*FieldError

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems by file, line, column and field so that output is stable.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}

// AsErrorList returns the problems carried by err, or nil when err is not a schema error.
func AsErrorList(err error) ErrorList {
	var list ErrorList
	if errors.As(err, &list) {
		return list
	}
	var one *FieldError
	if errors.As(err, &one) {
		return ErrorList{one}
	}
	return nil
}

// errOrNil returns the list as an error only when it holds something, so callers never see
// a non-nil error interface wrapping an empty list.
func (l ErrorList) errOrNil() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}
