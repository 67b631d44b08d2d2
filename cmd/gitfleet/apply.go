package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
)

type applyOptions struct {
	limits         renderLimitFlags
	charts         chartFlags
	repo           string
	sopsKey        string
	revision       string
	kubeconfig     string
	rateLimit      rateLimitFlags
	clusters       []string
	concurrency    int
	healthTimeout  time.Duration
	requestTimeout time.Duration
	allowMassPrune bool
	verbose        bool
	management     managementFlags
	secrets        secretFlags
	renderCache    renderCacheFlags
}

func newApplyCommand() *cobra.Command {
	defaults := reconciler.DefaultApplyOptions()
	o := applyOptions{concurrency: defaults.Concurrency, healthTimeout: defaults.HealthTimeout, requestTimeout: 30 * time.Second}
	cmd := &cobra.Command{
		Use:   "apply --repo DIR --kubeconfig FILE",
		Short: "Apply the fleet repository to its member clusters once",
		Long: `Render the fleet repository and apply it, with server-side apply, to every cluster it
declares (or those named with --cluster), all clusters in parallel and independently: a
cluster that cannot be reached is reported and the others are still applied.

Each Cluster is reached through the context of --kubeconfig named by its
spec.credentials.kubeconfigContext (default: the cluster's name). Objects that an app no
longer renders are pruned, unless the app's render failed: a broken app is reported with
its file and reason and left as it was. An apply that would delete more than half of the
objects gitfleet manages in a cluster is refused unless --allow-mass-prune is given.

In a git repository the committed tree of --revision (default HEAD) is applied, never
uncommitted edits. Exit status: 0 when every cluster was applied and is healthy, 1 when
something failed or is not healthy yet, 2 when nothing could be applied.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApply(cmd, o) },
	}
	f := cmd.Flags()
	o.limits.add(f)
	f.StringVar(&o.repo, "repo", ".", "fleet repository directory")
	addSopsKeyFlag(f, &o.sopsKey)
	f.StringVar(&o.revision, "revision", "", "git revision to apply (default HEAD)")
	f.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig with one context per cluster (default $KUBECONFIG)")
	o.rateLimit.add(f)
	f.StringSliceVar(&o.clusters, "cluster", nil, "apply only to these clusters (repeat or comma-separate)")
	f.IntVar(&o.concurrency, "concurrency", o.concurrency, "clusters applied at the same time")
	f.DurationVar(&o.healthTimeout, "health-timeout", o.healthTimeout, "how long to wait for each app's objects to become healthy")
	f.DurationVar(&o.requestTimeout, "request-timeout", o.requestTimeout, "timeout of each request to a cluster's API server")
	f.BoolVar(&o.allowMassPrune, "allow-mass-prune", false, "allow pruning more than half of a cluster's managed objects")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "write structured logs to stderr")
	o.management.add(f, "none: alerting routes that need a Secret copied are reported, not applied")
	o.management.addSecretsNamespace(f)
	o.secrets.addPolicy(f)
	o.secrets.addDir(f)
	o.charts.add(f)
	o.renderCache.add(f)
	return cmd
}

func runApply(cmd *cobra.Command, o applyOptions) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	if o.kubeconfig == "" {
		return fmt.Errorf("no kubeconfig: pass --kubeconfig FILE or set KUBECONFIG")
	}
	policy, err := o.secrets.policy(o.management.namespace, true)
	if err != nil {
		return err
	}
	// Opened first: the load and the render share what it remembers of checked files.
	cache, err := o.renderCache.open(stderr)
	if err != nil {
		return err
	}
	lo := o.limits.load(policy)
	lo.Passed = cache.Passed()
	snap, repo, err := loadRepo(ctx, o.repo, o.revision, lo, stderr)
	if err != nil {
		return err
	}
	conn, err := reconciler.NewKubeconfigConnector(o.kubeconfig)
	if err != nil {
		return err
	}
	o.rateLimit.set(conn)
	conn.Timeout = o.requestTimeout
	dec, err := sopsDecryptor(o.sopsKey, o.repo)
	if err != nil {
		return err
	}
	ro := o.limits.render(dec)
	ro.Cache = cache
	management, err := o.management.optionalSecrets()
	if err != nil {
		return err
	}
	charts, err := o.charts.client(o.secrets.resolver(policy, management), false, stderr, logr.Discard())
	if err != nil {
		return err
	}
	defer charts.Close()
	ro.Charts = charts
	renderer, err := render.NewWithOptions(ctx, snap.FS, repo, ro)
	if err != nil {
		return err
	}

	opts := reconciler.DefaultApplyOptions()
	opts.Clusters = o.clusters
	opts.Concurrency = o.concurrency
	opts.HealthTimeout = o.healthTimeout
	opts.PruneGuard.AllowMassPrune = o.allowMassPrune
	opts.Log = newLogger(stderr, o.verbose)
	opts.SecretPolicy = policy
	opts.Secrets = management
	if isTerminal(stderr) {
		opts.Progress = &lineProgress{w: stderr, start: time.Now()}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Applying %s at %s to %s\n", o.repo, shortRevision(snap.Revision), clusterCount(repo.Clusters, o.clusters))
	results, err := reconciler.Apply(ctx, repo, renderer, conn, opts)
	if err != nil {
		return err
	}
	// With -v, whether the render cache did its job (a no-op apply should show only hits).
	st := ro.Cache.Stats()
	opts.Log.Info("render cache", "dir", o.renderCache.dir, "memoryHits", st.MemoryHits, "diskHits", st.DiskHits, "misses", st.Misses,
		"written", st.Written, "notWrittenHoldSecret", st.NotWritten, "corrupt", st.Corrupt, "evicted", st.Evicted)
	printSummary(cmd.OutOrStdout(), results)
	for _, r := range results {
		if len(r.Errors()) > 0 || r.Health() != reconciler.Healthy {
			return exitError{code: 1}
		}
	}
	return nil
}

// printSummary writes one row per cluster and then every failure, so the table stays
// readable and no error is hidden.
func printSummary(w io.Writer, results []reconciler.ClusterResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tCREATED\tCONFIGURED\tUNCHANGED\tPRUNED\tHEALTH")
	for _, r := range results {
		c := r.Counts()
		health := string(r.Health())
		if errs := r.Errors(); len(errs) > 0 {
			health += fmt.Sprintf(" (%d error(s))", len(errs))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", r.Cluster, c.Created, c.Configured, c.Unchanged, c.Pruned, health)
	}
	_ = tw.Flush()
	for _, r := range results {
		for _, err := range r.Errors() {
			fmt.Fprintf(w, "\n%s: %v\n", r.Cluster, err)
		}
	}
}

func clusterCount[T any](all []T, selected []string) string {
	n := len(all)
	if len(selected) > 0 {
		n = len(selected)
	}
	if n == 1 {
		return "1 cluster"
	}
	return fmt.Sprintf("%d clusters", n)
}

func shortRevision(rev string) string {
	if len(rev) > 12 && rev != reconciler.WorkingTree {
		return rev[:12]
	}
	return rev
}

// lineProgress prints one line per cluster and stage, for people watching a terminal.
type lineProgress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *lineProgress) Stage(cluster, stage string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%6.1fs  %-16s %s\n", time.Since(p.start).Seconds(), cluster, strings.SplitN(stage, "\n", 2)[0])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newLogger(w io.Writer, verbose bool) logr.Logger {
	if !verbose {
		return logr.Discard()
	}
	return logr.FromSlogHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
