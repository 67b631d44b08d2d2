package machines

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"

	"gitfleet.dev/gitfleet/reconciler/machines/sshrun"
	"gitfleet.dev/gitfleet/schema"
)

// SecretResolver reads what a SecretRef points at (notify.EnvFileResolver is one). The
// machines' passwords and keys are sent to hosts the repository lists, so the resolver
// must refuse what the operator did not allow (schema.SecretPolicy); the checker trusts
// it to, and reports its refusal as the machine's *SecretError.
type SecretResolver interface {
	Resolve(ctx context.Context, ref *schema.SecretRef) ([]byte, error)
}

// Options configure a check run.
type Options struct {
	// KnownHosts checks every machine's host key; required.
	KnownHosts *sshrun.KnownHosts
	// Secrets resolves the machines' password, privateKey and passphrase references.
	Secrets SecretResolver
	// Concurrency bounds how many machines are checked at once: each costs an SSH
	// connection from the reconciler, and a fleet can have hundreds.
	Concurrency int
	// DialTimeout and CommandTimeout bound each machine (see sshrun.Options): an
	// unreachable machine costs its slot DialTimeout, never the others' time.
	DialTimeout, CommandTimeout time.Duration
	// Now is gitfleet's clock, which the machines' clocks are compared with.
	Now func() time.Time
	// Done, when set, is called as each machine's result is ready (from several
	// goroutines), for progress lines.
	Done func(MachineResult)
	Log  logr.Logger
}

// DefaultOptions returns the options of `gitfleet machines check` and the server.
func DefaultOptions() Options {
	ssh := sshrun.DefaultOptions()
	return Options{Concurrency: 16, DialTimeout: ssh.DialTimeout, CommandTimeout: ssh.CommandTimeout, Now: time.Now, Log: logr.Discard()}
}

// Target is one machine of one cluster.
type Target struct {
	Cluster *schema.Cluster
	Machine schema.Machine
}

// Targets lists the machines of the clusters (all when names is empty), in repository
// order.
func Targets(repo *schema.Repo, names []string) ([]Target, error) {
	var out []Target
	for _, n := range names {
		if repo.Cluster(n) == nil {
			return nil, fmt.Errorf("the repository declares no cluster %q", n)
		}
	}
	for _, c := range repo.Clusters {
		if len(names) > 0 && !slices.Contains(names, c.Metadata.Name) {
			continue
		}
		for _, m := range c.Spec.Machines {
			out = append(out, Target{Cluster: c, Machine: m})
		}
	}
	return out, nil
}

// MachineResult is what checking one machine found.
type MachineResult struct {
	Cluster string
	Machine schema.Machine
	// Facts are nil when the machine could not be probed.
	Facts *Facts
	// Checks hold every check's verdict; a machine that could not be reached has the
	// single check "ssh" (fail) that says why.
	Checks []Check
	// Err is why the machine could not be probed.
	Err error
}

// Failed counts the checks that failed.
func (r MachineResult) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Result == Fail {
			n++
		}
	}
	return n
}

