// Package status turns the results of an apply into the files gitfleet commits under
// status/ in the fleet repository: status/clusters/<name>.yaml (the revision applied,
// phase, health, objects per App, drift and errors), status/businesses/<name>.yaml (quota
// used against hard, from the live ResourceQuotas) and status/README.md, a table people
// read in the git host's web view.
//
// The files hold nothing that changes without a reason a person cares about (no
// timestamps, no counts of what the last apply happened to touch), so that writing them
// again after an uneventful reconcile produces identical bytes and no commit.
package status
