// Package reconcilebench measures the reconciler against real API servers from the
// harness, each figure next to a baseline measured in the same run (`make bench`):
//
//   - BenchmarkNoopReconcile: applying an unchanged fleet of 10 clusters x 1,000 objects
//     again, next to `kubectl apply --server-side` of the same objects; it reports the
//     write requests (the goal is none) and the dry-run requests it needed.
//   - BenchmarkFirstApply: the first apply of the same fleet in objects per second, next
//     to a minimal loop of raw server-side apply PATCH requests to the same API servers,
//     the practical ceiling.
//   - BenchmarkDriftDetection: how long a hand edit of a managed object stays before the
//     drift watch puts it back, median and worst (goal: under 2 s).
package reconcilebench
