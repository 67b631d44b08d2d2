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
	// Kind says which family of rules the problem breaks, for readers that group problems
	// (gitfleet plan); empty for the many problems that are only invalid input. Tools read
	// it instead of the message, whose wording is written for people and may change.
	Kind ProblemKind `json:"kind,omitempty"`
	// Quota carries the numbers of a quota overrun (Kind ProblemQuota), so that a report
	// can show them side by side without reading them out of the message.
	Quota *QuotaOverrun `json:"quota,omitempty"`
}

// ProblemKind groups problems by the rule they break. It is not a fleet object kind
// (KindCluster and the like): it names a family of checks.
type ProblemKind string

const (
	// ProblemQuota is a quota that does not fit in its parent business's quota or in the
	// cluster's capacity (times its overcommit ratio).
	ProblemQuota ProblemKind = "quota"
	// ProblemTenancy is a business App reaching outside its business's namespaces.
	ProblemTenancy ProblemKind = "tenancy"
	// ProblemGPUAddon is a GPU request or GPU addon that the cluster's spec.gpuType or
	// addons do not serve.
	ProblemGPUAddon ProblemKind = "gpu-addon"
	// ProblemUpgrade is a Kubernetes version change the upgrade rules forbid.
	ProblemUpgrade ProblemKind = "upgrade"
)

// QuotaOverrun is what is asked for of one resource on one cluster and what is available
// to it. The amounts are written as the message writes them: Available may be a product
// (capacity × overcommit) that is no exact Kubernetes quantity.
type QuotaOverrun struct {
	Cluster string `json:"cluster"`
	// Resource is the resource as the quota or capacity names it (cpu, requests.memory).
	Resource string `json:"resource"`
	// Asked is what the children, namespaces or top-level businesses add up to.
	Asked string `json:"asked"`
	// Available is the parent's quota, or the cluster's capacity times its overcommit.
	Available string `json:"available"`
}

// WithKind returns a copy of the problem marked as breaking a rule of the given kind. It
// is a copy so that an error built once and shared is never changed under its holders.
func (e *FieldError) WithKind(kind ProblemKind) *FieldError {
	c := *e
	c.Kind = kind
	return &c
}

// WithQuota returns a copy of the problem marked as a quota overrun with its numbers.
func (e *FieldError) WithQuota(q QuotaOverrun) *FieldError {
	c := e.WithKind(ProblemQuota)
	c.Quota = &q
	return c
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
