package reconciler

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/render"
)

// readQuotas lists the ResourceQuotas gitfleet generated for business namespaces, with
// what Kubernetes reports as used, for the business status files.
func (a *clusterApplier) readQuotas(ctx context.Context) ([]QuotaUsage, error) {
	var list corev1.ResourceQuotaList
	if err := a.client.List(ctx, &list, client.HasLabels{render.LabelBusiness}, client.MatchingLabels{render.LabelFleet: a.fleet}); err != nil {
		return nil, fmt.Errorf("cluster %q: reading business quotas: %w", a.cluster, err)
	}
	out := make([]QuotaUsage, 0, len(list.Items))
	for _, q := range list.Items {
		out = append(out, QuotaUsage{
			Business:  q.Labels[render.LabelBusiness],
			Namespace: q.Namespace,
			Hard:      quantities(q.Status.Hard, q.Spec.Hard),
			Used:      quantities(q.Status.Used, nil),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out, nil
}

// quantities prints a resource list; fallback is used before the quota controller has
// filled in the status.
func quantities(rl, fallback corev1.ResourceList) map[string]string {
	if len(rl) == 0 {
		rl = fallback
	}
	out := map[string]string{}
	for k, v := range rl {
		out[string(k)] = v.String()
	}
	return out
}
