package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/reconciler/status"
)

type machinesCheckOptions struct {
	repo, revision        string
	clusters              []string
	knownHosts            string
	output                string
	concurrency           int
	dialTimeout           time.Duration
	commandTimeout        time.Duration
	management            managementFlags
	verbose, showAllCheck bool
}

// newMachinesCommand is `gitfleet machines`, with its one verb, check.
func newMachinesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "machines",
		Short: "Work with the machines (SSH-reached nodes) of Baremetal clusters",
		Args:  cobra.NoArgs,
		// A failed check is an exit status, not a usage mistake.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newMachinesCheckCommand())
	return cmd
}

func newMachinesCheckCommand() *cobra.Command {
	defaults := machines.DefaultOptions()
	home, _ := os.UserHomeDir()
	o := machinesCheckOptions{
		repo: ".", output: "table", knownHosts: filepath.Join(home, ".ssh", "known_hosts"),
		concurrency: defaults.Concurrency, dialTimeout: defaults.DialTimeout, commandTimeout: defaults.CommandTimeout,
	}
	cmd := &cobra.Command{
		Use:   "check [--repo DIR] [--cluster NAME] [--known-hosts FILE] [-o table|json]",
		Short: "Check the declared machines over SSH now, against TKEStack's host requirements",
		Long: `Log in to every machine that the fleet repository declares (spec.machines of each
Cluster, or of those named with --cluster), read its facts (OS, kernel, CPUs, memory,
disks, GPUs) and check it against TKEStack's host requirements: OS and kernel version
(3.10.0-957.10.1 or later), CPU and memory for its role (Global cluster 8 cores/16G;
business cluster masters 4 cores/8G, nodes 8 cores/16G), a 100G system disk, swap off,
ports 80, 443, 8080, 6443, 2379, 2380, 10250-10255 and 31138 free, SELinux off, no
firewall in the way, the clock within 2 s of this machine's, the same timezone across a
cluster, no pre-installed docker or containerd, no route overlapping the cluster's
spec.network.clusterCIDR, GPUs present exactly when the machine says gpu: true, and root
or password-less sudo. Each failed check says what was seen and how to fix it.

Host keys are checked against --known-hosts; an unknown or changed key is refused and its
SHA256 fingerprint printed, to compare with the machine's own before adding it. The SSH
password, privateKey and passphrase of each machine are references: environment
variables and files are read here; Kubernetes Secrets are read from the cluster of
--management-kubeconfig. gitfleet runs only its own fixed commands on the machines.

Machines are checked in parallel (--concurrency); one that is down costs its own
--dial-timeout and does not hold up the others. Exit status: 0 when no check failed,
1 when one did, a machine could not be reached or the repository does not validate
(warnings do not count), 2 when the repository or the known_hosts file could not be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMachinesCheck(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", o.repo, "fleet repository directory")
	f.StringVar(&o.revision, "revision", "", "git revision to read the machines from (default HEAD)")
	f.StringSliceVar(&o.clusters, "cluster", nil, "check only these clusters' machines (repeat or comma-separate)")
	f.StringVar(&o.knownHosts, "known-hosts", o.knownHosts, "known_hosts file the machines' host keys are checked against")
	f.StringVarP(&o.output, "output", "o", o.output, "table or json")
	f.IntVar(&o.concurrency, "concurrency", o.concurrency, "machines checked at the same time")
	f.DurationVar(&o.dialTimeout, "dial-timeout", o.dialTimeout, "time to connect and log in to one machine")
	f.DurationVar(&o.commandTimeout, "command-timeout", o.commandTimeout, "time one command may run on a machine")
	o.management.add(f, "none: a machine whose credentials are a Kubernetes Secret reference is reported as not reached")
	o.management.addSecretsNamespace(f)
	f.BoolVar(&o.showAllCheck, "all", false, "list every check in the table, passed ones too")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "write structured logs to stderr")
	return cmd
}

// machineReport is one machine in -o json: its status entry and its cluster.
type machineReport struct {
	Cluster string `json:"cluster"`
	status.Machine
}

func runMachinesCheck(cmd *cobra.Command, o machinesCheckOptions) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	if o.output != "table" && o.output != "json" {
		return fmt.Errorf("-o %q: use table or json", o.output)
	}
	_, repo, err := loadRepo(ctx, o.repo, o.revision, renderLimitFlags{}, stderr)
	if err != nil {
		return err
	}
	targets, err := machines.Targets(repo, o.clusters)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s declares no machines (only Baremetal clusters list spec.machines)\n", o.repo)
		return nil
	}
	hosts, err := sshrun.LoadKnownHosts(o.knownHosts)
	if err != nil {
		return fmt.Errorf("%w (pass --known-hosts FILE; add a machine's key with ssh-keyscan after checking its fingerprint)", err)
	}
	opts := machines.DefaultOptions()
	opts.KnownHosts = hosts
	opts.Concurrency, opts.DialTimeout, opts.CommandTimeout = o.concurrency, o.dialTimeout, o.commandTimeout
	opts.Log = newLogger(stderr, o.verbose)
	secrets, err := o.management.optionalSecrets()
	if err != nil {
		return err
	}
	opts.Secrets = notify.EnvFileResolver(secrets)
	if isTerminal(stderr) {
		var mu sync.Mutex
		start, done := time.Now(), 0
		opts.Done = func(r machines.MachineResult) {
			mu.Lock()
			defer mu.Unlock()
			done++
			verdict := fmt.Sprintf("%d failed", r.Failed())
			if r.Err != nil {
				verdict = "not reached"
			}
			fmt.Fprintf(stderr, "%6.1fs  [%d/%d] %-16s %-15s %s\n", time.Since(start).Seconds(), done, len(targets), r.Cluster, r.Machine.IP, verdict)
		}
	}
	results, err := machines.Run(ctx, targets, opts)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.output == "json" {
		err = writeMachinesJSON(out, results)
	} else {
		writeMachinesTable(out, results, o.showAllCheck)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Failed() > 0 {
			return exitError{code: 1}
		}
	}
	return nil
}

func writeMachinesJSON(w io.Writer, results []machines.MachineResult) error {
	byCluster := machines.StatusOf(results)
	seen := map[string]int{}
	list := make([]machineReport, 0, len(results))
	for _, r := range results {
		list = append(list, machineReport{Cluster: r.Cluster, Machine: byCluster[r.Cluster][seen[r.Cluster]]})
		seen[r.Cluster]++
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// writeMachinesTable prints one row per machine, then every check that did not pass
// (every check with all) with what was seen and the fix.
func writeMachinesTable(w io.Writer, results []machines.MachineResult, all bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tMACHINE\tHOSTNAME\tCPUS\tMEMORY\tGPUS\tPASS\tWARN\tFAIL")
	for _, r := range results {
		host, cpus, mem, gpus := "-", "-", "-", "-"
		if f := r.Facts; f != nil {
			host, cpus, mem, gpus = f.Hostname, fmt.Sprint(f.CPUs), fmt.Sprintf("%.1fGi", float64(f.MemoryBytes)/(1<<30)), fmt.Sprint(len(f.GPUs))
		}
		counts := map[machines.Result]int{}
		for _, c := range r.Checks {
			counts[c.Result]++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", r.Cluster, r.Machine.IP, host, cpus, mem, gpus, counts[machines.Pass], counts[machines.Warn], counts[machines.Fail])
	}
	_ = tw.Flush()
	for _, r := range results {
		var lines []string
		for _, c := range r.Checks {
			if c.Result == machines.Pass && !all {
				continue
			}
			line := fmt.Sprintf("  %-4s %-9s %s", c.Result, c.ID, c.Seen)
			if c.Fix != "" {
				line += "\n                 fix: " + c.Fix
			}
			lines = append(lines, line)
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s %s:\n%s\n", r.Cluster, r.Machine.IP, strings.Join(lines, "\n"))
		}
	}
}
