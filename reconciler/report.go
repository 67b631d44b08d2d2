package reconciler

import (
	"errors"
	"sort"

	"github.com/fluxcd/pkg/ssa"

	"gitfleet.dev/gitfleet/reconciler/status"
)

// QuotaUsage is a business namespace's live ResourceQuota: what is allowed and used.
type QuotaUsage struct {
	Business, Namespace string
	Hard, Used          map[string]string
}

// ClusterStatus turns one cluster's apply result into its status file. prev is the
// cluster's previous status (nil when there is none): an unreachable cluster keeps the
// revision it last had applied.
func ClusterStatus(r ClusterResult, revision string, prev *status.Cluster) status.Cluster {
	s := status.Cluster{Cluster: r.Cluster, Revision: revision, Attempted: revision, Health: string(r.Health())}
	for _, a := range r.Apps {
		app := status.App{Name: a.App, Health: string(a.Health)}
		for _, e := range a.Changes {
			if e.Action != ssa.DeletedAction && e.Action != ssa.SkippedAction && e.Action != ssa.UnknownAction {
				app.Objects++
			}
		}
		if a.Err != nil {
			app.Error = a.Err.Error()
		}
		s.Objects += app.Objects
		s.Apps = append(s.Apps, app)
	}
	for _, err := range r.Errors() {
		s.Errors = append(s.Errors, err.Error())
	}
	var unreachable *UnreachableError
	switch {
	case errors.As(r.Err, &unreachable):
		s.Phase = status.Unreachable
	case r.Err != nil:
		s.Phase = status.Failed
	case len(s.Errors) > 0 || r.Health() == Failed:
		s.Phase = status.Degraded
	case r.Health() == Progressing:
		s.Phase = status.Progressing
	default:
		s.Phase = status.Synced
	}
	if s.Phase == status.Unreachable || s.Phase == status.Failed {
		s.Revision = ""
		s.Apps, s.Objects = nil, 0
		if prev != nil {
			// What is there is still what the last successful apply left.
			s.Revision, s.Apps, s.Objects = prev.Revision, prev.Apps, prev.Objects
		}
	}
	return s
}

// BusinessStatus groups the live quotas of every cluster by business.
func BusinessStatus(results []ClusterResult) []status.Business {
	byBusiness := map[string]map[string][]status.NamespaceQuota{}
	for _, r := range results {
		for _, q := range r.Quotas {
			if byBusiness[q.Business] == nil {
				byBusiness[q.Business] = map[string][]status.NamespaceQuota{}
			}
			byBusiness[q.Business][r.Cluster] = append(byBusiness[q.Business][r.Cluster], status.NamespaceQuota{Namespace: q.Namespace, Hard: q.Hard, Used: q.Used})
		}
	}
	var out []status.Business
	for b, clusters := range byBusiness {
		bs := status.Business{Business: b}
		for c, nss := range clusters {
			sort.Slice(nss, func(i, j int) bool { return nss[i].Namespace < nss[j].Namespace })
			bs.Clusters = append(bs.Clusters, status.BusinessCluster{Cluster: c, Namespaces: nss})
		}
		sort.Slice(bs.Clusters, func(i, j int) bool { return bs.Clusters[i].Cluster < bs.Clusters[j].Cluster })
		out = append(out, bs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Business < out[j].Business })
	return out
}
