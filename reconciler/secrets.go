package reconciler

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/alerting"
	"gitfleet.dev/gitfleet/schema"
)

// SecretReader reads one key of a Secret in the cluster gitfleet runs in (the management
// cluster); an empty namespace is gitfleet's own namespace, which the reader decides.
type SecretReader func(ctx context.Context, namespace, name, key string) ([]byte, error)

// withAlertSecrets adds to a cluster's alerting unit the Secrets its AlertmanagerConfigs
// read: Alertmanager runs in the member cluster and reads credentials (an SMTP password,
// a webhook's bearer token) from Secrets next to it, while the fleet repository names
// them in the cluster gitfleet runs in, never by value. The copies are part of the unit:
// applied before the AlertmanagerConfigs (Secrets sort first), labelled and inventoried
// like the rest, pruned when no channel needs them any more, and corrected on drift.
//
// A value that cannot be read fails the alerting unit of that cluster alone, naming the
// Secret, the key and the NotifyChannel field that needs it; nothing of the unit is then
// applied or pruned.
func withAlertSecrets(ctx context.Context, repo *schema.Repo, c *schema.Cluster, desired render.ClusterResult, read SecretReader, policy schema.SecretPolicy) render.ClusterResult {
	i := slices.IndexFunc(desired.Apps, func(a render.AppResult) bool { return a.App.Metadata.Name == render.UnitAlerting })
	if i < 0 || len(desired.Apps[i].Secrets) == 0 {
		return desired
	}
	unit := &desired.Apps[i]
	secrets, err := readAlertSecrets(ctx, repo.Fleet.Metadata.Name, unit.Secrets, read, policy)
	if err != nil {
		unit.Objects = nil
		unit.Err = &render.Error{App: render.UnitAlerting, Cluster: c.Metadata.Name, File: "alerting/", Err: err}
		return desired
	}
	unit.Objects = append(slices.Clone(unit.Objects), secrets...)
	render.Sort(unit.Objects)
	return desired
}

// readAlertSecrets reads every copy and returns one Secret per name in alerting.Namespace.
// A Secret outside the namespaces the policy allows is refused before it is read: the
// copy would hand another tenant's Secret to a member cluster the repository controls.
func readAlertSecrets(ctx context.Context, fleet string, copies []alerting.SecretCopy, read SecretReader, policy schema.SecretPolicy) ([]*unstructured.Unstructured, error) {
	byName := map[string]map[string]any{}
	var names []string
	for _, sc := range copies {
		need := fmt.Sprintf("Secret %q key %q, which NotifyChannel %s (%s) refers to", sc.From.Name, sc.From.Key, sc.Channel, sc.Field)
		if err := policy.CheckNamespace(sc.From.Namespace); err != nil {
			return nil, fmt.Errorf("%s: %w", need, err)
		}
		if read == nil {
			return nil, fmt.Errorf("%s, must be copied into the member cluster for Alertmanager, and gitfleet has no access to the cluster it runs in: pass --management-kubeconfig (and --management-context) naming the cluster that holds the Secret", need)
		}
		v, err := read(ctx, sc.From.Namespace, sc.From.Name, sc.From.Key)
		if err != nil {
			return nil, fmt.Errorf("copying %s into the member cluster for Alertmanager: %w", need, err)
		}
		data := byName[sc.Name]
		if data == nil {
			data = map[string]any{}
			byName[sc.Name] = data
			names = append(names, sc.Name)
		}
		data[sc.Key] = base64.StdEncoding.EncodeToString(v)
	}
	out := make([]*unstructured.Unstructured, 0, len(names))
	for _, name := range names {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Secret",
			"metadata": map[string]any{
				"name":      name,
				"namespace": alerting.Namespace,
				"labels": map[string]any{
					render.LabelManagedBy: render.ManagedByValue,
					render.LabelApp:       render.UnitAlerting,
					render.LabelFleet:     fleet,
				},
			},
			"type": "Opaque",
			"data": byName[name],
		}}
		out = append(out, u)
	}
	return out, nil
}
