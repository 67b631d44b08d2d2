package machines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// KeeperOptions configure a Keeper.
type KeeperOptions struct {
	Check Options
	// Interval is how often every machine is checked again when nothing changed: the
	// checks log in to every machine of the fleet, and what they find (hardware, kernel,
	// installed packages) changes rarely, so this is slow.
	Interval time.Duration
	// FieldManager owns the Nodes' labels and taints (the reconciler's).
	FieldManager string
	// RESTConfig reaches a member cluster, for its Nodes; nil leaves Nodes alone.
	RESTConfig func(c *schema.Cluster) (*rest.Config, error)
	Log        logr.Logger
}

// DefaultKeeperOptions checks every 30 minutes.
func DefaultKeeperOptions() KeeperOptions {
	return KeeperOptions{Check: DefaultOptions(), Interval: 30 * time.Minute, Log: logr.Discard()}
}

// Keeper is the server's side of machines: it runs the checks of a cluster's machines
// and applies their labels and taints to their Nodes when the cluster's machines changed
// in the repository, and every machine at Interval, one pass at a time, and keeps the
// last results for the status files.
type Keeper struct {
	opts KeeperOptions

	mu      sync.Mutex
	running bool
	// specs are the machine lists last handled, per cluster (a hash of spec.machines and
	// of what the checks read from the cluster: its name, labels, GPU type, network).
	specs   map[string]string
	lastAll time.Time
	results map[string][]status.Machine
}

// NewKeeper makes a Keeper.
func NewKeeper(opts KeeperOptions) *Keeper {
	if opts.Interval <= 0 {
		opts.Interval = DefaultKeeperOptions().Interval
	}
	return &Keeper{opts: opts, specs: map[string]string{}, results: map[string][]status.Machine{}}
}

// Status returns the last results of a cluster's machines; ok is false before the first
// pass that covered the cluster.
func (k *Keeper) Status(cluster string) (machines []status.Machine, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, ok := k.results[cluster]
	return m, ok
}

// Due lists the clusters of repo whose machines need a pass now: all of them once
// Interval has passed since the last full pass, else those whose machines changed. It
// returns nothing while a pass is running (the next call after it picks up the rest).
func (k *Keeper) Due(repo *schema.Repo, now time.Time) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.running {
		return nil
	}
	all := now.Sub(k.lastAll) >= k.opts.Interval
	var due []string
	for _, c := range repo.Clusters {
		if len(c.Spec.Machines) == 0 && k.specs[c.Metadata.Name] == "" {
			continue
		}
		if all || k.specs[c.Metadata.Name] != specHash(c) {
			due = append(due, c.Metadata.Name)
		}
	}
	return due
}

// Run makes one pass over the named clusters of repo: checks their machines, then
// applies their Nodes' labels and taints, and records the results. It returns at once
// (false) when a pass is already running. Errors are part of the results (per machine);
// Run fails only when ctx ends.
func (k *Keeper) Run(ctx context.Context, repo *schema.Repo, clusters []string, now time.Time) (bool, error) {
	k.mu.Lock()
	if k.running {
		k.mu.Unlock()
		return false, nil
	}
	k.running = true
	// Only a pass over every cluster with machines restarts the interval.
	full := now.Sub(k.lastAll) >= k.opts.Interval
	for _, c := range repo.Clusters {
		if (len(c.Spec.Machines) > 0 || k.specs[c.Metadata.Name] != "") && !slices.Contains(clusters, c.Metadata.Name) {
			full = false
		}
	}
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.running = false
		k.mu.Unlock()
	}()

	targets, err := Targets(repo, clusters)
	if err != nil {
		return true, err
	}
	results, err := Run(ctx, targets, k.opts.Check)
	if err != nil {
		return true, err
	}
	byCluster := StatusOf(results)
	for _, name := range clusters {
		c := repo.Cluster(name)
		k.applyNodes(ctx, c, byCluster[name])
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, name := range clusters {
		k.specs[name] = specHash(repo.Cluster(name))
		if list := byCluster[name]; len(list) > 0 {
			k.results[name] = list
		} else {
			delete(k.results, name) // the cluster has no machines any more.
		}
	}
	if full {
		k.lastAll = now
	}
	return true, nil
}

// applyNodes keeps the cluster's Nodes' labels and taints and notes, per machine, the
// Node it found (or why not) in its status entry.
func (k *Keeper) applyNodes(ctx context.Context, c *schema.Cluster, list []status.Machine) {
	if k.opts.RESTConfig == nil {
		return
	}
	log := k.opts.Log.WithValues("cluster", c.Metadata.Name)
	hostnames := map[string]string{}
	for _, m := range list {
		if m.Hostname != "" {
			hostnames[m.IP] = m.Hostname
		}
	}
	note := func(ip, node, problem string) {
		for i := range list {
			if list[i].IP == ip {
				list[i].Node = node
				if problem != "" && list[i].Error == "" {
					list[i].Error = problem
				}
			}
		}
	}
	cfg, err := k.opts.RESTConfig(c)
	var cs kubernetes.Interface
	if err == nil {
		cs, err = kubernetes.NewForConfig(cfg)
	}
	var res []NodeResult
	if err == nil {
		res, err = ApplyNodes(ctx, cs, c, NodeOptions{FieldManager: k.opts.FieldManager, Hostnames: hostnames})
	}
	if err != nil {
		log.Error(err, "machine labels and taints not applied")
		for _, m := range c.Spec.Machines {
			note(m.IP, "", fmt.Sprintf("labels and taints not applied: %v", err))
		}
		return
	}
	for _, r := range res {
		switch {
		case r.Err != nil:
			log.Error(r.Err, "machine labels and taints not applied", "node", r.Node)
			note(r.Machine, r.Node, r.Err.Error())
		case r.Action == NodeNotFound:
			note(r.Machine, "", "")
		case r.Machine != "":
			note(r.Machine, r.Node, "")
		}
	}
}

// specHash is what a pass depends on in the repository: a change to it makes the
// cluster due at once.
func specHash(c *schema.Cluster) string {
	if c == nil {
		return ""
	}
	data, _ := json.Marshal(struct {
		Machines []schema.Machine
		Labels   map[string]string
		GPU      schema.GPUType
		Network  schema.ContainerNetwork
	}{c.Spec.Machines, c.Metadata.Labels, c.Spec.GPUType, c.Spec.Network})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
