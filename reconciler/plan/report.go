package plan

import (
	"fmt"
	"strings"
)

// Report is what a pull request would do to the fleet: per cluster, the objects created,
// changed and pruned, and every rule the head revision breaks. It is computed once and
// written as text, markdown or JSON; its JSON form (WriteJSON) is a stable interface for
// CI tools: fields are only ever added.
type Report struct {
	// Base and Head are the two revisions compared.
	Base Revision `json:"base"`
	Head Revision `json:"head"`
	// Live is true when Create, Change and Prune come from the member clusters (a
	// server-side dry-run apply of the head render and the inventories recorded there)
	// rather than from comparing the two renders.
	Live bool `json:"live"`
	// Summary adds up the clusters.
	Summary Summary `json:"summary"`
	// Clusters are sorted by name: those of the head revision, and those the change
	// removes.
	Clusters []ClusterPlan `json:"clusters"`
	// Violations are the rules the head revision breaks, sorted by file and line.
	Violations []Violation `json:"violations"`
	// Incomplete lists what could not be planned (a cluster that could not be reached
	// with --live, say); a report with entries here exits with status 2.
	Incomplete []string `json:"incomplete"`
	// Charts are the remote Helm charts whose lock entry the change adds, moves or
	// removes: a chart bump shows its versions here and its objects per cluster.
	Charts []ChartChange `json:"charts,omitempty"`
	// Rollouts are the Apps the change touches that roll out in waves: which clusters
	// get it in which wave. Clusters no wave selects are in a last, implicit wave.
	Rollouts []RolloutPlan `json:"rollouts,omitempty"`
}

// RolloutPlan is the wave schedule of one App's change.
type RolloutPlan struct {
	App   string     `json:"app"`
	Waves []WavePlan `json:"waves"`
}

// WavePlan is one wave: its clusters, those among them the change touches, how many are
// updated at once and how long the wave soaks.
type WavePlan struct {
	Name     string   `json:"name"`
	Clusters []string `json:"clusters"`
	Changed  []string `json:"changed"`
	Batch    int      `json:"batch"`
	Soak     string   `json:"soak,omitempty"`
	// Implicit: the clusters no declared wave selects.
	Implicit bool `json:"implicit,omitempty"`
}

func (w WavePlan) String() string {
	s := fmt.Sprintf("%s: %s", w.Name, strings.Join(w.Clusters, ", "))
	if len(w.Clusters) == 0 {
		s = w.Name + ": no cluster"
	}
	s += fmt.Sprintf(" (%d changed; %d at a time", len(w.Changed), w.Batch)
	if w.Soak != "" {
		s += ", soak " + w.Soak
	}
	s += ")"
	if w.Implicit {
		s += " - clusters in no wave go last"
	}
	return s
}

// ChartChange is one remote chart whose locked version differs between base and head.
type ChartChange struct {
	Repository string `json:"repository"`
	Chart      string `json:"chart"`
	Constraint string `json:"constraint"`
	// Base and Head are the locked versions; empty where the revision has none.
	Base string `json:"base,omitempty"`
	Head string `json:"head,omitempty"`
}

func (c ChartChange) String() string {
	from, to := c.Base, c.Head
	if from == "" {
		from = "(none)"
	}
	if to == "" {
		to = "(removed)"
	}
	return fmt.Sprintf("chart %s %s from %s: %s -> %s", c.Chart, c.Constraint, c.Repository, from, to)
}

// Revision names one side of the plan.
type Revision struct {
	// Ref is the revision as it was asked for (a branch, a tag, a commit).
	Ref string `json:"ref"`
	// Commit is the commit it resolved to, or "working-tree" for a plain directory.
	Commit string `json:"commit"`
}

// Summary counts the whole plan.
type Summary struct {
	Clusters   int `json:"clusters"`
	Create     int `json:"create"`
	Change     int `json:"change"`
	Prune      int `json:"prune"`
	Violations int `json:"violations"`
	// Renders is how many kustomize builds and Helm templates ran for both revisions;
	// Reused how many were answered from an identical earlier build (the base's, for
	// whatever the change did not touch).
	Renders int64 `json:"renders"`
	Reused  int64 `json:"reused"`
}

// ClusterPlan is what the change does to one cluster.
type ClusterPlan struct {
	Name string `json:"name"`
	// State is added (only in head), removed (only in base: everything gitfleet put there
	// is deleted), changed or unchanged.
	State ClusterState `json:"state"`
	// Create, Change, Prune and Kept are sorted by App, kind, namespace and name.
	Create []ObjectChange `json:"create"`
	Change []ObjectChange `json:"change"`
	Prune  []ObjectChange `json:"prune"`
	// Kept are objects the head revision no longer renders that are not deleted: their
	// App (or the Fleet, for a removed App) has prune: false, or they are marked
	// gitfleet.dev/prune: disabled. Reason says which.
	Kept []ObjectChange `json:"kept"`
	// Unchanged counts the objects rendered identically (or, with --live, that the dry
	// run left as they are).
	Unchanged int `json:"unchanged"`
	// Violations counts the report's violations that name this cluster.
	Violations int `json:"violations"`
	// Notes say what the plan of this cluster could not see (an App whose base render
	// failed, a live comparison that failed).
	Notes []string `json:"notes"`
}

