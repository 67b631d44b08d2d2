package plan

import (
	"slices"

	"gitfleet.dev/gitfleet/schema"
)

// rolloutPlans is the wave schedule of each App that rolls out in waves and that the
// change creates, changes or prunes objects of somewhere.
func rolloutPlans(head *schema.Repo, clusters []ClusterPlan) []RolloutPlan {
	touched := map[string]map[string]bool{} // App -> clusters
	for _, cp := range clusters {
		for _, list := range [][]ObjectChange{cp.Create, cp.Change, cp.Prune} {
			for _, o := range list {
				if touched[o.App] == nil {
					touched[o.App] = map[string]bool{}
				}
				touched[o.App][cp.Name] = true
			}
		}
	}
	var out []RolloutPlan
	for _, a := range head.Apps {
		on := touched[a.Metadata.Name]
		if len(on) == 0 {
			continue
		}
		waves := head.Waves(a)
		if waves == nil {
			continue
		}
		rp := RolloutPlan{App: a.Metadata.Name}
		for _, w := range waves {
			wp := WavePlan{Name: w.Name, Clusters: w.Clusters, Batch: w.Batch, Implicit: w.Implicit, Changed: []string{}}
			if wp.Clusters == nil {
				wp.Clusters = []string{}
			}
			if w.Soak > 0 {
				wp.Soak = w.Soak.String()
			}
			for _, c := range w.Clusters {
				if on[c] {
					wp.Changed = append(wp.Changed, c)
				}
			}
			slices.Sort(wp.Changed)
			rp.Waves = append(rp.Waves, wp)
		}
		out = append(out, rp)
	}
	return out
}
