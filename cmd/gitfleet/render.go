package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/render"
)

type renderOptions struct {
	limits    renderLimitFlags
	revision  string
	clusters  []string
	apps      []string
	outputDir string
	secrets   secretFlags
	sopsKey   string
	cache     renderCacheFlags
	charts    chartFlags
}

func newRenderCommand() *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Print the objects each cluster would get, as multi-document YAML",
		Long: `Render the fleet repository in DIR (default: the current directory) and print, per
cluster and app, the Kubernetes objects gitfleet would apply, sorted and identical from run
to run. Nothing is sent to any cluster. With -o DIR, each object is written to its own file,
DIR/CLUSTER/APP/KIND_NAMESPACE_NAME.yaml, for diffing two renders with ordinary tools.

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
	o.limits.add(cmd.Flags())
	cmd.Flags().StringVar(&o.revision, "revision", "", "git revision to render (default HEAD; ignored for a plain directory)")
	cmd.Flags().StringSliceVar(&o.clusters, "cluster", nil, "render only these clusters (repeat or comma-separate)")
	cmd.Flags().StringSliceVar(&o.apps, "app", nil, "render only these apps (repeat or comma-separate)")
	addSopsKeyFlag(cmd.Flags(), &o.sopsKey)
	cmd.Flags().StringVarP(&o.outputDir, "output-dir", "o", "", "write one file per object under this directory instead of printing")
	o.secrets.addPolicy(cmd.Flags())
	o.secrets.addNamespace(cmd.Flags())
	o.secrets.addDir(cmd.Flags())
	o.cache.add(cmd.Flags())
	o.charts.add(cmd.Flags())
	return cmd
}

func runRender(cmd *cobra.Command, dir string, o renderOptions) error {
	ctx := cmd.Context()
	policy, err := o.secrets.policy(o.secrets.namespace, false)
	if err != nil {
		return err
	}
	// Opened first: the load and the render share what it remembers of checked files.
	cache, err := o.cache.open(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	lo := o.limits.load(policy)
	lo.Passed = cache.Passed()
	snap, repo, err := loadRepo(ctx, dir, o.revision, lo, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	dec, err := sopsDecryptor(o.sopsKey, dir)
	if err != nil {
		return err
	}
	ro := o.limits.render(dec)
	ro.Cache = cache
	charts, err := o.charts.client(o.secrets.resolver(policy, nil), false, cmd.ErrOrStderr(), logr.Discard())
	if err != nil {
		return err
	}
	defer charts.Close()
	ro.Charts = charts
	r, err := render.NewWithOptions(ctx, snap.FS, repo, ro)
	if err != nil {
		return err
	}
	failed := false
	for _, c := range repo.Clusters {
		if len(o.clusters) > 0 && !slices.Contains(o.clusters, c.Metadata.Name) {
			continue
		}
		res := r.Cluster(ctx, c)
		kept := res.Apps[:0]
		for _, app := range res.Apps {
			switch {
			case len(o.apps) > 0 && !slices.Contains(o.apps, app.App.Metadata.Name):
			case app.Err != nil:
				fmt.Fprintln(cmd.ErrOrStderr(), app.Err)
				failed = true
			default:
				kept = append(kept, app)
			}
		}
		res.Apps = kept
		if err := writeRender(cmd.OutOrStdout(), o.outputDir, res); err != nil {
			return err
		}
	}
	if failed {
		return exitError{code: 1}
	}
	return nil
}

// writeRender prints a cluster's objects, or writes them one file each under dir.
func writeRender(stdout io.Writer, dir string, res render.ClusterResult) error {
	if dir == "" {
		return render.WriteYAML(stdout, res)
	}
	for _, app := range res.Apps {
		appDir := filepath.Join(dir, res.Cluster, app.App.Metadata.Name)
		if err := os.MkdirAll(appDir, 0o755); err != nil {
			return err
		}
		for _, obj := range app.Objects {
			data, err := yaml.Marshal(render.MaskSecret(obj).Object)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(appDir, render.ObjectFileName(obj)), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
