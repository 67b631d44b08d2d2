package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/status"
)

type statusOptions struct {
	revision string
	clusters []string
	output   string
}

func newStatusCommand() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [DIR]",
		Short: "Print the fleet's status as the reconciler last committed it (no cluster access needed)",
		Long: `Read status/clusters/*.yaml from the fleet repository in DIR (default: the current
directory) at --revision (default HEAD) and print, per cluster, the revision applied, the
phase, health, objects, drift and errors. The reconciler writes these files in status
commits; this command only reads the repository.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "table" && o.output != "json" {
				return fmt.Errorf("--output %q: expected table or json", o.output)
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			snap, err := reconciler.OpenSnapshot(cmd.Context(), dir, o.revision)
			if err != nil {
				return err
			}
			paths, err := fs.Glob(snap.FS, "status/clusters/*.yaml")
			if err != nil {
				return err
			}
			if len(paths) == 0 && o.output != "json" {
				fmt.Fprintf(cmd.OutOrStdout(), "%s has no status yet: gitfleet serve writes it after its first reconcile\n", dir)
				return nil
			}
			var clusters []status.Cluster
			for _, p := range paths {
				data, err := fs.ReadFile(snap.FS, p)
				if err != nil {
					return err
				}
				var c status.Cluster
				if err := yaml.Unmarshal(data, &c); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				if len(o.clusters) == 0 || slices.Contains(o.clusters, c.Cluster) {
					clusters = append(clusters, c)
				}
			}
			rollouts := status.ReadRollouts(snap.FS)
			if o.output == "json" {
				return printStatusJSON(cmd.OutOrStdout(), snap.FS, clusters, rollouts)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLUSTER\tREVISION\tPHASE\tHEALTH\tOBJECTS\tDRIFT\tERRORS")
			for _, c := range clusters {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", c.Cluster, shortRevision(c.Revision), c.Phase, c.Health, c.Objects, len(c.Drift), len(c.Errors))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, c := range clusters {
				for _, e := range c.Errors {
					fmt.Fprintf(cmd.OutOrStdout(), "\n%s: %s\n", c.Cluster, e)
				}
				for _, d := range c.Drift {
					fmt.Fprintf(cmd.OutOrStdout(), "\n%s: drift: %s (app %s) %s, %s\n", c.Cluster, d.Object, d.App, d.Change, d.Action)
				}
			}
			for _, name := range slices.Sorted(maps.Keys(rollouts)) {
				r := rollouts[name]
				fmt.Fprintf(cmd.OutOrStdout(), "\n%s\n", r.Summary())
				for _, line := range r.Progress() {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", line)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.revision, "revision", "", "git revision to read (default HEAD)")
	cmd.Flags().StringSliceVar(&o.clusters, "cluster", nil, "only these clusters")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table, or json: the clusters' and businesses' status files as one document (what serve's web view gives at /api/status)")
	return cmd
}

// printStatusJSON prints the status files as one status.Document: the clusters (already
// read and filtered) and every business.
func printStatusJSON(w io.Writer, files fs.FS, clusters []status.Cluster, rollouts map[string]status.Rollout) error {
	doc := status.Document{Clusters: clusters, Businesses: []status.Business{}}
	for _, name := range slices.Sorted(maps.Keys(rollouts)) {
		doc.Rollouts = append(doc.Rollouts, rollouts[name])
	}
	if doc.Clusters == nil {
		doc.Clusters = []status.Cluster{}
	}
	paths, err := fs.Glob(files, "status/businesses/*.yaml")
	if err != nil {
		return err
	}
	for _, p := range paths {
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		var b status.Business
		if err := yaml.Unmarshal(data, &b); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		doc.Businesses = append(doc.Businesses, b)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
