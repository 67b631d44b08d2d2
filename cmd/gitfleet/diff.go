package main

import (
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/reconciler/plan"
)

type diffOptions struct {
	limits     renderLimitFlags
	repo       string
	revision   string
	cluster    string
	kubeconfig string
	output     string
	secrets    secretFlags
	sopsKey    string
	charts     chartFlags
}

func newDiffCommand() *cobra.Command {
	o := diffOptions{output: "text"}
	cmd := &cobra.Command{
		Use:   "diff --cluster NAME --kubeconfig FILE [--repo DIR]",
		Short: "Show how a live cluster differs from the fleet repository (drift)",
		Long: `Compare one member cluster with what the fleet repository at --revision (default HEAD)
renders for it: every object is applied as a server-side dry run with gitfleet's field
manager, nothing is written. The output lists the objects apply would create, the fields
it would change (with the live value and the repository's; Secret values masked), and the
objects it would prune, from the inventories gitfleet recorded in the cluster. Fields
changed out of band (kubectl edit, another controller) show up here until the next apply
or drift correction resets them.

The cluster is reached through the --kubeconfig context named by its
spec.credentials.kubeconfigContext (default: the cluster's name).

Exit status: 0 when the cluster matches the repository, 1 when it differs, 2 when the
comparison could not be made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDiff(cmd, o) },
	}
	f := cmd.Flags()
	o.limits.add(f)
	f.StringVar(&o.repo, "repo", ".", "fleet repository (a git working tree or a plain directory)")
	f.StringVar(&o.revision, "revision", "", "git revision to compare with (default HEAD)")
	f.StringVar(&o.cluster, "cluster", "", "the cluster to compare (required)")
	f.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig with the cluster's context (default $KUBECONFIG)")
	f.StringVarP(&o.output, "output", "o", o.output, "report format: text or json")
	o.secrets.addPolicy(f)
	o.secrets.addNamespace(f)
	o.secrets.addDir(f)
	o.charts.add(f)
	addSopsKeyFlag(f, &o.sopsKey)
	return cmd
}

func runDiff(cmd *cobra.Command, o diffOptions) error {
	if o.cluster == "" {
		return fmt.Errorf("--cluster is required: name the cluster to compare")
	}
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unknown --output %q: use text or json", o.output)
	}
	conn, err := liveConnector(o.kubeconfig)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	rev := o.revision
	side, err := planSide(ctx, o.repo, rev)
	if err != nil {
		return err
	}
	if rev == "" {
		side.Ref = "HEAD"
	}
	opts := plan.DefaultOptions()
	opts.Live = conn
	policy, err := o.secrets.policy(o.secrets.namespace, false)
	if err != nil {
		return err
	}
	opts.Load = o.limits.load(policy)
	opts.Clusters = []string{o.cluster}
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
	// The repository against itself: nothing changes between the renders, so every
	// difference the dry run finds is the cluster's.
	report, err := plan.Plan(ctx, side, side, opts)
	if err != nil {
		return err
	}
	if len(report.Incomplete) > 0 {
		_ = writeReport(cmd.OutOrStdout(), report, o.output, 0)
		return exitError{code: 2}
	}
	if err := writeDiff(cmd, report, o.output); err != nil {
		return err
	}
	if c := report.Clusters[0]; len(c.Create)+len(c.Change)+len(c.Prune) > 0 {
		return exitError{code: 1}
	}
	return nil
}

// writeDiff prints the cluster's differences only: the plan's summary of two identical
// revisions would say nothing.
func writeDiff(cmd *cobra.Command, r *plan.Report, format string) error {
	if format == "json" {
		return plan.WriteJSON(cmd.OutOrStdout(), r)
	}
	w := cmd.OutOrStdout()
	if err := plan.WriteClusterText(w, r.Clusters[0], plan.TextOptions{Color: isTerminal(w) && os.Getenv("NO_COLOR") == ""}); err != nil {
		return err
	}
	if n := len(r.Violations); n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "the repository has %d problem(s) at %s: gitfleet apply refuses it; run gitfleet validate for the list\n", n, r.Head.Ref)
	}
	return nil
}
