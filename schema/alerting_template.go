package schema

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
)

// NotifyData is what a NotifyTemplate's header and body see: each field is a template
// variable ({{.PolicyName}}, {{.Cluster}}, ...). The seed documents no template variables
// (seed-extract §11 gap 5); these are gitfleet's. Every variable is a string, empty when
// it does not apply to the alert (Pod on a node alert, Business on a platform policy), so
// that a template prints the same way on every channel.
type NotifyData struct {
	// PolicyName is the AlertPolicy's name.
	PolicyName string
	// PolicyType is cluster, node or pod.
	PolicyType string
	// Cluster is the cluster the alert fired on.
	Cluster string
	// Business is the business of a business-side policy.
	Business string
	// Namespace is the pod's namespace (pod alerts).
	Namespace string
	// WorkloadKind and Workload are the kind and name of the pod's workload (pod alerts
	// of pods that belong to a workload).
	WorkloadKind string
	Workload     string
	// Pod is the pod's name (pod alerts).
	Pod string
	// Node is the node's name (node alerts; the pod's node on pod alerts).
	Node string
	// Metric is the metric's identifier (cpu_utilization); MetricName its title
	// ("CPU utilisation"); Unit its unit (%, MB, cores, count, or empty for states).
	Metric     string
	MetricName string
	Unit       string
	// Operator is > or <, or = for state metrics.
	Operator string
	// Value is the observed average over the period and Threshold the rule's threshold,
	// both formatted as decimals ("87.5"), or true/false for state metrics.
	Value     string
	Threshold string
	// Duration is how many periods the condition has held, Period the period in minutes.
	Duration string
	Period   string
	// StartsAt is when the condition started to hold, RFC 3339 ("2024-05-01T08:00:00Z").
	StartsAt string
	// Status is firing or resolved.
	Status string
}

// NotifyVariables returns the names of the template variables, in NotifyData's order.
func NotifyVariables() []string {
	t := reflect.TypeFor[NotifyData]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}

// sampleNotifyData fills every variable, so that executing a template against it finds
// mistakes that parsing cannot (comparing a string with a number, say).
func sampleNotifyData() NotifyData {
	return NotifyData{
		PolicyName: "sample", PolicyType: "pod", Cluster: "dev", Business: "shop",
		Namespace: "shop-prod", WorkloadKind: "Deployment", Workload: "web", Pod: "web-5d9c7b-x2x8q",
		Node: "10.0.0.11", Metric: "cpu_utilization_limit", MetricName: "CPU utilisation (of limit)",
		Unit: "%", Operator: ">", Value: "93.5", Threshold: "80", Duration: "3", Period: "1",
		StartsAt: "2024-05-01T08:00:00Z", Status: "firing",
	}
}

// checkNotifyTemplate parses a header or body and checks that it uses only NotifyData's
// variables and the standard template functions. It returns a sentence saying what is
// wrong, or "".
func checkNotifyTemplate(text string) string {
	t, err := template.New("t").Option("missingkey=error").Parse(text)
	if err != nil {
		return "not a valid template: " + trimNotifyTemplateError(err.Error())
	}
	if len(t.Templates()) > 1 || t.Tree == nil {
		return "{{define}} and {{block}} are not supported: a header or body is a single template"
	}
	known := NotifyVariables()
	if msg := checkNotifyTemplateNode(t.Tree.Root, known); msg != "" {
		return msg
	}
	if err := t.Execute(io.Discard, sampleNotifyData()); err != nil {
		return "the template fails on a sample alert: " + trimNotifyTemplateError(err.Error()) + " (every variable is a string)"
	}
	return ""
}

// trimNotifyTemplateError drops text/template's "template: t:" prefix, keeping the line (and
// column) within the template.
func trimNotifyTemplateError(msg string) string {
	msg = strings.TrimPrefix(msg, "template: t:")
	if i := strings.Index(msg, ": executing \"t\" at "); i >= 0 {
		msg = msg[:i] + ": at " + msg[i+len(": executing \"t\" at "):]
	}
	return "line " + msg
}

// checkNotifyTemplateNode walks a parsed template and reports the first variable that is not
// NotifyData's, or a construct notifications do not need.
func checkNotifyTemplateNode(n parse.Node, known []string) string {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Nodes {
			if msg := checkNotifyTemplateNode(c, known); msg != "" {
				return msg
			}
		}
	case *parse.ActionNode:
		return checkNotifyTemplateNode(n.Pipe, known)
	case *parse.IfNode:
		return checkNotifyTemplateBranch(&n.BranchNode, known)
	case *parse.WithNode:
		return checkNotifyTemplateBranch(&n.BranchNode, known)
	case *parse.RangeNode:
		// A range over a number repeats text that many times; nothing in an alert needs
		// it, and a large number would stall validation.
		if cmds := n.Pipe.Cmds; len(cmds) > 0 {
			if _, isNumber := cmds[len(cmds)-1].Args[0].(*parse.NumberNode); isNumber {
				return "{{range}} over a number is not supported in notification templates"
			}
		}
		return checkNotifyTemplateBranch(&n.BranchNode, known)
	case *parse.TemplateNode:
		return "{{template}} is not supported: a header or body is a single template"
	case *parse.PipeNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				if msg := checkNotifyTemplateNode(a, known); msg != "" {
					return msg
				}
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if msg := checkNotifyTemplateNode(a, known); msg != "" {
				return msg
			}
		}
	case *parse.FieldNode:
		return checkNotifyTemplateField(n.Ident, known)
	case *parse.VariableNode:
		if n.Ident[0] == "$" && len(n.Ident) > 1 {
			return checkNotifyTemplateField(n.Ident[1:], known)
		}
		if len(n.Ident) > 1 {
			return fmt.Sprintf("%s has no fields: every template variable is a string", n.Ident[0])
		}
	case *parse.ChainNode:
		return fmt.Sprintf("%s has no fields: every template variable is a string", n.Node)
	}
	return ""
}

func checkNotifyTemplateBranch(b *parse.BranchNode, known []string) string {
	for _, c := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if msg := checkNotifyTemplateNode(c, known); msg != "" {
			return msg
		}
	}
	return ""
}

func checkNotifyTemplateField(ident []string, known []string) string {
	valid := make([]string, len(known))
	for i, k := range known {
		valid[i] = "." + k
	}
	name := "." + ident[0]
	found := false
	for _, v := range valid {
		if v == name {
			found = true
		}
	}
	if !found {
		return unknownName("template variable", name, valid)
	}
	if len(ident) > 1 {
		return fmt.Sprintf("%s has no field %s: every template variable is a string", name, ident[1])
	}
	return ""
}
