package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/schema"
)

type validateOptions struct {
	revision string
	output   string
}

func newValidateCommand() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a fleet repository and report every problem with its file and line",
		Long: `Check every fleet file (apiVersion gitfleet.dev/v1alpha1) of the repository in DIR
(default: the current directory): unknown fields, wrong types, invalid names, references
to clusters or apps that do not exist, and source directories without a kustomization.

In a git repository the committed tree of --revision (default HEAD) is checked. Exit
status: 0 when the repository is valid, 1 when it has problems, 2 when it cannot be read.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runValidate(cmd, dir, o)
		},
	}
	cmd.Flags().StringVar(&o.revision, "revision", "", "git revision to check (default HEAD; ignored for a plain directory)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
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
	repo, err := schema.Load(cmd.Context(), snap.FS)
	list := schema.AsErrorList(err)
	if err != nil && list == nil {
		return fmt.Errorf("loading %s: %w", dir, err)
	}
	if o.output == "json" {
		report := struct {
			Valid    bool                 `json:"valid"`
			Revision string               `json:"revision"`
			Problems []*schema.FieldError `json:"problems"`
		}{Valid: len(list) == 0, Revision: snap.Revision, Problems: list}
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
