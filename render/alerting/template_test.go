package alerting

import (
	htmltemplate "html/template"
	"reflect"
	"strings"
	"testing"
	"text/template"
	"time"

	"gitfleet.dev/gitfleet/schema"
)

// notification has the shape of the data Alertmanager executes templates over
// (template.Data and template.Alert), reduced to what the translation reads.
type notification struct {
	Status string
	Alerts []notifiedAlert
}

type notifiedAlert struct {
	Status      string
	Annotations map[string]string // template.KV
	StartsAt    time.Time
}

// notify turns NotifyData into the notification Alertmanager would execute a template
// over: the fields as the alert's annotations (left out when empty, as alertAnnotations
// does), Status and StartsAt as the alert's own.
func notify(t *testing.T, d schema.NotifyData) notification {
	t.Helper()
	a := notifiedAlert{Status: d.Status, Annotations: map[string]string{}}
	v := reflect.ValueOf(d)
	for i := range v.NumField() {
		name, value := v.Type().Field(i).Name, v.Field(i).String()
		switch {
		case name == "Status":
		case name == "StartsAt":
			at, err := time.Parse(time.RFC3339, value)
			if err != nil {
				t.Fatal(err)
			}
			// Alertmanager keeps times in its own zone; the template prints UTC.
			a.StartsAt = at.In(time.FixedZone("CST", 8*3600))
		case value != "":
			a.Annotations[name] = value
		}
	}
	return notification{Status: d.Status, Alerts: []notifiedAlert{a}}
}

// TestAlertmanagerTemplate checks that a translated template prints, over Alertmanager's
// notification of an alert, what the NotifyTemplate prints over the alert's NotifyData.
func TestAlertmanagerTemplate(t *testing.T) {
	full := schema.NotifyData{
		PolicyName: "shop-pods", PolicyType: "pod", Cluster: "dev", Business: "shop",
		Namespace: "shop-prod", WorkloadKind: "Deployment", Workload: "web", Pod: "web-5d9c7b-x2x8q",
		Node: "10.0.0.11", Metric: "cpu_utilization_limit", MetricName: "CPU utilisation (of limit)",
		Unit: "%", Operator: ">", Value: "93.50", Threshold: "80", Duration: "3", Period: "1",
		StartsAt: "2024-05-01T08:00:00Z", Status: "firing",
	}
	cluster := schema.NotifyData{
		PolicyName: "dev-cluster", PolicyType: "cluster", Cluster: "dev", Metric: "etcd_healthy",
		MetricName: "ETCD healthy", Operator: "=", Value: "false", Threshold: "false", Duration: "1",
		Period: "5", StartsAt: "2024-05-01T08:00:00Z", Status: "resolved",
	}
	repo := load(t, fleet)
	var texts []string
	for _, tpl := range repo.NotifyTemplates {
		texts = append(texts, tpl.Spec.Header, tpl.Spec.Body)
	}
	texts = append(texts,
		"{{$.PolicyName}} {{ $.Status }}",
		"{{with .Pod}}pod {{.}}{{else}}no pod{{end}}",
		"{{ $v := .Value }}{{ $v }}{{ $v | printf \"%s!\" }}",
		`{{printf "%s/%s" .Namespace .Pod | printf "%q"}}`,
		`{{if and .Pod (eq .Status "firing")}}pod firing{{else if eq .Status "resolved"}}resolved{{end}}`,
		"  {{- .PolicyName -}}  \n{{/* a comment */}}{{len .Metric}}",
		"{{range $i, $w := (printf \"%s\" .Workload)}}{{end}}{{.StartsAt}}",
		"no variables at all",
	)
	for _, text := range texts {
		if text == "" {
			continue
		}
		orig := template.Must(template.New("t").Parse(text))
		translated, err := alertmanagerTemplate(text, false)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		am, err := template.New("am").Parse(translated)
		if err != nil {
			t.Errorf("%q: translation %q does not parse: %v", text, translated, err)
			continue
		}
		if _, err := htmltemplate.New("html").Parse(emailHTML(translated)); err != nil {
			t.Errorf("%q: HTML part does not parse: %v", text, err)
		}
		for _, d := range []schema.NotifyData{full, cluster} {
			var want, got strings.Builder
			errWant := orig.Execute(&want, d)
			errGot := am.Execute(&got, notify(t, d))
			if (errWant == nil) != (errGot == nil) || want.String() != got.String() {
				t.Errorf("%q over %s:\nNotifyTemplate: %q (%v)\nAlertmanager:   %q (%v)\ntranslation: %s", text, d.PolicyName, want.String(), errWant, got.String(), errGot, translated)
			}
		}
	}
}

func TestAlertmanagerTemplateErrors(t *testing.T) {
	for text, want := range map[string]string{
		"{{.Clustr}}":         "unknown template variable .Clustr",
		"{{.Cluster.Name}}":   ".Cluster has no field Name: every template variable is a string",
		"{{$.Pod.Name}}":      ".Pod has no field Name: every template variable is a string",
		`{{template "x" .}}`:  "{{template}} is not supported in notification templates",
		"{{if .Pod}}unclosed": "unexpected EOF",
	} {
		_, err := alertmanagerTemplate(text, false)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", text, err, want)
		}
	}
}

// TestAlertmanagerTemplateSubject checks that a subject stays on one line.
func TestAlertmanagerTemplateSubject(t *testing.T) {
	translated, err := alertmanagerTemplate("  [{{.Status}}]\n{{if .Pod}}{{.Pod}}\n{{end}}{{.PolicyName}}\n", true)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	d := schema.NotifyData{Status: "firing", Pod: "web-1", PolicyName: "shop-pods", StartsAt: "2024-05-01T08:00:00Z"}
	if err := template.Must(template.New("s").Parse(translated)).Execute(&got, notify(t, d)); err != nil {
		t.Fatal(err)
	}
	if want := "[firing] web-1 shop-pods"; got.String() != want {
		t.Errorf("subject %q, want %q", got.String(), want)
	}
}