// ClusterState says whether a cluster is added, removed or kept by the change.
type ClusterState string

const (
	ClusterAdded     ClusterState = "added"
	ClusterRemoved   ClusterState = "removed"
	ClusterChanged   ClusterState = "changed"
	ClusterUnchanged ClusterState = "unchanged"
)

// ObjectChange is one object the change creates, changes, prunes or keeps.
type ObjectChange struct {
	App        string `json:"app"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// FromApp is the App that rendered the object in the base revision when another App
	// renders it in head (it moves; nothing is deleted).
	FromApp string `json:"fromApp,omitempty"`
	// Fields are the changed fields of a changed object, sorted by path. Secret values
	// are masked.
	Fields []FieldChange `json:"fields,omitempty"`
	// Reason says why a kept object is not pruned.
	Reason string `json:"reason,omitempty"`
}

// ID is kind, namespace and name as kubectl writes them: Kind/namespace/name.
func (o ObjectChange) ID() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return fmt.Sprintf("%s/%s/%s", o.Kind, o.Namespace, o.Name)
}

// FieldChange is one field of an object that differs.
type FieldChange struct {
	// Path is the field's path: spec.replicas, data["app.conf"],
	// spec.template.spec.containers[name=web].image.
	Path string `json:"path"`
	// Old and New are the values as JSON; empty when the field is added or removed.
	// Secret data is written as "***".
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Drift, only with --live, marks a difference the change under review does not make:
	// the cluster differs from the base revision there already (an edit made out of
	// band, or a field another field manager set), and applying head would reset it.
	Drift bool `json:"drift,omitempty"`
}

// Violation is one rule the head revision breaks, at its file and line there.
type Violation struct {
	Kind ViolationKind `json:"kind"`
	// File, Line and Column are where in the head revision; Line is 0 when the problem is
	// with a whole file.
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Field is the path of the field inside its fleet file.
	Field string `json:"field,omitempty"`
	// Cluster is the cluster the problem is on, when it is about one.
	Cluster string `json:"cluster,omitempty"`
	// Object is Kind/namespace/name of the rendered object at fault, when there is one.
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
	// Quota carries the numbers of a quota overrun.
	Quota *QuotaOverrun `json:"quota,omitempty"`
}

// Position is file:line:column as editors and CI annotations read it.
func (v Violation) Position() string {
	switch {
	case v.Line == 0:
		return v.File
	case v.Column == 0:
		return fmt.Sprintf("%s:%d", v.File, v.Line)
	}
	return fmt.Sprintf("%s:%d:%d", v.File, v.Line, v.Column)
}

// QuotaOverrun is what is asked for and what is available of one resource.
type QuotaOverrun struct {
	Cluster  string `json:"cluster"`
	Resource string `json:"resource"`
	// Asked is what the children, namespaces or top-level businesses add up to.
	Asked string `json:"asked"`
	// Available is the quota (or capacity times overcommit) they must fit in.
	Available string `json:"available"`
}

// ViolationKind groups violations for the reader.
type ViolationKind string

const (
	// KindValidation is any problem `gitfleet validate` reports that has no kind below.
	KindValidation ViolationKind = "validation"
	// KindQuota is a quota that does not fit in its parent's or the cluster's capacity.
	KindQuota ViolationKind = "quota"
	// KindTenancy is a business App reaching outside its business's namespaces.
	KindTenancy ViolationKind = "tenancy"
	// KindGPUAddon is a GPU request or addon that the cluster's GPU type or addons do
	// not serve.
	KindGPUAddon ViolationKind = "gpu-addon"
	// KindWorkload is a rendered workload that breaks one of the platform's rules.
	KindWorkload ViolationKind = "workload"
	// KindRender is an App that cannot be rendered for a cluster.
	KindRender ViolationKind = "render"
	// KindUpgrade is a Kubernetes version change the upgrade rules forbid.
	KindUpgrade ViolationKind = "upgrade"
	// KindPruneGuard is a plan that would prune most of a cluster's objects: apply
	// refuses it without --allow-mass-prune.
	KindPruneGuard ViolationKind = "prune-guard"
)

// ExitCode is the plan's exit status: 2 when something could not be planned, 1 when the
// head revision breaks a rule, 0 otherwise.
func (r *Report) ExitCode() int {
	switch {
	case len(r.Incomplete) > 0:
		return 2
	case len(r.Violations) > 0:
		return 1
	}
	return 0
}
