package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RolloutStrategy moves a new revision across the clusters in ordered waves instead of
// to every cluster at once. It is set on the Fleet as the default of every App and may be
// replaced on an App (spec.rollout). Clusters a wave has not reached stay on the revision
// they had, and keep being reconciled at it.
type RolloutStrategy struct {
	// Waves are applied in order; each starts once the one before it has been healthy for
	// its soak time. A cluster no wave selects is in an implicit last wave.
	Waves []Wave `yaml:"waves,omitempty" json:"waves,omitempty"`
	// OnFailure says what a wave whose apply or health fails does: halt (the default)
	// stops the rollout there; rollback also puts the failed wave's clusters back to the
	// revision they had. Either way later waves never get the revision, and only a new
	// commit starts a new rollout.
	OnFailure RolloutFailure `yaml:"onFailure,omitempty" json:"onFailure,omitempty"`
	// AllAtOnce, on an App, turns the Fleet's waves off for it: every cluster gets a new
	// revision in the same pass.
	AllAtOnce bool `yaml:"allAtOnce,omitempty" json:"allAtOnce,omitempty"`
	// Notify says who hears that a rollout halted, as spec.driftNotify does; empty means
	// the Fleet's driftNotify receivers.
	Notify *DriftNotify `yaml:"notify,omitempty" json:"notify,omitempty"`
}

// RolloutFailure is what a failed wave does.
type RolloutFailure string

const (
	RolloutHalt     RolloutFailure = "halt"
	RolloutRollback RolloutFailure = "rollback"
)

