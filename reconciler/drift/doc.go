// Package drift notices, within about a fifth of a second, when someone changes or deletes
// an object gitfleet applied to a member cluster, and then applies it again (an App with
// drift: correct) or only reports it (drift: alert).
//
// One Watcher watches one cluster. It lists and watches (informers, no polling) only the
// kinds gitfleet applied there, and of those only objects labelled
// gitfleet.dev/fleet=<fleet>. SetDesired tells it, per App, what gitfleet applies; objects
// it does not list are ignored and kinds it does not list are not watched.
//
// What is drift:
//
//   - A deletion of a listed object. (An object that loses its gitfleet.dev/fleet label
//     leaves the watch too; it is looked up and treated as the label change it is.)
//   - A write by anyone else that changes or removes a field gitfleet manages. The API
//     server keeps, per field manager, the fields it owns (metadata.managedFields); a
//     field another manager changes or removes leaves gitfleet's entry, and a forced apply
//     by another manager takes the field the same way. So the watcher compares gitfleet's
//     entry before and after each write: fields gone from it are what the write took.
//     Writes that leave gitfleet's fields alone are not drift and cost nothing: a
//     controller writing status, an annotation or label someone else adds, a value written
//     again unchanged, a resync. gitfleet's own applies, which the server stamps with a new
//     time on gitfleet's entry, are never drift, even when they drop fields. Detection
//     needs no request to the API server: no GET, no dry run.
//   - A field gitfleet lost counts only while the desired object still holds it and
//     gitfleet has not applied it again meanwhile.
//
// Who changed it is the manager whose managedFields entry the write added or changed
// ("kubectl-edit", "kubectl-patch", "kube-controller-manager"). The API server records
// nobody for a deletion or for a write that only removed fields; those drifts name no one.
//
// The events of one object are gathered for Options.Debounce (200 ms) from the first one,
// so a command that writes several times is one drift, and continuous writes cannot
// postpone detection. Then, for drift: correct, the desired object is applied again with
// server-side apply under gitfleet's field manager, taking conflicting fields as
// gitfleet's apply does; the write happens even when the values are back already, so that
// gitfleet owns the fields again and the next change of them is seen too. A failed
// correction is reported at once and retried with backoff for about 16 s (a namespace
// being deleted takes a while before its objects can be created again).
//
// Every drift is logged, recorded as a Kubernetes Event on the object (events.k8s.io/v1,
// reportingController "gitfleet", reason DriftCorrected or DriftDetected, the note naming
// the fields and who changed them), and handed to Options.OnDrift.
//
// What is not seen: a change made while no watcher was running, or before the watch's
// first list. The reconciler's own apply compares every object and puts those back.
package drift
