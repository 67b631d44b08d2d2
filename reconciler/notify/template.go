package notify

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"gitfleet.dev/gitfleet/schema"
)

// message is one drift with its template variables and the template rendered over them.
type message struct {
	Drift
	Data schema.NotifyData
	// Header and Body are the NotifyTemplate's header and body rendered for this drift;
	// Header is "" when the template has none.
	Header, Body string
}

// Values of the template variables that are the same for every drift.
const (
	driftPolicyName = "drift"
	driftMetric     = "drift"
	firing          = "firing"
	resolved        = "resolved"
)

// render renders the template's header and body for each drift.
func render(repo *schema.Repo, tpl *schema.NotifyTemplate, events []Drift) ([]message, error) {
	header, err := parseTemplate("spec.header", tpl.Spec.Header)
	if err != nil {
		return nil, err
	}
	body, err := parseTemplate("spec.body", tpl.Spec.Body)
	if err != nil {
		return nil, err
	}
	out := make([]message, len(events))
	for i, d := range events {
		m := message{Drift: d, Data: driftData(repo, d)}
		if m.Header, err = execute(header, m.Data); err != nil {
			return nil, err
		}
		if m.Body, err = execute(body, m.Data); err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// parseTemplate parses a header or body; nil for an empty one. Load has checked both
// against schema.NotifyData, so an error here means the Repo was not loaded by Load.
func parseTemplate(field, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(field).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("NotifyTemplate %s: %w", field, err)
	}
	return t, nil
}

func execute(t *template.Template, data schema.NotifyData) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("NotifyTemplate %s: %w", t.Name(), err)
	}
	return b.String(), nil
}

// driftData fills the template variables of schema.NotifyData for a drift, so that one
// NotifyTemplate reads the same for alert policies and drift: the "policy" is drift, the
// "metric" is drift and its value is the change (modified or deleted), the workload is
// the drifted object. Variables without a meaning for drift (Unit, Operator, Threshold,
// Duration, Period, PolicyType, Node) are empty.
func driftData(repo *schema.Repo, d Drift) schema.NotifyData {
	kind, namespace, name := splitObject(d.Object)
	data := schema.NotifyData{
		PolicyName:   driftPolicyName,
		Cluster:      d.Cluster,
		Business:     businessOf(repo, d.Cluster, namespace),
		Namespace:    namespace,
		WorkloadKind: kind,
		Workload:     name,
		Metric:       driftMetric,
		MetricName:   driftMetric,
		Value:        d.Change,
		StartsAt:     d.startsAt().UTC().Format(time.RFC3339),
		Status:       d.status(),
	}
	if kind == "Pod" {
		data.Pod = name
	}
	return data
}

// splitObject splits an ssa object name, Kind/namespace/name or Kind/name (cluster
// scoped); anything else is taken as a bare name.
func splitObject(obj string) (kind, namespace, name string) {
	parts := strings.Split(obj, "/")
	switch len(parts) {
	case 3:
		return parts[0], parts[1], parts[2]
	case 2:
		return parts[0], "", parts[1]
	}
	return "", "", obj
}

// businessOf is the business that owns a namespace of the repository on a cluster, or "".
func businessOf(repo *schema.Repo, cluster, namespace string) string {
	if repo == nil || namespace == "" {
		return ""
	}
	for _, ns := range repo.Namespaces {
		if ns.Metadata.Name == namespace && ns.Spec.Cluster == cluster {
			return ns.Spec.Business
		}
	}
	return ""
}

// summary is a drift in one line: the webhook's summary when the template has no header.
func summary(d Drift) string {
	if d.Resolved {
		return fmt.Sprintf("%s of app %s on cluster %s matches the fleet repository again", d.Object, d.App, d.Cluster)
	}
	by := "outside gitfleet"
	if d.By != "" {
		by = "by " + d.By
	}
	s := fmt.Sprintf("%s of app %s on cluster %s was %s %s", d.Object, d.App, d.Cluster, d.Change, by)
	if d.Action != "" {
		s += " (" + d.Action + ")"
	}
	return s
}

// startsAt is when the drift began.
func (d Drift) startsAt() time.Time {
	if d.Resolved && !d.Since.IsZero() {
		return d.Since
	}
	return d.At
}
