// Package view is gitfleet serve's read-only web view of the fleet: a matrix of clusters
// by apps (health, sync state, applied revision, drift), a page per cluster (apps,
// errors, machines and their checks, addons, Kubernetes version), a page per business
// (quota used against hard per cluster, namespaces, members), the drift seen (what, when,
// who, corrected or only reported) and the recent revisions (what each pass of a commit
// did, and on which clusters it is applied now).
//
// Every page is rendered on the server with html/template from files embedded in the
// binary, so the view works without a network beyond the server itself: no CDN, no build
// step. One small script (assets/live.js) listens to /events (server-sent events) and
// refetches the page when the loop's state changes, so a drift or a new revision shows
// up without a reload; without JavaScript the pages are complete, only not live.
//
// Every page has a JSON twin under /api/ with the same data; /api/status is what
// `gitfleet status -o json` prints from the repository (status.Document), here from the
// loop's memory, which is newer than the last status commit.
//
// The view reads the loop's state only through Source (a snapshot and a change
// notification): it never writes, so it is safe to serve on every replica.
package view
