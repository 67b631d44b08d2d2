package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"gitfleet.dev/gitfleet/reconciler/machines"
	"gitfleet.dev/gitfleet/reconciler/machines/sshrun"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/gitsource"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

type serveOptions struct {
	limits                                  renderLimitFlags
	charts                                  chartFlags
	repoURL, branch, statusBranch, cacheDir string
	// sopsKey is the age key file for the repository's sops files (--sops-age-key-file).
	sopsKey                        string
	gitTokenEnv, gitUsername       string
	gitSSHKey, gitSSHPassphraseEnv string
	gitKnownHosts                  string
	kubeconfig                     string
	rateLimit                      rateLimitFlags
	management                     managementFlags
	secrets                        secretFlags
	renderCache                    renderCacheFlags
	webhookSecretEnv               string
	interval                       time.Duration
	noStatus                       bool
	server                         reconciler.ServerOptions
	allowMassPrune, verbose        bool
	once                           bool
	machinesKnownHosts             string
	machinesInterval               time.Duration
	view                           viewFlags
}

func newServeCommand() *cobra.Command {
	o := serveOptions{server: reconciler.DefaultServerOptions(), branch: "main", cacheDir: "/var/cache/gitfleet"}
	cmd := &cobra.Command{
		Use:   "serve --repo-url URL --kubeconfig FILE",
		Short: "Run the reconciler: follow the fleet repository and keep every cluster in its state",
		Long: `Fetch the fleet repository at every interval (the Fleet's spec.interval unless
--interval is given) and at once on a push webhook, apply each new revision to every
cluster, and commit what it saw under status/ (never force-pushed; retried on top of
concurrent pushes). Commits that only change status/ are not applied again.

Run it as a Deployment in the global cluster (fleet-example/apps/gitfleet has one):
replicas elect a leader through a Lease, only the leader applies and receives webhooks,
and /metrics, /healthz and /readyz are served on every replica.

--view serves a read-only web view of the fleet (clusters by apps, each cluster, each
business's quota, drift, recent revisions; live in the browser, with a JSON API) on
127.0.0.1:9393, or on --view-address. It runs on every replica: a replica that is not the
leader says so and shows no state. --view-auth-file names a file of accepted credentials,
one a line: "bearer TOKEN" (scripts) or "basic USER:PASSWORD" (a browser asks for it).

Git credentials come from files and environment variables, never from flags' values:
--git-token-env names the variable holding an HTTPS token; --git-ssh-key and
--git-known-hosts are files (host keys are always checked). A git:// repository (git
daemon) takes no credentials: the git protocol is unauthenticated and unencrypted, so use
it only on a trusted network. Push webhooks are verified with the secret in
--webhook-secret-env: POST /hooks/github, /hooks/gitlab or /hooks/generic
(X-Gitfleet-Signature: sha256=HMAC of the body).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), o) },
	}
	f := cmd.Flags()
	o.limits.add(f)
	f.StringVar(&o.repoURL, "repo-url", "", "fleet repository: https://, ssh://, git@host:path, file:// or git:// (git daemon: unauthenticated and unencrypted, trusted networks only)")
	f.StringVar(&o.branch, "branch", o.branch, "branch to follow")
	f.StringVar(&o.statusBranch, "status-branch", "", "branch for status commits (default: the Fleet's spec.statusBranch, else the followed branch)")
	addSopsKeyFlag(f, &o.sopsKey)
	f.StringVar(&o.cacheDir, "cache-dir", o.cacheDir, "where the repository clone is kept between restarts")
	f.StringVar(&o.gitTokenEnv, "git-token-env", "", "environment variable holding the HTTPS token")
	f.StringVar(&o.gitUsername, "git-username", "", "HTTPS username (default git) or SSH login")
	f.StringVar(&o.gitSSHKey, "git-ssh-key", "", "file with the SSH private key")
	f.StringVar(&o.gitSSHPassphraseEnv, "git-ssh-passphrase-env", "", "environment variable holding the SSH key's passphrase")
	f.StringVar(&o.gitKnownHosts, "git-known-hosts", "", "known_hosts file the SSH host key is checked against")
	f.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig with one context per member cluster")
	o.rateLimit.add(f)
	o.management.add(f, "in-cluster")
	o.secrets.addPolicy(f)
	o.secrets.addDir(f)
	o.charts.add(f)
	o.renderCache.add(f)
	f.StringVar(&o.webhookSecretEnv, "webhook-secret-env", "", "environment variable holding the push webhook secret")
	f.DurationVar(&o.interval, "interval", 0, "fetch interval (default: the Fleet's spec.interval)")
	f.BoolVar(&o.noStatus, "no-status-commits", false, "do not commit status to the repository")
	f.BoolVar(&o.server.LeaderElection, "leader-elect", o.server.LeaderElection, "elect one leader among replicas (a Lease)")
	f.StringVar(&o.server.LeaderElectionNamespace, "leader-election-namespace", o.server.LeaderElectionNamespace, "namespace of the leader-election Lease")
	f.DurationVar(&o.server.Leader.LeaseDuration, "leader-election-lease-duration", o.server.Leader.LeaseDuration, "how long the other replicas wait, after the leader's last renewal of its Lease, before one of them takes over (how fast a crashed leader is replaced)")
	f.DurationVar(&o.server.Leader.RenewDeadline, "leader-election-renew-deadline", o.server.Leader.RenewDeadline, "how long after its last successful renewal the leader stops writing and steps down (shorter than the lease duration)")
	f.DurationVar(&o.server.Leader.RetryPeriod, "leader-election-retry-period", o.server.Leader.RetryPeriod, "how often the leader renews its Lease and the others try to take it (shorter than the renew deadline divided by 1.2)")
	f.StringVar(&o.server.MetricsAddr, "metrics-bind-address", o.server.MetricsAddr, "address of /metrics (0 disables)")
	f.StringVar(&o.server.ProbeAddr, "health-probe-bind-address", o.server.ProbeAddr, "address of /healthz and /readyz")
	f.StringVar(&o.server.WebhookAddr, "webhook-bind-address", o.server.WebhookAddr, "address of the push webhooks (0 disables)")
	f.BoolVar(&o.allowMassPrune, "allow-mass-prune", false, "allow pruning more than half of a cluster's managed objects")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every reconcile")
	f.StringVar(&o.machinesKnownHosts, "machines-known-hosts", "", "known_hosts file for the machines of Baremetal clusters; enables their SSH checks and their Nodes' labels and taints")
	f.DurationVar(&o.machinesInterval, "machines-interval", 30*time.Minute, "how often every machine is checked again when nothing about it changed")
	o.view.add(f)
	f.BoolVar(&o.once, "once", false, "reconcile once (fetch, apply, commit status) and exit, without leader election, webhooks or drift watches: for CI jobs and trying gitfleet out")
	return cmd
}

func runServe(ctx context.Context, o serveOptions) error {
	if o.repoURL == "" || o.kubeconfig == "" {
		return fmt.Errorf("--repo-url and --kubeconfig are required")
	}
	if !o.once && o.server.LeaderElection {
		if err := o.server.Leader.Validate(); err != nil {
			return fmt.Errorf("check --leader-election-lease-duration, --leader-election-renew-deadline and --leader-election-retry-period: %w", err)
		}
	}
	auth, err := gitAuth(o)
	if err != nil {
		return err
	}
	log := newLogger(os.Stderr, true)
	if o.once && !o.verbose {
		log = logr.Discard()
	}
	srcOpts := gitsource.DefaultOptions()
	srcOpts.URL, srcOpts.Branch, srcOpts.CacheDir, srcOpts.Auth, srcOpts.Log = o.repoURL, o.branch, o.cacheDir, auth, log
	src, err := gitsource.New(srcOpts)
	if err != nil {
		return err
	}
	conn, err := reconciler.NewKubeconfigConnector(o.kubeconfig)
	if err != nil {
		return err
	}
	o.rateLimit.set(conn)
	renders, err := o.renderCache.open(os.Stderr)
	if err != nil {
		return err
	}
	if o.once {
		return serveOnce(ctx, o, src, conn, renders, log)
	}
	o.management.namespace = o.server.LeaderElectionNamespace
	policy, err := o.secrets.policy(o.management.namespace, true)
	if err != nil {
		return err
	}
	management, err := o.management.config()
	if err != nil {
		return err
	}
	dec, err := sopsDecryptor(o.sopsKey, o.cacheDir)
	if err != nil {
		return err
	}
	apply := reconciler.DefaultApplyOptions()
	apply.SecretPolicy = policy
	apply.PruneGuard.AllowMassPrune = o.allowMassPrune
	apply.HealthTimeout = 0 // the Fleet's spec.healthTimeout
	apply.Log = log
	o.server.Management = management
	secrets, err := o.management.secrets(management)
	if err != nil {
		return err
	}
	apply.Secrets = secrets
	resolver := o.secrets.resolver(policy, secrets)
	ro := o.limits.render(dec)
	charts, err := o.charts.client(resolver, false, os.Stderr, log)
	if err != nil {
		return err
	}
	defer charts.Close()
	ro.Charts = charts
	o.server.Loop = reconciler.LoopOptions{
		Source: src, Connector: conn, Apply: apply, Interval: o.interval, Render: ro, Renders: renders,
		WatchDrift: true,
		Notify: func(ctx context.Context, repo *schema.Repo, d reconciler.DriftReport) {
			n := notify.New(repo, resolver, notify.Options{Log: log, ExternalURL: o.repoURL})
			err := n.Drift(ctx, []notify.Drift{{Cluster: d.Cluster, App: d.App, Object: d.Object, Change: d.Change, Action: d.Action, By: d.By, Revision: d.Revision, At: d.At, Resolved: d.Resolved, Since: d.Since}})
			if err != nil {
				log.Error(err, "drift notification failed", "cluster", d.Cluster, "object", d.Object)
			}
		},
		NotifyRollout: func(ctx context.Context, repo *schema.Repo, r reconciler.RolloutReport) {
			n := notify.New(repo, resolver, notify.Options{Log: log, ExternalURL: o.repoURL})
			h := notify.RolloutHalt{App: r.App, Revision: r.Revision, Wave: r.Wave, Cluster: r.Cluster, Reason: r.Reason, At: r.At, RolledBack: r.RolledBack}
			if err := n.RolloutHalted(ctx, h); err != nil {
				log.Error(err, "rollout notification failed", "app", r.App, "wave", r.Wave)
			}
		},
	}
	if !o.noStatus {
		statusOpts := gitsource.DefaultStatusOptions()
		statusOpts.Branch = o.statusBranch
		o.server.Loop.Status = gitsource.StatusWriter{Source: src, Options: statusOpts}
	}
	// The machines' Node labels and taints are written by the leader only, as the loop's
	// writes are; the loop's own are fenced by reconciler.Serve.
	var machinesConn reconciler.Connector = conn
	if o.server.LeaderElection {
		o.server.Fence = reconciler.NewLeaderFence(o.server.Leader.RenewDeadline)
		machinesConn = o.server.Fence.Connector(conn)
	}
	if o.server.Loop.Machines, err = o.machineKeeper(machinesConn, resolver, log); err != nil {
		return err
	}
	if err := o.view.set(&o.server, o.repoURL, log); err != nil {
		return err
	}
	if o.webhookSecretEnv != "" {
		o.server.WebhookSecret = []byte(os.Getenv(o.webhookSecretEnv))
		if len(o.server.WebhookSecret) == 0 {
			return fmt.Errorf("--webhook-secret-env %s is empty or not set", o.webhookSecretEnv)
		}
	}
	return reconciler.Serve(ctx, o.server)
}

func gitAuth(o serveOptions) (gitsource.Auth, error) {
	a := gitsource.Auth{Username: o.gitUsername}
	if o.gitTokenEnv != "" {
		if a.Token = os.Getenv(o.gitTokenEnv); a.Token == "" {
			return a, fmt.Errorf("--git-token-env %s is empty or not set", o.gitTokenEnv)
		}
	}
	var err error
	if o.gitSSHKey != "" {
		if a.SSHKey, err = os.ReadFile(o.gitSSHKey); err != nil {
			return a, fmt.Errorf("reading --git-ssh-key: %w", err)
		}
	}
	if o.gitSSHPassphraseEnv != "" {
		a.SSHPassphrase = []byte(os.Getenv(o.gitSSHPassphraseEnv))
	}
	if o.gitKnownHosts != "" {
		if a.KnownHosts, err = os.ReadFile(o.gitKnownHosts); err != nil {
			return a, fmt.Errorf("reading --git-known-hosts: %w", err)
		}
	}
	return a, nil
}

// serveOnce runs one reconcile of the loop, with its status commit.
func serveOnce(ctx context.Context, o serveOptions, src *gitsource.Source, conn reconciler.Connector, renders *render.Cache, log logr.Logger) error {
	apply := reconciler.DefaultApplyOptions()
	apply.PruneGuard.AllowMassPrune = o.allowMassPrune
	apply.HealthTimeout = 0
	if o.verbose {
		apply.Log = log
	}
	o.management.namespace = o.server.LeaderElectionNamespace
	var err error
	if apply.SecretPolicy, err = o.secrets.policy(o.management.namespace, true); err != nil {
		return err
	}
	if apply.Secrets, err = o.management.optionalSecrets(); err != nil {
		return err
	}
	dec, err := sopsDecryptor(o.sopsKey, o.cacheDir)
	if err != nil {
		return err
	}
	ro := o.limits.render(dec)
	charts, err := o.charts.client(o.secrets.resolver(apply.SecretPolicy, apply.Secrets), false, os.Stderr, log)
	if err != nil {
		return err
	}
	defer charts.Close()
	ro.Charts = charts
	loopOpts := reconciler.LoopOptions{Source: src, Connector: conn, Apply: apply, WaitForMachines: true, Render: ro, Renders: renders}
	if loopOpts.Machines, err = o.machineKeeper(conn, o.secrets.resolver(apply.SecretPolicy, apply.Secrets), log); err != nil {
		return err
	}
	if !o.noStatus {
		statusOpts := gitsource.DefaultStatusOptions()
		statusOpts.Branch = o.statusBranch
		loopOpts.Status = gitsource.StatusWriter{Source: src, Options: statusOpts}
	}
	outcome, err := reconciler.NewLoop(loopOpts).ReconcileOnce(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("reconciled %s: %s\n", o.repoURL, outcome)
	return nil
}

// machineKeeper checks the machines of Baremetal clusters and keeps their Nodes' labels
// and taints, when --machines-known-hosts is given (host keys are never trusted on first
// use, so without it there is nothing to check them against).
func (o serveOptions) machineKeeper(conn reconciler.Connector, secrets notify.SecretResolver, log logr.Logger) (*machines.Keeper, error) {
	if o.machinesKnownHosts == "" {
		return nil, nil
	}
	hosts, err := sshrun.LoadKnownHosts(o.machinesKnownHosts)
	if err != nil {
		return nil, err
	}
	k := machines.DefaultKeeperOptions()
	k.Check.KnownHosts, k.Check.Secrets, k.Check.Log = hosts, secrets, log
	k.Interval, k.FieldManager, k.RESTConfig, k.Log = o.machinesInterval, reconciler.FieldManager, conn.RESTConfig, log
	return machines.NewKeeper(k), nil
}