// Wave is one step of a rollout: the clusters named or selected, how many of them are
// updated at once, and how long they must stay healthy before the next wave.
type Wave struct {
	Name string `yaml:"name" json:"name"`
	// Clusters and Selector choose the wave's clusters (either or both). A wave with
	// neither takes every cluster no earlier wave took ("the rest"); it must be last.
	Clusters []string       `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	Selector *LabelSelector `yaml:"selector,omitempty" json:"selector,omitempty"`
	// MaxUnavailable is how many of the wave's clusters are updated at once: a count ("1")
	// or a percentage of the wave's clusters ("50%", rounded down, at least 1). Empty
	// means all of them.
	MaxUnavailable string `yaml:"maxUnavailable,omitempty" json:"maxUnavailable,omitempty"`
	// Soak is how long the wave's clusters must stay healthy after their update before
	// the next wave starts ("5m"); zero starts the next wave as soon as this one is
	// healthy.
	Soak Duration `yaml:"soak,omitempty" json:"soak,omitempty"`
}

// ImplicitWave is the name of the wave of clusters no declared wave selects.
const ImplicitWave = "(clusters in no wave)"

// WavePlan is one wave as it applies to one App: its clusters, in the repository's order.
type WavePlan struct {
	Name     string
	Clusters []string
	// Batch is how many clusters are updated at once (MaxUnavailable resolved).
	Batch int
	Soak  time.Duration
	// Implicit: the clusters no declared wave selected.
	Implicit bool
}

// RolloutNotify is who hears of an App's halted rollout: its strategy's notify, else the
// Fleet's driftNotify; nil when nobody is named.
func (r *Repo) RolloutNotify(a *App) *DriftNotify {
	if s := r.Rollout(a); s != nil && s.Notify != nil {
		return s.Notify
	}
	return r.Fleet.Spec.DriftNotify
}

// Rollout is the strategy that applies to an App: its own, or the Fleet's; nil means all
// at once.
func (r *Repo) Rollout(a *App) *RolloutStrategy {
	s := a.Spec.Rollout
	if s == nil && r.Fleet != nil {
		s = r.Fleet.Spec.Rollout
	}
	if s == nil || s.AllAtOnce || len(s.Waves) == 0 {
		return nil
	}
	return s
}

// Waves is an App's rollout schedule over the clusters it targets: nil when the App rolls
// out all at once. Empty waves are kept (they pass at once), so that a schedule's wave
// numbers are those of the file.
func (r *Repo) Waves(a *App) []WavePlan {
	s := r.Rollout(a)
	if s == nil {
		return nil
	}
	var targeted []*Cluster
	for _, c := range r.Clusters {
		if a.Targets(c) || len(r.TargetNamespaces(a, c)) > 0 {
			targeted = append(targeted, c)
		}
	}
	taken := map[string]bool{}
	var out []WavePlan
	for _, w := range s.Waves {
		p := WavePlan{Name: w.Name, Soak: w.Soak.Duration}
		for _, c := range targeted {
			if !taken[c.Metadata.Name] && w.selects(c) {
				taken[c.Metadata.Name] = true
				p.Clusters = append(p.Clusters, c.Metadata.Name)
			}
		}
		p.Batch = batchSize(w.MaxUnavailable, len(p.Clusters))
		out = append(out, p)
	}
	rest := WavePlan{Name: ImplicitWave, Implicit: true}
	for _, c := range targeted {
		if !taken[c.Metadata.Name] {
			rest.Clusters = append(rest.Clusters, c.Metadata.Name)
		}
	}
	if len(rest.Clusters) > 0 {
		rest.Batch = len(rest.Clusters)
		out = append(out, rest)
	}
	return out
}

// selects says whether the wave chooses the cluster; a wave with neither clusters nor a
// selector chooses every cluster (the rest).
func (w *Wave) selects(c *Cluster) bool {
	if len(w.Clusters) == 0 && w.Selector == nil {
		return true
	}
	return (&App{Spec: AppSpec{Targets: Targets{Clusters: w.Clusters, Selector: w.Selector}}}).Targets(c)
}

// batchSize resolves maxUnavailable for a wave of n clusters.
func batchSize(maxUnavailable string, n int) int {
	if n == 0 {
		return 0
	}
	if maxUnavailable == "" {
		return n
	}
	if pct, ok := strings.CutSuffix(maxUnavailable, "%"); ok {
		p, _ := strconv.Atoi(pct)
		return min(n, max(1, int(math.Floor(float64(n)*float64(p)/100))))
	}
	k, _ := strconv.Atoi(maxUnavailable)
	return min(n, max(1, k))
}

// validateRollout checks a strategy where it is declared (field is "spec.rollout").
func (r *Repo) validateRollout(o Origin, field string, s *RolloutStrategy) ErrorList {
	if s == nil {
		return nil
	}
	var errs ErrorList
	switch s.OnFailure {
	case "", RolloutHalt, RolloutRollback:
	default:
		errs = append(errs, o.Errorf(field+".onFailure", "unknown onFailure %q; expected %s (stop the rollout at the failed wave) or %s (also put the failed wave back to the revision it had)", s.OnFailure, RolloutHalt, RolloutRollback))
	}
	if s.AllAtOnce && len(s.Waves) > 0 {
		errs = append(errs, o.Errorf(field+".allAtOnce", "allAtOnce turns waves off; remove either allAtOnce or waves"))
	}
	if dn := s.Notify; dn != nil {
		errs = append(errs, validateReceiverGroupRefs(r, o, field+".notify", "rollout notification", dn.ReceiverGroups)...)
		errs = append(errs, validateNotifyRefs(r, o, field+".notify", "rollout notification", dn.Notify, dn.ReceiverGroups, r.ReceiversOf(dn.ReceiverGroups))...)
	}
	names := map[string]int{}
	owner := map[string]int{} // cluster -> first wave that selects it
	for i, w := range s.Waves {
		wf := fmt.Sprintf("%s.waves[%d]", field, i)
		switch prev, dup := names[w.Name]; {
		case w.Name == "":
			errs = append(errs, o.Errorf(wf+".name", "a wave needs a name: status, plan and alerts name the wave"))
		case dup:
			errs = append(errs, o.Errorf(wf+".name", "wave %q is already declared as waves[%d]", w.Name, prev))
		default:
			names[w.Name] = i
		}
		if m := w.MaxUnavailable; m != "" && !validMaxUnavailable(m) {
			errs = append(errs, o.Errorf(wf+".maxUnavailable", "%q is not a count or a percentage: write a whole number of clusters (\"1\") or a percentage of the wave's clusters (\"50%%\")", m))
		}
		if w.Soak.Duration < 0 {
			errs = append(errs, o.Errorf(wf+".soak", "a soak time cannot be negative"))
		}
		if rest := len(w.Clusters) == 0 && w.Selector == nil; rest && i != len(s.Waves)-1 {
			errs = append(errs, o.Errorf(wf, "a wave with neither clusters nor a selector takes every cluster left (\"the rest\"), so it must be the last wave"))
			continue
		}
		for j, name := range w.Clusters {
			if r.Cluster(name) == nil {
				errs = append(errs, o.Errorf(fmt.Sprintf("%s.clusters[%d]", wf, j), "no Cluster named %q in the repository", name))
			}
		}
		if len(w.Clusters) == 0 && w.Selector == nil {
			continue
		}
		for _, c := range r.Clusters {
			if !w.selects(c) {
				continue
			}
			if prev, ok := owner[c.Metadata.Name]; ok {
				errs = append(errs, o.Errorf(wf, "waves overlap: cluster %q is in wave %q (waves[%d]) and in wave %q; a cluster belongs to one wave", c.Metadata.Name, s.Waves[prev].Name, prev, w.Name))
				continue
			}
			owner[c.Metadata.Name] = i
		}
	}
	return errs
}

func validMaxUnavailable(m string) bool {
	if pct, ok := strings.CutSuffix(m, "%"); ok {
		p, err := strconv.Atoi(pct)
		return err == nil && p > 0 && p <= 100
	}
	k, err := strconv.Atoi(m)
	return err == nil && k > 0
}

// rolloutWarnings are the allowed but probably unmeant parts of a strategy: a wave that
// selects no cluster, and a soak longer than the health timeout (an update that is still
// progressing when the timeout ends halts the rollout, so a wave is judged over a longer
// time than its update was given).
func (r *Repo) rolloutWarnings(o Origin, field string, s *RolloutStrategy, healthTimeout time.Duration) ErrorList {
	if s == nil {
		return nil
	}
	var out ErrorList
	for i, w := range s.Waves {
		if healthTimeout > 0 && w.Soak.Duration > healthTimeout {
			out = append(out, o.Errorf(fmt.Sprintf("%s.waves[%d].soak", field, i), "wave %q soaks for %s, longer than the Fleet's healthTimeout (%s): its clusters must stay healthy longer than an update may take to become healthy; raise spec.healthTimeout or shorten the soak if that is not meant", w.Name, w.Soak.Duration, healthTimeout))
		}
		if len(w.Clusters) == 0 && w.Selector == nil {
			continue
		}
		if !slices.ContainsFunc(r.Clusters, w.selects) {
			out = append(out, o.Errorf(fmt.Sprintf("%s.waves[%d]", field, i), "wave %q selects no cluster of the repository (cluster labels: %s); it passes at once", w.Name, r.clusterLabels()))
		}
	}
	return out
}
