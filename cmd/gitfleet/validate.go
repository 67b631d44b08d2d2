package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gitfleet.dev/gitfleet/reconciler/machines"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

type validateOptions struct {
	limits   renderLimitFlags
	revision string
	previous string
	output   string
	secrets  secretFlags
	sopsKey  string
	charts   chartFlags
}

func newValidateCommand() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a fleet repository and report every problem with its file and line",
		Long: `Check every fleet file (apiVersion gitfleet.dev/v1alpha1) of the repository in DIR
(default: the current directory): unknown fields, wrong types, invalid names, references
to objects that do not exist, quotas that do not nest, secrets written in plain text, and
every limit of the TKEStack platform. Then every app is rendered for every cluster it
targets and the result is checked too: GPU and floating-IP requests only where the
cluster's addons serve them, vcuda units, cron schedules, TApp templates, and business
apps staying inside their business's namespaces.

In a git repository the committed tree of --revision (default HEAD) is checked. With
--previous REV (a pull request's base, say) Kubernetes version changes are checked against
that revision: one minor step or patch steps up, never down.

Exit status: 0 when the repository is valid, 1 when it has problems, 2 when it cannot be
read.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runValidate(cmd, dir, o)
		},
	}
	o.limits.add(cmd.Flags())
	cmd.Flags().StringVar(&o.revision, "revision", "", "git revision to check (default HEAD; ignored for a plain directory)")
	cmd.Flags().StringVar(&o.previous, "previous", "", "git revision to check version upgrades against (a pull request's base)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	o.secrets.addPolicy(cmd.Flags())
	o.secrets.addNamespace(cmd.Flags())
	addSopsKeyFlag(cmd.Flags(), &o.sopsKey)
	o.charts.add(cmd.Flags())
	return cmd
}

func runValidate(cmd *cobra.Command, dir string, o validateOptions) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("unknown --output %q: use text or json", o.output)
	}
	snap, err := reconciler.OpenSnapshot(cmd.Context(), dir, o.revision)
	if err != nil {
		return err
	}
	policy, err := o.secrets.policy(o.secrets.namespace, false)
	if err != nil {
		return err
	}
	dec, err := sopsDecryptor(o.sopsKey, dir)
	if err != nil {
		return err
	}
	// Offline: validate fetches nothing (CI without credentials, a laptop on a train); the
	// charts it cannot check are named.
	charts, err := o.charts.client(o.secrets.resolver(policy, nil), true, cmd.ErrOrStderr(), logr.Discard())
	if err != nil {
		return err
	}
	defer charts.Close()
	ro := o.limits.render(dec)
	ro.Charts = charts
	repo, list, checked, err := checkRepo(cmd.Context(), dir, snap, o.previous, o.limits.load(policy), ro)
	if err != nil {
		return err
	}
	// Warnings do not fail validation: a selector that matches no cluster today may be
	// waiting for a cluster a later pull request adds.
	warnings := schema.ErrorList{}
	if repo != nil {
		warnings = append(warnings, repo.Warnings()...)
	}
	if o.output == "json" {
		report := struct {
			Valid    bool                 `json:"valid"`
			Revision string               `json:"revision"`
			Problems []*schema.FieldError `json:"problems"`
			Warnings []*schema.FieldError `json:"warnings"`
		}{Valid: len(list) == 0, Revision: snap.Revision, Problems: list, Warnings: warnings}
		if report.Problems == nil {
			report.Problems = []*schema.FieldError{}
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		for _, e := range list {
			fmt.Fprintln(cmd.OutOrStdout(), e.Error())
		}
		// On standard error, as kubectl and helm print theirs: the report on standard
		// output stays the list of problems that fail the check.
		for _, w := range warnings {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s: warning: %s\n", w.Position, w.Field, w.Message)
		}
		if len(checked.unfetched) > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: %d remote chart(s) are not in the chart cache (%s) and validate does not fetch; the apps that use them were checked against the lock file but not rendered: run gitfleet render or gitfleet lock once to fetch them:\n  %s\n", len(checked.unfetched), o.charts.cacheDir, strings.Join(checked.unfetched, "\n  "))
		}
		if sealed := checked.sealed; len(sealed) > 0 {
			// Without the key only the files' structure could be checked; say so, so that
			// a pass is not read as more than it is.
			fmt.Fprintf(cmd.ErrOrStderr(), "note: %d sops-encrypted file(s) checked for structure only (%s); the apps that read them were not rendered: pass --sops-age-key-file to check them fully\n", len(sealed), strings.Join(sealed, ", "))
		}
		if len(list) == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid: %d cluster(s), %d app(s)\n", dir, len(repo.Clusters), len(repo.Apps))
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "%d problem(s)\n", len(list))
		}
	}
	if len(list) > 0 {
		return exitError{code: 1}
	}
	return nil
}

// checkRepo loads, validates and render-checks a snapshot, and checks version upgrades
// against a previous revision when one is given. Problems are returned as a list; err is
// for a repository that cannot be read at all.
// checkedParts are what a check could not look into.
type checkedParts struct {
	// sealed are the sops files checked for structure only (no key).
	sealed []string
	// unfetched are the remote charts not in the chart cache.
	unfetched []string
}

func checkRepo(ctx context.Context, dir string, snap *reconciler.Snapshot, previous string, opts schema.LoadOptions, ro render.Options) (*schema.Repo, schema.ErrorList, checkedParts, error) {
	var parts checkedParts
	repo, err := schema.LoadWithOptions(ctx, snap.FS, opts)
	if err == nil {
		// Clusters without a declared capacity are checked against what their machines
		// have, as the last machine checks recorded it in the status files.
		err = machines.CheckMeasuredCapacity(repo, machines.FactsFromStatus(snap.FS))
	}
	list := schema.AsErrorList(err)
	if err != nil && list == nil {
		return nil, nil, parts, fmt.Errorf("loading %s: %w", dir, err)
	}
	if len(list) > 0 {
		// Rendering a repository with broken fleet files would only add noise.
		return repo, list, parts, nil
	}
	renderer, err := render.NewWithOptions(ctx, snap.FS, repo, ro)
	if err != nil {
		return nil, nil, parts, err
	}
	list = append(list, renderer.Check(ctx)...)
	parts.sealed, parts.unfetched = renderer.SealedFiles(), renderer.UnfetchedCharts()
	if previous != "" {
		prevSnap, err := reconciler.OpenSnapshot(ctx, dir, previous)
		if err != nil {
			return nil, nil, parts, err
		}
		prevRepo, err := schema.LoadWithOptions(ctx, prevSnap.FS, opts)
		if err != nil && schema.AsErrorList(err) == nil {
			return nil, nil, parts, fmt.Errorf("loading %s at %s: %w", dir, previous, err)
		}
		// A previous revision with problems of its own still says which versions its
		// clusters had; those are all the upgrade check needs.
		if prevRepo != nil {
			list = append(list, schema.CheckUpgrades(prevRepo, repo)...)
		}
	}
	list.Sort()
	return repo, list, parts, nil
}
