package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/plan"
)

type planOptions struct {
	limits     renderLimitFlags
	repo       string
	base       string
	head       string
	output     string
	live       bool
	kubeconfig string
	clusters   []string
	maxBytes   int
	secrets    secretFlags
	sopsKey    string
	cache      renderCacheFlags
	charts     chartFlags
}

func newPlanCommand() *cobra.Command {
	o := planOptions{head: "HEAD", output: "text", maxBytes: plan.DefaultMarkdownOptions().MaxBytes}
	cmd := &cobra.Command{
		Use:   "plan --base REV [--head REV] [--repo DIR] [-o text|markdown|json] [--live --kubeconfig FILE]",
		Short: "Show what a change to the fleet repository would do on every cluster, and the rules it breaks",
		Long: `Render the fleet repository at two revisions (a pull request's base and head) for every
cluster of either revision and report, per cluster, the objects applying head would
create, change (field by field; Secret values masked) and prune. Pruning follows each
App's prune setting, the Fleet's for Apps that no longer target a cluster, and the
gitfleet.dev/prune: disabled mark; a cluster removed from the repository is cleaned.

The report also lists every rule the head revision breaks, at its file and line there:
validation problems, quotas that do not fit their parent or the cluster's capacity (what
is asked for and what is available, on which cluster), tenancy violations, GPU requests
or addons the cluster does not serve, forbidden Kubernetes version steps from base to
head, and changes that would trip apply's prune guard.

With --live, head is compared with the member clusters themselves (each reached through
the --kubeconfig context named by its spec.credentials.kubeconfigContext): every object
is applied as a server-side dry run with gitfleet's field manager, so changes show what
the API server would store, defaults and other managers' fields included, and fields the
cluster already differs in (drift) are marked. Prunes then come from the inventories
gitfleet recorded in each cluster. Nothing is written to any cluster.

Output: text for a terminal (coloured when standard output is one), markdown for a pull
request comment (a summary table, details per cluster in collapsed sections, cut to
--max-bytes with a note of what was cut), or json (see the Report type of
gitfleet.dev/gitfleet/reconciler/plan; fields are only ever added).

Exit status: 0 when head breaks no rule, 1 when it does, 2 when the plan could not be
made (an unreadable revision, a cluster that --live could not reach).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd, o) },
	}
	f := cmd.Flags()
	o.limits.add(f)
	f.StringVar(&o.repo, "repo", ".", "fleet repository (a git working tree)")
	f.StringVar(&o.base, "base", "", "revision the change starts from: the pull request's base branch or commit (required)")
	f.StringVar(&o.head, "head", o.head, "revision with the change: the pull request's head or merge commit")
	f.StringVarP(&o.output, "output", "o", o.output, "report format: text, markdown or json")
	f.BoolVar(&o.live, "live", false, "compare head with the member clusters through a server-side dry run")
	f.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig with one context per cluster, for --live (default $KUBECONFIG)")
	f.StringSliceVar(&o.clusters, "cluster", nil, "plan only these clusters (repeat or comma-separate)")
	addSopsKeyFlag(f, &o.sopsKey)
	f.IntVar(&o.maxBytes, "max-bytes", o.maxBytes, "largest markdown report; GitHub refuses comments over 65536 characters")
	o.secrets.addPolicy(f)
	o.secrets.addNamespace(f)
	o.cache.add(f)
	o.charts.add(f)
	o.secrets.addDir(f)
	return cmd
}

func runPlan(cmd *cobra.Command, o planOptions) error {
	if o.output != "text" && o.output != "markdown" && o.output != "json" {
		return fmt.Errorf("unknown --output %q: use text, markdown or json", o.output)
	}
	if o.base == "" {
		return fmt.Errorf("--base is required: the revision the change starts from, such as origin/main")
	}
	opts := plan.DefaultOptions()
	opts.Clusters = o.clusters
	policy, err := o.secrets.policy(o.secrets.namespace, false)
	if err != nil {
		return err
	}
	opts.Load = o.limits.load(policy)
	dec, err := sopsDecryptor(o.sopsKey, o.repo)
	if err != nil {
		return err
	}
	opts.Render = o.limits.render(dec)
	charts, err := o.charts.client(o.secrets.resolver(policy, nil), false, cmd.ErrOrStderr(), logr.Discard())
	if err != nil {
		return err
	}
	defer charts.Close()
	opts.Render.Charts = charts
	// Both sides share it, as they would an in-memory one (see plan.Options.Render).
	if opts.Render.Cache, err = o.cache.open(cmd.ErrOrStderr()); err != nil {
		return err
	}
	if o.live {
		conn, err := liveConnector(o.kubeconfig)
		if err != nil {
			return err
		}
		opts.Live = conn
	}
	ctx := cmd.Context()
	base, err := planSide(ctx, o.repo, o.base)
	if err != nil {
		return err
	}
	head, err := planSide(ctx, o.repo, o.head)
	if err != nil {
		return err
	}
	report, err := plan.Plan(ctx, base, head, opts)
	if err != nil {
		return err
	}
	if err := writeReport(cmd.OutOrStdout(), report, o.output, o.maxBytes); err != nil {
		return err
	}
	if code := report.ExitCode(); code != 0 {
		return exitError{code: code}
	}
	return nil
}

// planSide reads one revision of the repository.
func planSide(ctx context.Context, dir, rev string) (plan.Side, error) {
	snap, err := reconciler.OpenSnapshot(ctx, dir, rev)
	if err != nil {
		return plan.Side{}, err
	}
	return plan.Side{Ref: rev, Commit: snap.Revision, FS: snap.FS}, nil
}

func liveConnector(kubeconfig string) (reconciler.Connector, error) {
	if kubeconfig == "" {
		return nil, fmt.Errorf("no kubeconfig: pass --kubeconfig FILE or set KUBECONFIG to reach the member clusters")
	}
	return reconciler.NewKubeconfigConnector(kubeconfig)
}

func writeReport(w io.Writer, r *plan.Report, format string, maxBytes int) error {
	switch format {
	case "json":
		return plan.WriteJSON(w, r)
	case "markdown":
		return plan.WriteMarkdown(w, r, plan.MarkdownOptions{MaxBytes: maxBytes})
	}
	return plan.WriteText(w, r, plan.TextOptions{Color: isTerminal(w) && os.Getenv("NO_COLOR") == ""})
}
