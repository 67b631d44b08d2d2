package alerting

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"gitfleet.dev/gitfleet/schema"
)

// Names of the variables the translated templates bind. They are long so that a
// NotifyTemplate's own variables ($v) cannot shadow them.
const (
	tmplAlert = "$gitfleetAlert"
	tmplData  = "$gitfleetData"
)

// alertmanagerTemplate turns a NotifyTemplate text (a header or a body, over
// schema.NotifyData) into an Alertmanager notification template, so that Alertmanager can
// send the email itself.
//
// Alertmanager executes templates over a notification: .Alerts, .Status, .CommonLabels and
// so on. Each gitfleet route groups by every label ("..."), so a notification carries one
// alert, whose annotations hold the NotifyData fields (see alertAnnotations). The
// translation binds that alert and its annotations, then rewrites each variable:
//
//	.PolicyName, $.PolicyName -> (index $gitfleetData "PolicyName")  (an annotation; "" when absent)
//	.Status                   -> $gitfleetAlert.Status             (firing or resolved)
//	.StartsAt                 -> ($gitfleetAlert.StartsAt.UTC.Format "2006-01-02T15:04:05Z07:00")
//
// Everything else (text, if/with/range, printf, eq, ...) is kept; those are Go template
// builtins, which Alertmanager has too. Comments and trim markers are gone from the
// output, but trimming has already been applied to the text around them.
//
// A subject (oneLine) is kept on one line: the template's own line breaks become spaces,
// and the text is trimmed (a YAML block scalar ends with a newline).
func alertmanagerTemplate(text string, oneLine bool) (string, error) {
	if oneLine {
		text = strings.TrimSpace(text)
	}
	t, err := template.New("t").Parse(text)
	if err != nil {
		return "", err
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return "", nil
	}
	rw := rewriter{known: schema.NotifyVariables(), oneLine: oneLine}
	if err := rw.rewrite(t.Tree.Root); err != nil {
		return "", err
	}
	prelude := fmt.Sprintf("{{ %s := index .Alerts 0 }}{{ %s := %s.Annotations }}", tmplAlert, tmplData, tmplAlert)
	return prelude + t.Tree.Root.String(), nil
}

// rewriter rewrites a parsed NotifyTemplate in place.
type rewriter struct {
	known   []string // the NotifyData fields
	oneLine bool
}

// rewrite replaces every reference to a NotifyData field, and for a one-line template
// every line break of the text.
func (rw rewriter) rewrite(n parse.Node) error {
	switch n := n.(type) {
	case *parse.TextNode:
		if rw.oneLine {
			n.Text = bytes.ReplaceAll(n.Text, []byte("\n"), []byte(" "))
		}
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := rw.rewrite(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return rw.rewrite(n.Pipe)
	case *parse.IfNode:
		return rw.rewriteBranch(&n.BranchNode)
	case *parse.WithNode:
		return rw.rewriteBranch(&n.BranchNode)
	case *parse.RangeNode:
		return rw.rewriteBranch(&n.BranchNode)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := rw.rewrite(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for i, arg := range n.Args {
			repl, err := notifyFieldNode(arg, rw.known)
			if err != nil {
				return err
			}
			if repl != nil {
				n.Args[i] = repl
				continue
			}
			if err := rw.rewrite(arg); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return fmt.Errorf("{{template}} is not supported in notification templates")
	}
	return nil
}

func (rw rewriter) rewriteBranch(b *parse.BranchNode) error {
	// A missing else is a nil *ListNode, which rewrite passes over.
	for _, c := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := rw.rewrite(c); err != nil {
			return err
		}
	}
	return nil
}

// notifyFieldNode returns the replacement of a node that reads a NotifyData field (.X or
// $.X), or nil when the node is something else.
func notifyFieldNode(n parse.Node, known []string) (parse.Node, error) {
	var ident []string
	switch n := n.(type) {
	case *parse.FieldNode:
		ident = n.Ident
	case *parse.VariableNode:
		if len(n.Ident) < 2 || n.Ident[0] != "$" {
			return nil, nil
		}
		ident = n.Ident[1:]
	default:
		return nil, nil
	}
	if !slices.Contains(known, ident[0]) {
		return nil, fmt.Errorf("unknown template variable .%s", ident[0])
	}
	if len(ident) > 1 {
		return nil, fmt.Errorf(".%s has no field %s: every template variable is a string", ident[0], ident[1])
	}
	switch ident[0] {
	case "Status":
		return variable(tmplAlert, "Status"), nil
	case "StartsAt":
		return pipe(variable(tmplAlert, "StartsAt", "UTC", "Format"), str("2006-01-02T15:04:05Z07:00")), nil
	}
	return pipe(parse.NewIdentifier("index"), variable(tmplData), str(ident[0])), nil
}

// The helpers build template nodes; only their String forms are used.

func variable(ident ...string) *parse.VariableNode {
	return &parse.VariableNode{NodeType: parse.NodeVariable, Ident: ident}
}

func str(s string) *parse.StringNode {
	return &parse.StringNode{NodeType: parse.NodeString, Quoted: fmt.Sprintf("%q", s), Text: s}
}

// pipe is a parenthesised command: (arg0 arg1 ...).
func pipe(args ...parse.Node) *parse.PipeNode {
	return &parse.PipeNode{NodeType: parse.NodePipe, Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Args: args}}}
}

// emailHTML wraps a translated body for the HTML part of an email. Alertmanager always
// sends an HTML part (an empty html field falls back to its default template), and mail
// clients show it in preference to the text: a <pre> block keeps the body's lines as the
// template wrote them. Alertmanager escapes the values that html/template prints.
func emailHTML(body string) string {
	return `<pre style="font-family: inherit; white-space: pre-wrap">` + body + `</pre>`
}
