// Package reconcilebench measures the reconciler against real API servers from the
// harness, each figure next to a baseline measured in the same run (`make bench`):
//
//   - BenchmarkNoopReconcile: applying an unchanged fleet of 10 clusters x 1,000 objects
//     again, next to `kubectl apply --server-side` of the same objects; it reports the
//     write requests (the goal is none) and the dry-run requests it needed.
//   - BenchmarkFirstApply: the first apply of the same fleet in objects per second, next
//     to a minimal loop of raw server-side apply PATCH requests to the same API servers,
//     the practical ceiling.
//   - BenchmarkDriftDetection: hand edits (field manager kubectl-edit) of objects gitfleet
//     applied, one at a time, while a Loop watches for drift. alert: the time until a
//     `drift: alert` app's drift is reported, next to a plain client-go informer seeing
//     the same edit (the floor of any watch-based detector); goal: median under 1 s.
//     correct: the time until a `drift: correct` app's object holds git's value again,
//     next to a minimal corrector (an informer answering each edit with one server-side
//     apply) putting back an edit of its own objects; goal: median under 100 ms. Each
//     reports median and worst in ms and the ratio of the medians.
package reconcilebench
