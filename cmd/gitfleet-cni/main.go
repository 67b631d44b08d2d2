// Command gitfleet-cni is the Galaxy addon's CNI plugin and its installer in one static
// binary.
//
// Run by the container runtime (CNI_COMMAND is set) it is the plugin: ADD, DEL, CHECK,
// STATUS and VERSION for the Galaxy network modes, see nodeplugins/cni.
//
// Run as the galaxy DaemonSet's container (no CNI_COMMAND) it is the installer: it copies
// itself to <bin-dir>/gitfleet-cni and the conflist to <conf-dir>, each atomically, then
// stays running, re-installing what changes, until SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/containernetworking/cni/pkg/skel"

	"gitfleet.dev/gitfleet/nodeplugins/cni"
)

func main() {
	if os.Getenv("CNI_COMMAND") != "" {
		// The runtime shows stderr only with a failure: warnings and errors only.
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		skel.PluginMainFuncs(cni.New(cni.Options{Logger: log}).Funcs(), cni.SupportedVersions, cni.About)
		return
	}
	if err := install(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gitfleet-cni:", err)
		os.Exit(1)
	}
}

func install(args []string) error {
	opts := cni.DefaultInstallOptions()
	fs := flag.NewFlagSet("gitfleet-cni", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gitfleet-cni [flags]\n\n"+
			"Installs the gitfleet CNI plugin (this binary) and its conflist on the node, then stays\n"+
			"running and re-installs them when they change. The container runtime runs the same\n"+
			"binary as the plugin, with CNI_COMMAND set.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.BinDir, "bin-dir", opts.BinDir, "the node's CNI binary directory, where the plugin is installed as gitfleet-cni")
	fs.StringVar(&opts.ConfDir, "conf-dir", opts.ConfDir, "the node's CNI configuration directory")
	fs.StringVar(&opts.Config, "config", opts.Config, "the conflist to install (the galaxy-cni-config ConfigMap's 00-galaxy.conflist)")
	fs.DurationVar(&opts.Resync, "resync", opts.Resync, "how often to compare the installed files with their sources")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary to install it: %w", err)
	}
	opts.Binary = self
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", os.Getenv("NODE_NAME"))
	opts.Logger = log

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("installing", "binDir", opts.BinDir, "confDir", opts.ConfDir, "config", opts.Config)
	return cni.RunInstaller(ctx, opts)
}
