package view

import (
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// QuotaBar is one resource's use against its hard limit.
type QuotaBar struct {
	Resource string `json:"resource"`
	Used     string `json:"used"`
	Hard     string `json:"hard"`
	// Percent is used / hard, 0 to 100 (a bar cannot be longer than its track); Over
	// says when use is above hard, which a quota lowered below current use allows.
	Percent int  `json:"percent"`
	Over    bool `json:"over,omitempty"`
}

// businessCluster adds up a business's namespaces on a cluster. The total's hard limit is
// the business's quota there when the repository declares one for the resource (the
// namespaces may not use all of it), else the sum of the namespaces' hard limits.
func businessCluster(bc status.BusinessCluster, declared map[string]string) BusinessCluster {
	out := BusinessCluster{Cluster: bc.Cluster, Namespaces: make([]NamespaceBars, 0, len(bc.Namespaces))}
	used, hard := map[string]*resource.Quantity{}, map[string]*resource.Quantity{}
	add := func(sum map[string]*resource.Quantity, res, v string) {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return // a quantity Kubernetes reported is valid; a broken status file shows as 0.
		}
		if sum[res] == nil {
			sum[res] = &resource.Quantity{Format: q.Format}
		}
		sum[res].Add(q)
	}
	for _, ns := range bc.Namespaces {
		nb := NamespaceBars{Namespace: ns.Namespace}
		for _, res := range slices.Sorted(maps.Keys(ns.Hard)) {
			nb.Bars = append(nb.Bars, bar(res, ns.Used[res], ns.Hard[res]))
			add(used, res, orZero(ns.Used[res]))
			add(hard, res, ns.Hard[res])
		}
		out.Namespaces = append(out.Namespaces, nb)
	}
	for res, v := range declared {
		// A business's quota says cpu where its namespaces' ResourceQuotas say
		// requests.cpu (gitfleet renders it so): compare like with like.
		if _, ok := hard[res]; !ok && hard["requests."+res] != nil {
			res = "requests." + res
		}
		hard[res] = nil
		add(hard, res, v)
	}
	for _, res := range slices.Sorted(maps.Keys(hard)) {
		u := "0"
		if used[res] != nil {
			u = used[res].String()
		}
		out.Total = append(out.Total, bar(res, u, hard[res].String()))
	}
	return out
}

func bar(res, used, hard string) QuotaBar {
	b := QuotaBar{Resource: res, Used: orZero(used), Hard: hard}
	u, errU := resource.ParseQuantity(b.Used)
	h, errH := resource.ParseQuantity(hard)
	if errU != nil || errH != nil || h.IsZero() {
		if errU == nil && !u.IsZero() {
			b.Percent, b.Over = 100, true
		}
		return b
	}
	ratio := u.AsApproximateFloat64() / h.AsApproximateFloat64()
	b.Over = ratio > 1
	b.Percent = int(min(ratio, 1)*100 + 0.5)
	return b
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
