package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// fromFieldErrors turns the problems validation or the upgrade check found into
// violations. A problem the schema marked with a kind (a quota overrun, a tenancy or
// GPU-addon rule) is reported under that kind, with the overrun's numbers; the others
// under the kind given.
func fromFieldErrors(list schema.ErrorList, kind ViolationKind) []Violation {
	out := make([]Violation, 0, len(list))
	for _, e := range list {
		v := Violation{Kind: violationKind(e.Kind, kind), File: e.File, Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Message}
		if q := e.Quota; q != nil {
			v.Cluster = q.Cluster
			v.Quota = &QuotaOverrun{Cluster: q.Cluster, Resource: q.Resource, Asked: q.Asked, Available: q.Available}
		}
		out = append(out, v)
	}
	return out
}

// violationKind is the report's kind for a problem of the given schema kind; fallback
// when the schema gave it none.
func violationKind(k schema.ProblemKind, fallback ViolationKind) ViolationKind {
	switch k {
	case schema.ProblemQuota:
		return KindQuota
	case schema.ProblemTenancy:
		return KindTenancy
	case schema.ProblemGPUAddon:
		return KindGPUAddon
	case schema.ProblemUpgrade:
		return KindUpgrade
	}
	return fallback
}

// checkRendered applies the workload and tenancy rules to a cluster's head render, as
// `gitfleet validate` does, keeping the cluster and the object with each problem.
func checkRendered(repo *schema.Repo, c *schema.Cluster, res *render.ClusterResult) []Violation {
	facts := schema.ClusterFacts{
		Name:               c.Metadata.Name,
		GPUManager:         repo.HasAddon(c, schema.AddonGPUManager),
		NvidiaDevicePlugin: repo.HasAddon(c, schema.AddonNvidiaDevicePlugin),
		GalaxyIPAM:         repo.HasAddon(c, schema.AddonGalaxyIPAM),
	}
	cluster := c.Metadata.Name
	var out []Violation
	for _, app := range res.Apps {
		origin := appOrigin(repo, app.App)
		at := func(kind ViolationKind, object, msg string) Violation {
			pos := origin.Pos("spec.source")
			return Violation{Kind: kind, File: pos.File, Line: pos.Line, Column: pos.Column, Field: "spec.source", Cluster: cluster, Object: object, Message: msg}
		}
		if app.Err != nil {
			// A problem in a fleet file (an addon's, an alert policy's) is reported at its
			// own file and field.
			if list := schema.AsErrorList(app.Err); list != nil {
				out = append(out, fromFieldErrors(list, KindValidation)...)
				continue
			}
			msg := app.Err.Error()
			var rerr *render.Error
			if errors.As(app.Err, &rerr) {
				msg = rerr.Err.Error()
			}
			out = append(out, at(KindRender, "", fmt.Sprintf("app %s cannot be rendered for cluster %s: %s", app.App.Metadata.Name, cluster, msg)))
			continue
		}
		for _, p := range schema.CheckWorkloads(app.Objects, facts) {
			out = append(out, at(violationKind(p.Kind, KindWorkload), p.Object, p.Field+": "+p.Message))
		}
		if b := app.App.Spec.Business; b != "" {
			var owned []string
			for _, ns := range repo.NamespacesOf(b) {
				if ns.Spec.Cluster == cluster {
					owned = append(owned, ns.Metadata.Name)
				}
			}
			for _, p := range schema.CheckTenancy(app.Objects, b, owned) {
				out = append(out, at(violationKind(p.Kind, KindTenancy), p.Object, p.Field+": "+p.Message))
			}
		}
	}
	return out
}

// appOrigin is where an App was declared; for the units gitfleet generates, the file
// they come from (an Addon's).
func appOrigin(repo *schema.Repo, app *schema.App) schema.Origin {
	if name, ok := strings.CutPrefix(app.Metadata.Name, render.UnitAddonPrefix); ok && app.Origin.File == "" {
		if a := repo.Addon(name); a != nil {
			return a.Origin
		}
	}
	return app.Origin
}

// pruneGuard reports a cluster plan that apply would refuse: more prunes than the guard
// allows of the objects gitfleet manages there (managed: the base render, or with --live
// the inventories recorded in the cluster). A cluster removed from the repository is
// cleaned without the guard, as reconciler.RemoveCluster does.
func pruneGuard(g reconciler.PruneGuard, cp *ClusterPlan, managed int, c *schema.Cluster) *Violation {
	prune := len(cp.Prune)
	if g.AllowMassPrune || c == nil || prune < g.MinObjects || managed == 0 || float64(prune) <= g.MaxFraction*float64(managed) {
		return nil
	}
	pos := c.Origin.Pos("metadata.name")
	return &Violation{
		Kind: KindPruneGuard, File: pos.File, Line: pos.Line, Column: pos.Column, Field: "metadata.name", Cluster: c.Metadata.Name,
		Message: fmt.Sprintf("this change prunes %d of the %d objects gitfleet manages on cluster %s, more than %.0f%%: apply refuses it unless run with --allow-mass-prune; check that nothing was removed by mistake",
			prune, managed, c.Metadata.Name, g.MaxFraction*100),
	}
}

// finishViolations removes repeats (a broken addon file fails the render of every
// cluster it targets, and validation has reported it already: it is one problem) and
// sorts by position.
func finishViolations(vs []Violation) []Violation {
	type key struct {
		file, field, cluster, object, message string
		line, column                          int
	}
	seen := map[key]bool{}
	out := make([]Violation, 0, len(vs))
	for _, v := range vs {
		k := key{v.File, v.Field, v.Cluster, v.Object, v.Message, v.Line, v.Column}
		if !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return lessViolation(out[i], out[j]) })
	return out
}

func lessViolation(a, b Violation) bool {
	switch {
	case a.File != b.File:
		return a.File < b.File
	case a.Line != b.Line:
		return a.Line < b.Line
	case a.Column != b.Column:
		return a.Column < b.Column
	case a.Field != b.Field:
		return a.Field < b.Field
	case a.Cluster != b.Cluster:
		return a.Cluster < b.Cluster
	case a.Object != b.Object:
		return a.Object < b.Object
	}
	return a.Message < b.Message
}
