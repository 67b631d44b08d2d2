package status

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// RolloutPhase is where an App's rollout of a revision stands.
type RolloutPhase string

const (
	// RolloutProgressing: a wave is being updated.
	RolloutProgressing RolloutPhase = "Progressing"
	// RolloutSoaking: the current wave is updated and must stay healthy until soakUntil.
	RolloutSoaking RolloutPhase = "Soaking"
	// RolloutHalted: a wave failed; later waves keep the revision they had until a new
	// commit starts a new rollout.
	RolloutHalted RolloutPhase = "Halted"
	// RolloutComplete: every wave has the revision.
	RolloutComplete RolloutPhase = "Complete"
)

// Rollout is the content of status/rollouts/<app>.yaml: the revision an App is moving to,
// wave by wave, and the revision each cluster has. A restarted or newly elected gitfleet
// continues from it.
type Rollout struct {
	App string `json:"app"`
	// Revision is the revision being rolled out.
	Revision string       `json:"revision"`
	Phase    RolloutPhase `json:"phase"`
	// Wave is the index of the wave being updated or soaked (len(Waves) once complete).
	Wave int `json:"wave"`
	// SoakUntil is when the current wave's soak ends, when it soaks.
	SoakUntil *time.Time `json:"soakUntil,omitempty"`
	// Changed says whether a cluster of the current wave got different objects (a wave
	// whose clusters render the same soaks for nothing).
	Changed bool          `json:"changed,omitempty"`
	Waves   []RolloutWave `json:"waves"`
	Halted  *RolloutHalt  `json:"halted,omitempty"`
}

// RolloutWave is one wave and the revision each of its clusters has.
type RolloutWave struct {
	Name     string           `json:"name"`
	Clusters []RolloutCluster `json:"clusters"`
}

// RolloutCluster is the revision of the App on one cluster ("" before it was ever
// applied there).
type RolloutCluster struct {
	Cluster  string `json:"cluster"`
	Revision string `json:"revision,omitempty"`
}

// RolloutHalt says where and why a rollout stopped.
type RolloutHalt struct {
	Wave    string    `json:"wave"`
	Cluster string    `json:"cluster"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
	// RolledBack: the failed wave was put back to the revisions it had.
	RolledBack bool `json:"rolledBack,omitempty"`
}

// RolloutDir holds the rollout files.
const RolloutDir = "status/rollouts"

// RolloutFile is the path of an App's rollout file.
func RolloutFile(app string) string { return path.Join(RolloutDir, app+".yaml") }

// ReadRollouts reads the rollout files of a revision's status, by App.
func ReadRollouts(files fs.FS) map[string]Rollout {
	return readFiles(files, RolloutDir, func(r Rollout) string { return r.App })
}

// ReadClusters reads the cluster status files of a revision, by cluster.
func ReadClusters(files fs.FS) map[string]Cluster {
	return readFiles(files, "status/clusters", func(c Cluster) string { return c.Cluster })
}

// readFiles reads the <name>.yaml files of a status directory, keyed by name; a file
// someone broke, or one that names another object, is skipped (gitfleet rewrites it).
func readFiles[T any](files fs.FS, dir string, nameOf func(T) string) map[string]T {
	out := map[string]T{}
	entries, _ := fs.ReadDir(files, dir) // none before the first status commit.
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok || e.IsDir() {
			continue
		}
		data, err := fs.ReadFile(files, path.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var v T
		if yaml.Unmarshal(data, &v) == nil && nameOf(v) == name {
			out[name] = v
		}
	}
	return out
}

// Summary is the rollout in one line, for the status commit and logs.
func (r Rollout) Summary() string {
	rev := short(r.Revision)
	switch r.Phase {
	case RolloutHalted:
		if h := r.Halted; h != nil {
			return fmt.Sprintf("rollout of %s %s halted at wave %s (%s: %s)", r.App, rev, h.Wave, h.Cluster, oneLine(h.Reason))
		}
	case RolloutComplete:
		return fmt.Sprintf("rollout of %s %s complete", r.App, rev)
	}
	wave := ""
	if r.Wave < len(r.Waves) {
		wave = r.Waves[r.Wave].Name
	}
	return fmt.Sprintf("rollout of %s %s at wave %d/%d %s (%s)", r.App, rev, r.Wave+1, len(r.Waves), wave, strings.ToLower(string(r.Phase)))
}

// RolloutFiles are the rollout files of the rollouts given.
func RolloutFiles(rollouts []Rollout) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, r := range rollouts {
		data, err := yaml.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("rollout of %s: %w", r.App, err)
		}
		files[RolloutFile(r.App)] = append([]byte("# Written by gitfleet as the rollout moves; edits here are overwritten.\n"), data...)
	}
	return files, nil
}

// Progress is one line per wave: its clusters and how many have the revision.
func (r Rollout) Progress() []string {
	var out []string
	for i, w := range r.Waves {
		names, updated := make([]string, 0, len(w.Clusters)), 0
		for _, c := range w.Clusters {
			names = append(names, c.Cluster)
			if c.Revision == r.Revision {
				updated++
			}
		}
		mark := ""
		switch {
		case r.Phase == RolloutHalted && r.Halted != nil && r.Halted.Wave == w.Name:
			mark = " (halted here)"
		case i == r.Wave && r.Phase == RolloutSoaking && r.SoakUntil != nil:
			mark = " (soaking until " + r.SoakUntil.UTC().Format("15:04:05") + " UTC)"
		case i == r.Wave && r.Phase == RolloutProgressing:
			mark = " (updating)"
		}
		out = append(out, fmt.Sprintf("wave %d %s: %d/%d updated [%s]%s", i+1, w.Name, updated, len(w.Clusters), strings.Join(names, ", "), mark))
	}
	return out
}
