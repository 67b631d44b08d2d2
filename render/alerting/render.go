package alerting

import (
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/schema"
)

// Namespace is where the alerting objects go: the Monitoring addon's namespace, whose
// Prometheus and Alertmanager select them, and where the Secrets their receivers read
// must be.
const Namespace = "kube-system"

// Labels of the rendered objects. The Monitoring addon's Prometheus selects the
// PrometheusRules, and its Alertmanager the AlertmanagerConfigs, by LabelAlerting.
const (
	LabelAlerting    = "gitfleet.dev/alerting"
	LabelAlertPolicy = "gitfleet.dev/alert-policy"
)

// SecretCopy is a Secret key the AlertmanagerConfigs of a cluster read, which must
// therefore exist in Namespace of that cluster: the fleet file names a Secret of the
// cluster gitfleet runs in, and the reconciler copies its key into the member cluster
// under the same Secret name and key.
type SecretCopy struct {
	// Name and Key are the Secret and key in Namespace of the member cluster, as the
	// AlertmanagerConfigs refer to them.
	Name, Key string
	// From is the Secret key in the cluster gitfleet runs in; an empty From.Namespace is
	// gitfleet's own namespace.
	From schema.SecretKeyRef
	// Channel and Field are the first NotifyChannel and field that need the value, for
	// messages.
	Channel, Field string
}

// Render returns the monitoring objects the fleet's alert policies put on cluster c:
// one PrometheusRule per AlertPolicy watching c, and the Alertmanager routing for their
// receiver groups and channels (one AlertmanagerConfig per policy). Sorted
// deterministically: PrometheusRules, then AlertmanagerConfigs, each by name.
//
// The error is a schema.ErrorList naming the fleet file, line and field of each problem
// (a channel whose credential Alertmanager cannot read, say); no objects are returned
// with it, so that nothing half-rendered is applied.
func Render(repo *schema.Repo, c *schema.Cluster) ([]*unstructured.Unstructured, error) {
	objs, _, err := RenderWithSecrets(repo, c)
	return objs, err
}

// RenderWithSecrets is Render, with the Secret keys its objects read in Namespace, sorted
// by name and key. The reconciler copies each before applying the AlertmanagerConfigs:
// until the Secret exists, prometheus-operator leaves the AlertmanagerConfig that needs it
// out of Alertmanager's configuration.
func RenderWithSecrets(repo *schema.Repo, c *schema.Cluster) ([]*unstructured.Unstructured, []SecretCopy, error) {
	res, err := build(repo, c)
	if err != nil {
		return nil, nil, err
	}
	return res.objects, res.secrets, nil
}

type result struct {
	objects []*unstructured.Unstructured
	secrets []SecretCopy
}

func build(repo *schema.Repo, c *schema.Cluster) (result, error) {
	cluster := c.Metadata.Name
	r := &router{repo: repo, cluster: cluster, reported: map[string]bool{}}
	var typed []any
	for _, p := range repo.AlertPoliciesFor(c) {
		pr, err := policyRules(p, cluster)
		if err != nil {
			r.errs = append(r.errs, schema.AsErrorList(err)...)
			continue
		}
		typed = append(typed, pr)
		if amc := r.routing(p); amc != nil {
			typed = append(typed, amc)
		}
	}
	if len(r.errs) > 0 {
		r.errs.Sort()
		return result{}, r.errs
	}
	objs := make([]*unstructured.Unstructured, 0, len(typed))
	for _, t := range typed {
		u, err := toUnstructured(t)
		if err != nil {
			return result{}, err
		}
		objs = append(objs, u)
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.GetAPIVersion() != b.GetAPIVersion() {
			return a.GetAPIVersion() < b.GetAPIVersion()
		}
		if a.GetKind() != b.GetKind() {
			return a.GetKind() < b.GetKind()
		}
		return a.GetName() < b.GetName()
	})
	sort.SliceStable(r.secrets, func(i, j int) bool {
		a, b := r.secrets[i], r.secrets[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Key < b.Key
	})
	return result{objects: objs, secrets: r.secrets}, nil
}

// toUnstructured goes through JSON so that numbers and nested values have the types the
// Kubernetes machinery expects (DeepCopy panics on Go ints).
func toUnstructured(v any) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding a rendered alerting object: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("encoding a rendered alerting object: %w", err)
	}
	return u, nil
}

// objectName is the name of a policy's PrometheusRule and AlertmanagerConfig.
func objectName(p *schema.AlertPolicy) string { return "gitfleet-alert-" + p.Metadata.Name }

func objectLabels(p *schema.AlertPolicy) map[string]string {
	return map[string]string{LabelAlerting: "true", LabelAlertPolicy: p.Metadata.Name}
}
