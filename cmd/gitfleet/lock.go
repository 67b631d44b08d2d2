package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

type lockOptions struct {
	limits  renderLimitFlags
	secrets secretFlags
	charts  chartFlags
	update  bool
}

func newLockCommand() *cobra.Command {
	var o lockOptions
	cmd := &cobra.Command{
		Use:   "lock [DIR]",
		Short: "Pin every remote Helm chart of the fleet repository to a version and digest",
		Long: `Resolve the charts that Apps take from Helm repositories and OCI registries
(spec.source.helm.repository), and the dependencies their Chart.yaml declares on such
repositories without vendoring them, and write the exact version and the SHA-256 digest
of each chart archive to the repository's lock file (` + schema.ChartLockFile + ` at the top of
DIR unless the repository already has a ChartLock elsewhere). Commit it with the change:
validate and plan refuse an App whose chart is not locked, and render, plan and serve
fetch only the locked version and refuse an archive with another digest.

DIR's files are read as they are on disk (uncommitted changes included), since the lock
is written to go with them. A chart already locked for the same version constraint keeps
its version; --update resolves every constraint again (the newest version each allows).
Every chart fetched is kept in --chart-cache-dir, so a later validate can check it
offline.

Credentials for a repository are read as the App's spec.source.helm.auth refers to them:
{env: VAR} (VAR must start with an allowed prefix) and {file: PATH} under --secrets-dir.

Exit status: 0 when the lock file is up to date (rewritten or unchanged), 1 when a chart
could not be resolved (nothing is written), 2 when the repository cannot be read.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runLock(cmd, dir, o)
		},
	}
	f := cmd.Flags()
	o.limits.add(f)
	o.secrets.addPolicy(f)
	o.secrets.addNamespace(f)
	o.secrets.addDir(f)
	o.charts.add(f)
	f.BoolVar(&o.update, "update", false, "resolve every version constraint again, also those already locked")
	return cmd
}

func runLock(cmd *cobra.Command, dir string, o lockOptions) error {
	ctx := cmd.Context()
	policy, err := o.secrets.policy(o.secrets.namespace, true)
	if err != nil {
		return err
	}
	fsys := os.DirFS(dir)
	repo, err := schema.LoadWithOptions(ctx, fsys, o.limits.load(policy))
	if list := schema.AsErrorList(err); list != nil {
		for _, e := range list {
			fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d problem(s); the lock file was not written\n", dir, len(list))
		return exitError{code: 1}
	}
	if err != nil {
		return fmt.Errorf("loading %s: %w", dir, err)
	}
	charts, err := o.charts.client(o.secrets.resolver(policy, nil), false, cmd.ErrOrStderr(), logr.Discard())
	if err != nil {
		return err
	}
	defer charts.Close()
	lock, changes, err := render.LockCharts(ctx, fsys, repo, charts, render.LockOptions{Update: o.update, Limits: o.limits.limits.YAML})
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), err)
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: the lock file was not written\n", dir)
		return exitError{code: 1}
	}
	file := schema.ChartLockFile
	if old := repo.Lock(); old != nil {
		file = old.Origin.File
	} else if len(lock.Spec.Charts) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s uses no remote charts; no lock file is needed\n", dir)
		return nil
	}
	for _, c := range changes {
		fmt.Fprintln(cmd.OutOrStdout(), c)
	}
	if len(changes) == 0 && repo.Lock() != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date: %d chart(s)\n", file, len(lock.Spec.Charts))
		return nil
	}
	data, err := schema.MarshalChartLock(lock)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(file)), data); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d chart(s); commit it with the change\n", file, len(lock.Spec.Charts))
	return nil
}

// writeFileAtomic replaces a file so that a reader (an editor, a concurrent validate)
// never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lock-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
