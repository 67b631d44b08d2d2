// Command gitfleet renders a fleet repository and applies it to member clusters.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"gitfleet.dev/gitfleet/render"
)

// exitError carries an exit code through cobra without printing anything more: the
// command already told the user what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == render.HelmChildArg {
		// A render process that gitfleet started for one Helm chart (render.Isolation).
		os.Exit(render.RunHelmChild(os.Stdin, os.Stdout))
	}
	// go-git reads ~/.ssh/config by default: a hidden input that could send the fleet
	// repository's SSH connection elsewhere. Hosts, ports and keys come from flags only.
	gitssh.DefaultSSHConfig = nil
	setLibraryLoggers(newLogger(os.Stderr, true))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	var exit exitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(2)
	}
}

// setLibraryLoggers sends what controller-runtime and client-go (klog) log to gitfleet's
// own structured logger, in gitfleet's format: without it, controller-runtime drops its
// logs and prints a stack trace saying log.SetLogger was never called, and klog writes its
// own format. klog's verbosity (-v, 0) still decides which of its lines are logged.
func setLibraryLoggers(log logr.Logger) {
	ctrllog.SetLogger(log)
	klog.SetLogger(log)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gitfleet",
		Short: "GitOps for a fleet of Kubernetes clusters, from one git repository",
		Long: `gitfleet keeps a fleet of Kubernetes clusters in the state that one git repository,
the fleet repo, describes: clusters and their machines, businesses with quotas per
cluster, namespaces, addons, alert rules, and apps (kustomize or Helm) and where each goes.

  gitfleet validate DIR                      check a fleet repo; every problem with file and line
  gitfleet lock DIR                          pin remote Helm charts to a version and digest
  gitfleet render DIR --cluster NAME         print the objects a cluster would get
  gitfleet plan --base REV [--head REV]      what a change does on every cluster, and the rules it breaks
  gitfleet apply --repo DIR --kubeconfig F   apply the repo to every cluster it declares
  gitfleet diff --cluster NAME               how a live cluster differs from the repository (drift)
  gitfleet serve --repo-url URL              the reconciler: follow the repo, apply, commit status
  gitfleet status [DIR]                      the status gitfleet last committed
  gitfleet machines check --repo DIR         check the declared machines over SSH
  gitfleet install --images FILE --repo-url URL [--apply]   the objects that run gitfleet itself
  gitfleet bootstrap --images FILE --repo-url URL           install gitfleet and make it manage itself from the repo
  gitfleet version                           the version this binary was built from`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newValidateCommand(), newLockCommand(), newRenderCommand(), newPlanCommand(), newDiffCommand(), newApplyCommand(), newSchemaCommand(), newStatusCommand(), newServeCommand(), newMachinesCommand(), newInstallCommand(), newBootstrapCommand(), newVersionCommand())
	return root
}
