// Package reconcilebench measures the reconciler against real API servers from the
// harness, each figure next to a baseline measured in the same run (`make bench`):
//
//   - BenchmarkReconcile: three shapes (10 clusters x 1,000 ConfigMaps; one App whose
//     kustomization builds 2,000 objects; a Helm chart rendering 1,000 objects), each
//     applied three ways (first-apply into new namespaces, noop: the same revision again,
//     one-change: one ConfigMap's data changed), each next to two baselines in the same
//     run on the same API servers: baseline-raw-ssa, one server-side apply PATCH per
//     object with gitfleet's worker counts and no client-side limit (the ceiling), and
//     baseline-kubectl, `kubectl apply --server-side` built from the API server's own
//     Kubernetes release. gitfleet's sub-benchmarks report the write and dry-run requests
//     they sent per op. GITFLEET_BENCH_SCALE (default 1) scales the object counts.
//   - BenchmarkFleet: one replica's Loop (drift watch on) over 10, 30 and 100 member
//     clusters x 1,000 objects, the cluster entries sharing three real API servers (see
//     sharedServers for how they stay apart): first and no-op pass times, per cluster
//     and in all, peak heap and RSS, goroutines and open watches per cluster.
//     GITFLEET_BENCH_FLEET_SIZES (default 10,30,100) picks the sizes.
//   - BenchmarkDriftDetection: hand edits (field manager kubectl-edit) of objects gitfleet
//     applied, one at a time, while a Loop watches for drift. alert: the time until a
//     `drift: alert` app's drift is reported, next to a plain client-go informer seeing
//     the same edit (the floor of any watch-based detector); goal: median under 1 s.
//     correct: the time until a `drift: correct` app's object holds git's value again,
//     next to a minimal corrector (an informer answering each edit with one server-side
//     apply) putting back an edit of its own objects; goal: median under 100 ms. Each
//     reports median and worst in ms and the ratio of the medians.
package reconcilebench
