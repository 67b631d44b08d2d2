package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/render"
)

type renderOptions struct {
	revision string
	clusters []string
	apps     []string
}

func newRenderCommand() *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Print the objects each cluster would get, as multi-document YAML",
		Long: `Render the fleet repository in DIR (default: the current directory) and print, per
cluster and app, the Kubernetes objects gitfleet would apply, sorted and identical from run
to run. Nothing is sent to any cluster.

An app that cannot be rendered is reported on stderr with its file and reason, the others
are still printed, and the exit status is 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runRender(cmd, dir, o)
		},
	}
	cmd.Flags().StringVar(&o.revision, "revision", "", "git revision to render (default HEAD; ignored for a plain directory)")
	cmd.Flags().StringSliceVar(&o.clusters, "cluster", nil, "render only these clusters (repeat or comma-separate)")
	cmd.Flags().StringSliceVar(&o.apps, "app", nil, "render only these apps (repeat or comma-separate)")
	return cmd
}

func runRender(cmd *cobra.Command, dir string, o renderOptions) error {
	ctx := cmd.Context()
	snap, repo, err := loadRepo(ctx, dir, o.revision, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	r, err := render.New(ctx, snap.FS, repo)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	failed := false
	for _, c := range repo.Clusters {
		if len(o.clusters) > 0 && !slices.Contains(o.clusters, c.Metadata.Name) {
			continue
		}
		for _, app := range r.Cluster(ctx, c).Apps {
			if len(o.apps) > 0 && !slices.Contains(o.apps, app.App.Metadata.Name) {
				continue
			}
			if app.Err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), app.Err)
				failed = true
				continue
			}
			for _, obj := range app.Objects {
				data, err := yaml.Marshal(obj.Object)
				if err != nil {
					return fmt.Errorf("printing %s/%s: %w", obj.GetKind(), obj.GetName(), err)
				}
				fmt.Fprintf(out, "---\n# cluster: %s, app: %s\n%s", c.Metadata.Name, app.App.Metadata.Name, data)
			}
		}
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}
