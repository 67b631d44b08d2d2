// Package plan tells a reviewer what a pull request to the fleet repository will do before
// it is merged: `gitfleet plan --base REV --head REV` and `gitfleet diff --cluster NAME`.
//
// Both revisions are loaded and rendered for every cluster either declares, base first and
// then head through the same render cache, so that head reuses every build the change did
// not touch (a quota change on a 100-cluster fleet renders nothing twice). Each cluster's
// renders are then compared object by object, by group, kind, namespace and name, the way
// apply would act had base been applied:
//
//   - an object only head renders is created; one both render differently is changed, and
//     its fields are listed with their old and new values (Secret data and stringData
//     masked); one that moves from an App to another is a change, not a prune and a
//     create, because apply relabels it before it prunes;
//   - an object only base renders is pruned when its App's prune setting says so (the
//     Fleet's for an App that no longer targets the cluster), and kept, with the reason,
//     when prune is off or the object is marked gitfleet.dev/prune: disabled;
//   - an App whose head render fails is neither applied nor pruned by apply, so none of its
//     objects appear; the failure is a violation;
//   - a cluster removed from the repository is cleaned of everything, without the prune
//     guard (reconciler.RemoveCluster); an added cluster gets everything created.
//
// With Options.Live the head render is also sent to each member cluster as a server-side
// dry-run apply with gitfleet's field manager (fluxcd/pkg/ssa's Diff): creates and changes
// are then what the API server would store, so a field set to its default value is no
// change, a field another manager set or someone edited by hand shows up, marked as drift
// when the change under review does not touch it, and prunes come from the inventories
// gitfleet recorded in the cluster. Nothing is written.
//
// The violations are every rule the head revision breaks, each at its file and line
// there: validation problems, quota overruns (with what is asked for and what is
// available, on which cluster), tenancy, GPU requests or addons the cluster does not
// serve, other workload rules, Kubernetes version steps from base to head that the
// upgrade rules forbid, and prune-guard hits (apply would refuse the plan without
// --allow-mass-prune). A head revision with violations is still planned: the reviewer
// sees what it would do, and apply refuses it until they are fixed.
//
// The Report is computed once and written as text (WriteText), as a pull-request comment
// (WriteMarkdown: a summary table, details per cluster in collapsed sections, cut to a
// size with a note of what was cut) or as JSON (WriteJSON). Report.ExitCode is the
// command's exit status: 0 clean, 1 violations, 2 incomplete.
package plan
