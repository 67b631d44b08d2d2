package view

import (
	"sort"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// Source is what the view needs from the reconcile loop.
type Source interface {
	// Snapshot returns the loop's state now. The view does not modify it.
	Snapshot() State
	// Changed returns a channel that is closed at the next change of the state. Take it
	// before Snapshot, so that a change between the two is not missed.
	Changed() <-chan struct{}
}

// State is what the loop knows, as the view shows it.
type State struct {
	// Leading is true once this replica runs the reconcile loop (it is the leader, or
	// there is no leader election). A replica waiting to be elected has no state.
	Leading bool `json:"leading"`
	// Revision is the revision last applied, Head the branch head the loop last saw.
	Revision string    `json:"revision,omitempty"`
	Head     string    `json:"head,omitempty"`
	Updated  time.Time `json:"updated,omitzero"`
	// Clusters and Businesses are the status files' content, as the next status commit
	// will hold it.
	Clusters   []status.Cluster  `json:"clusters"`
	Businesses []status.Business `json:"businesses"`
	// Fleet is what the repository says of clusters and businesses that the status
	// files do not hold.
	Fleet Fleet `json:"fleet"`
	// DriftLog is the drift seen since the process started, newest first.
	DriftLog []DriftEvent `json:"driftLog,omitempty"`
	// Revisions are the revisions the loop tried, newest first.
	Revisions []RevisionRecord `json:"revisions,omitempty"`
	// Rollouts are the Apps that roll out in waves, as status/rollouts/ will hold them.
	Rollouts []status.Rollout `json:"rollouts,omitempty"`
}

// Fleet is the repository's declarations the pages show beside the status.
type Fleet struct {
	Clusters   map[string]ClusterInfo  `json:"clusters,omitempty"`
	Businesses map[string]BusinessInfo `json:"businesses,omitempty"`
}

// ClusterInfo is a Cluster file's facts.
type ClusterInfo struct {
	DisplayName string  `json:"displayName,omitempty"`
	Type        string  `json:"type,omitempty"`
	Version     string  `json:"kubernetesVersion,omitempty"`
	Addons      []Addon `json:"addons,omitempty"`
}

// Addon is one addon the cluster runs.
type Addon struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// BusinessInfo is a Business file's facts.
type BusinessInfo struct {
	DisplayName string   `json:"displayName,omitempty"`
	Parent      string   `json:"parent,omitempty"`
	Members     []Member `json:"members,omitempty"`
	// Quota is the business's hard quota per cluster: cluster -> resource -> quantity.
	Quota map[string]map[string]string `json:"quota,omitempty"`
}

// Member is a user or group of a business and its role.
type Member struct {
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	Role  string `json:"role,omitempty"`
}

// DriftEvent is one drift as the loop saw it happen.
type DriftEvent struct {
	At       time.Time `json:"at"`
	Cluster  string    `json:"cluster"`
	Revision string    `json:"revision,omitempty"`
	status.Drift
	// Resolved: a reported drift ended (the object matches the repository again).
	Resolved bool `json:"resolved,omitempty"`
}

// RevisionRecord is what the passes over one revision did.
type RevisionRecord struct {
	Revision string    `json:"revision"`
	At       time.Time `json:"at"`
	Outcome  string    `json:"outcome"`
	// Error is why the revision was not applied at all (it does not validate).
	Error    string            `json:"error,omitempty"`
	Clusters []RevisionCluster `json:"clusters,omitempty"`
}

// RevisionCluster is what a revision's apply did on one cluster.
type RevisionCluster struct {
	Cluster                                string `json:"cluster"`
	Created, Configured, Unchanged, Pruned int
	Phase                                  string `json:"phase"`
	Errors                                 int    `json:"errors,omitempty"`
}

// FleetOf takes from a loaded repository what the pages show beside the status files.
func FleetOf(repo *schema.Repo) Fleet {
	f := Fleet{Clusters: map[string]ClusterInfo{}, Businesses: map[string]BusinessInfo{}}
	if repo == nil {
		return f
	}
	for _, c := range repo.Clusters {
		info := ClusterInfo{DisplayName: c.Spec.DisplayName, Type: string(c.Spec.Type), Version: c.Spec.Version}
		for _, a := range repo.AddonsFor(c) {
			info.Addons = append(info.Addons, Addon{Name: a.Name(), Type: string(a.Spec.Type), Version: a.Spec.Version})
		}
		f.Clusters[c.Name()] = info
	}
	for _, b := range repo.Businesses {
		info := BusinessInfo{DisplayName: b.Spec.DisplayName, Parent: b.Spec.Parent, Quota: map[string]map[string]string{}}
		for _, m := range b.Spec.Members {
			info.Members = append(info.Members, Member{User: m.User, Group: m.Group, Role: string(m.Role)})
		}
		for cluster, rl := range b.Spec.Quota {
			q := map[string]string{}
			for res, v := range rl {
				q[res] = v.String()
			}
			info.Quota[cluster] = q
		}
		f.Businesses[b.Name()] = info
	}
	return f
}

// appNames lists every App any cluster's status names, sorted: the matrix's columns.
func appNames(clusters []status.Cluster) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range clusters {
		for _, a := range c.Apps {
			if !seen[a.Name] {
				seen[a.Name] = true
				out = append(out, a.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}