// Run checks the machines in parallel (at most Concurrency at once) and returns one
// result per target, in the targets' order. A machine that cannot be reached is a
// result, not an error: Run itself fails only when ctx ends.
func Run(ctx context.Context, targets []Target, opts Options) ([]MachineResult, error) {
	if opts.KnownHosts == nil {
		return nil, errors.New("no known_hosts file: machine host keys are always checked")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	results := make([]MachineResult, len(targets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Concurrency, 1))
	for i, t := range targets {
		g.Go(func() error {
			results[i] = checkOne(gctx, t, opts)
			if opts.Done != nil {
				opts.Done(results[i])
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return results, err
	}
	// The seed's "same timezone on all hosts" compares the machines of a cluster.
	byCluster := map[string][]int{}
	for i, r := range results {
		byCluster[r.Cluster] = append(byCluster[r.Cluster], i)
	}
	for _, idx := range byCluster {
		facts := make([]*Facts, len(idx))
		for j, i := range idx {
			facts[j] = results[i].Facts
		}
		for j, c := range EvaluateTimezones(facts) {
			if c.ID != "" {
				results[idx[j]].Checks = append(results[idx[j]].Checks, c)
			}
		}
	}
	return results, nil
}

func checkOne(ctx context.Context, t Target, opts Options) MachineResult {
	res := MachineResult{Cluster: t.Cluster.Metadata.Name, Machine: t.Machine}
	log := opts.Log.WithValues("cluster", res.Cluster, "machine", t.Machine.IP)
	facts, err := probe(ctx, t, opts)
	if err != nil {
		log.Info("machine could not be checked", "error", err.Error())
		res.Err = fmt.Errorf("cluster %s machine %s: %w", res.Cluster, t.Machine.IP, err)
		res.Checks = []Check{{ID: "ssh", Result: Fail, Seen: err.Error(), Fix: sshFix(err, t.Machine)}}
		return res
	}
	res.Facts = &facts
	res.Checks = Evaluate(facts, t.Cluster, t.Machine)
	log.V(1).Info("machine checked", "failed", res.Failed())
	return res
}

func sshFix(err error, m schema.Machine) string {
	var hk *sshrun.HostKeyError
	var to *sshrun.TimeoutError
	switch {
	case errors.As(err, &hk):
		return "compare the fingerprint with the machine's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and add its key to the known_hosts file given to gitfleet"
	case errors.Is(err, sshrun.ErrAuth):
		return "check the credentials the machine's password or privateKey reference points at; for password login set PasswordAuthentication yes in /etc/ssh/sshd_config"
	case errors.As(err, &to):
		return fmt.Sprintf("make sure the machine is up and sshd listens on port %d, and that the security group allows SSH and ICMP from gitfleet", port(m))
	case errors.As(err, new(*SecretError)):
		return "make the referenced secret available to gitfleet (environment variable, file or Kubernetes Secret)"
	}
	return fmt.Sprintf("make sure the machine is reachable on port %d from gitfleet and its login shell is sh or bash", port(m))
}

func port(m schema.Machine) int {
	if m.Port == 0 {
		return 22
	}
	return m.Port
}

// SecretError is a machine credential that could not be read.
type SecretError struct {
	Field string
	Err   error
}

func (e *SecretError) Error() string { return fmt.Sprintf("%s: %v", e.Field, e.Err) }
func (e *SecretError) Unwrap() error { return e.Err }

// probe logs in, runs the probe script and reads the clock.
func probe(ctx context.Context, t Target, opts Options) (Facts, error) {
	ssh, err := sshOptions(ctx, t.Machine, opts)
	if err != nil {
		return Facts{}, err
	}
	client, err := sshrun.Dial(ctx, ssh)
	if err != nil {
		return Facts{}, err
	}
	defer client.Close()
	out, err := client.Run(ctx, ProbeScript)
	if err != nil {
		return Facts{}, err
	}
	facts, err := ParseProbe(out.Stdout)
	if err != nil {
		return Facts{}, fmt.Errorf("%s: %w", ssh.Address, err)
	}
	before := opts.Now()
	out, err = client.Run(ctx, ClockCommand)
	after := opts.Now()
	if err != nil {
		return Facts{}, err
	}
	remote, precise, err := parseClock(string(out.Stdout))
	if err != nil {
		return Facts{}, fmt.Errorf("%s: %w", ssh.Address, err)
	}
	rtt := after.Sub(before)
	facts.ClockOffset = remote.Sub(before.Add(rtt / 2))
	facts.ClockUncertainty = rtt / 2
	if !precise {
		facts.ClockUncertainty += time.Second
	}
	return facts, nil
}

func sshOptions(ctx context.Context, m schema.Machine, opts Options) (sshrun.Options, error) {
	o := sshrun.Options{
		Address:        net.JoinHostPort(m.IP, strconv.Itoa(port(m))),
		User:           m.Username,
		HostKeys:       opts.KnownHosts,
		DialTimeout:    opts.DialTimeout,
		CommandTimeout: opts.CommandTimeout,
	}
	if o.User == "" {
		o.User = "root"
	}
	if opts.Secrets == nil && (m.Password != nil || m.PrivateKey != nil) {
		return o, &SecretError{Field: "credentials", Err: errors.New("no secret resolver configured")}
	}
	var err error
	if m.Password != nil {
		if o.Password, err = opts.Secrets.Resolve(ctx, m.Password); err != nil {
			return o, &SecretError{Field: "password", Err: err}
		}
		// Files and Secrets made with echo end in a line break that is no part of it.
		o.Password = []byte(strings.TrimRight(string(o.Password), "\r\n"))
	}
	if m.PrivateKey != nil {
		if o.PrivateKey, err = opts.Secrets.Resolve(ctx, m.PrivateKey); err != nil {
			return o, &SecretError{Field: "privateKey", Err: err}
		}
	}
	if m.Passphrase != nil {
		if o.Passphrase, err = opts.Secrets.Resolve(ctx, m.Passphrase); err != nil {
			return o, &SecretError{Field: "passphrase", Err: err}
		}
		o.Passphrase = []byte(strings.TrimRight(string(o.Passphrase), "\r\n"))
	}
	return o, nil
}
