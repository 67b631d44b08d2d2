package reconciler

import (
	"context"
	"maps"
	"slices"
	"time"

	"gitfleet.dev/gitfleet/reconciler/status"
	"gitfleet.dev/gitfleet/schema"
)

// withMachines fills each cluster's machines section: the last check's results, or,
// before the first check since gitfleet started, what the status file recorded.
func (l *Loop) withMachines(recorded map[string][]status.Machine, clusters []status.Cluster) {
	k := l.opts.Machines
	if k == nil {
		return
	}
	for i := range clusters {
		if list, ok := k.Status(clusters[i].Cluster); ok {
			clusters[i].Machines = list
			continue
		}
		clusters[i].Machines = recorded[clusters[i].Cluster]
	}
}

// machineFacts is what the machine checks found per cluster of repo: this process's last
// pass, else what the status files recorded.
func (l *Loop) machineFacts(repo *schema.Repo, recorded map[string][]status.Machine) map[string][]status.Machine {
	k := l.opts.Machines
	if k == nil {
		return recorded
	}
	facts := maps.Clone(recorded)
	for _, c := range repo.Clusters {
		if list, ok := k.Status(c.Metadata.Name); ok {
			facts[c.Metadata.Name] = list
		}
	}
	return facts
}

// checkMachines starts a pass of the machine checks when one is due. It runs in the
// background: it logs in to every machine, a machine that is down costs its dial
// timeout, and applies must not wait for that. Its results are committed by a status
// write it triggers when done. With LoopOptions.WaitForMachines the pass runs before the
// status files are made instead, so that a single reconcile commits its results.
func (l *Loop) checkMachines(ctx context.Context, repo *schema.Repo) {
	k := l.opts.Machines
	if k == nil {
		return
	}
	due := k.Due(repo, time.Now())
	if len(due) == 0 {
		return
	}
	pass := func() bool {
		ran, err := k.Run(ctx, repo, due, time.Now())
		if err != nil && ctx.Err() == nil {
			l.opts.Apply.Log.Error(err, "machine checks failed", "clusters", due)
		}
		return ran && err == nil
	}
	if l.opts.WaitForMachines {
		pass()
		return
	}
	l.background.Go(func() {
		if !pass() {
			return
		}
		l.mu.Lock()
		for i := range l.last {
			if list, ok := k.Status(l.last[i].Cluster); ok {
				l.last[i].Machines = list
			} else if slices.Contains(due, l.last[i].Cluster) {
				l.last[i].Machines = nil // its machines were all removed.
			}
		}
		latest := l.repo
		l.mu.Unlock()
		l.publishStatus()
		if latest != nil && latest != repo {
			// A revision applied during the pass may have changed machines: its Due
			// found the pass running.
			l.checkMachines(ctx, latest)
		}
	})
}
