// Package remotechart takes Helm charts from Helm repositories (an index.yaml served over
// HTTP(S)) and OCI registries, pinned by the fleet repository's ChartLock.
//
// An App's chart, and every dependency a chart's Chart.yaml declares on such a
// repository without vendoring it in charts/, is named by repository, name and version
// constraint (a Ref). `gitfleet lock` resolves each constraint to one version and records
// it with the SHA-256 digest of the chart archive (Lock). Everything else reads only the
// lock: render fetches the locked version and refuses an archive whose digest differs (a
// tag pushed again with other content), and validate and plan refuse an App whose chart
// is not locked or whose lock entry no longer satisfies its constraint (Check).
//
// Archives are kept in a content-addressed cache on disk (Cache), shared by every
// gitfleet process on the machine: written under a temporary name and renamed into place,
// so a reader sees a whole archive or none, checked against their digest when read, and
// bounded in size (the least recently used are removed). A chart in the cache is never
// fetched again, so a repository or registry that is down stops only charts that were
// never fetched; their Apps fail to render, which keeps their clusters on what was
// applied last (nothing is applied or pruned from a failed render).
//
// Every request has a timeout and every response a size limit (Options). Credentials are
// references resolved when a request is made, sent only to the repository's own host,
// and never part of an error message.
package remotechart
