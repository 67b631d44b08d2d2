package status

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Phase is a cluster's state as the last reconcile left it.
type Phase string

const (
	// Synced: the revision is applied and every App is healthy.
	Synced Phase = "Synced"
	// Progressing: applied, some objects are still rolling out.
	Progressing Phase = "Progressing"
	// Degraded: applied, but some App failed to render, apply or become healthy.
	Degraded Phase = "Degraded"
	// Unreachable: the cluster could not be reached; it keeps its last applied revision.
	Unreachable Phase = "Unreachable"
	// Failed: nothing could be applied (a configuration problem, the prune guard).
	Failed Phase = "Failed"
)

// Cluster is the content of status/clusters/<name>.yaml.
type Cluster struct {
	Cluster string `json:"cluster"`
	// Revision is the last revision applied to the cluster (kept across an outage).
	Revision string `json:"revision,omitempty"`
	// Attempted is the last revision gitfleet tried on the cluster: the phase and errors
	// are about it. It differs from Revision when that try failed.
	Attempted string `json:"attemptedRevision,omitempty"`
	Phase     Phase  `json:"phase"`
	Health    string `json:"health"`
	Objects   int    `json:"objects"`
	Apps      []App  `json:"apps,omitempty"`
	// Drift lists objects changed out of band since the last apply.
	Drift  []Drift  `json:"drift,omitempty"`
	Errors []string `json:"errors,omitempty"`
	// Machines are the last preflight check of a Baremetal cluster's machines.
	Machines []Machine `json:"machines,omitempty"`
}

// App is one App's state on a cluster.
type App struct {
	Name string `json:"name"`
	// Revision is the revision of the App on the cluster when it rolls out in waves and
	// differs from the cluster's revision (a wave not reached yet, a halted rollout).
	Revision string `json:"revision,omitempty"`
	Objects  int    `json:"objects"`
	Health   string `json:"health"`
	Error    string `json:"error,omitempty"`
}

// Drift is one object someone changed or deleted outside gitfleet.
type Drift struct {
	App    string `json:"app"`
	Object string `json:"object"`
	// Change is "modified" or "deleted".
	Change string `json:"change"`
	// Action is "corrected" (drift: correct) or "reported" (drift: alert).
	Action string `json:"action"`
	// By is who made the change, as the object's managedFields say, or "unknown" (a
	// deletion leaves no trace of who made it).
	By string `json:"by,omitempty"`
}

// Business is the content of status/businesses/<name>.yaml.
type Business struct {
	Business string `json:"business"`
	// Clusters lists, per cluster, each namespace's quota: hard and used, as Kubernetes
	// reports them in the namespace's ResourceQuota.
	Clusters []BusinessCluster `json:"clusters"`
}

// BusinessCluster is a business's namespaces on one cluster.
type BusinessCluster struct {
	Cluster    string           `json:"cluster"`
	Namespaces []NamespaceQuota `json:"namespaces"`
}

// NamespaceQuota is the live quota of one business namespace.
type NamespaceQuota struct {
	Namespace string            `json:"namespace"`
	Hard      map[string]string `json:"hard,omitempty"`
	Used      map[string]string `json:"used,omitempty"`
}

// Files renders the status files: path -> content. Clusters and businesses are sorted.
func Files(clusters []Cluster, businesses []Business) (map[string][]byte, error) {
	files := map[string][]byte{}
	header := "# Written by gitfleet after each reconcile; edits here are overwritten.\n"
	for _, c := range clusters {
		data, err := yaml.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("status of cluster %s: %w", c.Cluster, err)
		}
		files["status/clusters/"+c.Cluster+".yaml"] = append([]byte(header), data...)
	}
	for _, b := range businesses {
		data, err := yaml.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("status of business %s: %w", b.Business, err)
		}
		files["status/businesses/"+b.Business+".yaml"] = append([]byte(header), data...)
	}
	files["status/README.md"] = []byte(readme(clusters, businesses))
	return files, nil
}

func readme(clusters []Cluster, businesses []Business) string {
	var b strings.Builder
	b.WriteString("# Fleet status\n\nWritten by gitfleet after each reconcile that changed something; do not edit.\n\n")
	b.WriteString("| Cluster | Revision | Phase | Health | Objects | Drift | Errors |\n|---|---|---|---|---|---|---|\n")
	for _, c := range clusters {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %d |\n", c.Cluster, short(c.Revision), c.Phase, c.Health, c.Objects, len(c.Drift), len(c.Errors))
	}
	for _, c := range clusters {
		if len(c.Errors) == 0 && len(c.Drift) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", c.Cluster)
		for _, e := range c.Errors {
			fmt.Fprintf(&b, "- error: %s\n", oneLine(e))
		}
		for _, d := range c.Drift {
			by := ""
			switch d.By {
			case "":
			case "unknown":
				by = " by an unknown client"
			default:
				by = " by " + d.By
			}
			fmt.Fprintf(&b, "- drift: %s of app %s was %s outside gitfleet%s (%s)\n", d.Object, d.App, d.Change, by, d.Action)
		}
	}
	machinesReadme(&b, clusters)
	if len(businesses) > 0 {
		b.WriteString("\n## Business quotas\n\n| Business | Cluster | Namespace | Resource | Used | Hard |\n|---|---|---|---|---|---|\n")
		for _, bs := range businesses {
			for _, c := range bs.Clusters {
				for _, ns := range c.Namespaces {
					keys := make([]string, 0, len(ns.Hard))
					for k := range ns.Hard {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					for _, k := range keys {
						fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", bs.Business, c.Cluster, ns.Namespace, k, orDash(ns.Used[k]), ns.Hard[k])
					}
				}
			}
		}
	}
	return b.String()
}

// Message words a status commit for people reading the log, e.g.
// "status: gz-dev synced 3f2a1c9, bj-prod unreachable, 2 drifted".
func Message(clusters []Cluster) string {
	var parts []string
	drifted := 0
	for _, c := range clusters {
		parts = append(parts, fmt.Sprintf("%s %s", c.Cluster, strings.ToLower(string(c.Phase)))+revisionSuffix(c))
		drifted += len(c.Drift)
	}
	msg := "status: " + strings.Join(parts, ", ")
	if drifted > 0 {
		msg += fmt.Sprintf(", %d drifted", drifted)
	}
	return msg
}

func revisionSuffix(c Cluster) string {
	if c.Phase == Synced || c.Phase == Progressing || c.Phase == Degraded {
		return " " + short(c.Revision)
	}
	return ""
}

func short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Document is the whole fleet's status in one value: what `gitfleet status -o json`
// prints from the repository and what the web view's /api/status serves from the loop.
type Document struct {
	Clusters   []Cluster  `json:"clusters"`
	Businesses []Business `json:"businesses"`
	// Rollouts are the Apps that roll out in waves (status/rollouts/).
	Rollouts []Rollout `json:"rollouts,omitempty"`
}
