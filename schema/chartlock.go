package schema

import (
	"bytes"
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v4"
)

// ChartLockFile is where `gitfleet lock` writes the lock when the repository has none.
const ChartLockFile = "charts.lock.yaml"

// ChartLock pins every remote Helm chart of the repository (the charts of Apps with
// spec.source.helm.repository, and the dependencies their Chart.yaml declares) to one
// version and the digest of its archive. It is written by `gitfleet lock` and committed,
// so that a chart bump is a reviewed change of this file and a re-pushed tag is refused.
// A repository has at most one.
type ChartLock struct {
	Object `yaml:",inline" json:",inline"`
	Spec   ChartLockSpec `yaml:"spec" json:"spec"`
}

// ChartLockSpec lists the locked charts.
type ChartLockSpec struct {
	Charts []LockedChart `yaml:"charts" json:"charts"`
}

// LockedChart is one remote chart as an App or a chart dependency asks for it
// (Repository, Name, Constraint) and what that was resolved to (Version, Digest).
type LockedChart struct {
	// Repository is the Helm repository or OCI registry path, as the App or the
	// dependency writes it.
	Repository string `yaml:"repository" json:"repository"`
	// Name is the chart's name in the repository.
	Name string `yaml:"name" json:"name"`
	// Constraint is the version or range asked for; an entry whose constraint no longer
	// matches what is asked is stale.
	Constraint string `yaml:"constraint" json:"constraint"`
	// Version is the exact version the constraint resolved to.
	Version string `yaml:"version" json:"version"`
	// Digest is "sha256:" and the hex SHA-256 of the chart archive (the .tgz).
	Digest string `yaml:"digest" json:"digest"`
}

// chartDigest is the form of LockedChart.Digest.
var chartDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Lock is the repository's chart lock, or nil when it has none.
func (r *Repo) Lock() *ChartLock {
	if len(r.ChartLocks) == 0 {
		return nil
	}
	return r.ChartLocks[0]
}

// LockedChart returns the lock entry for a chart as asked for, and its index in
// spec.charts, or nil and -1.
func (r *Repo) LockedChart(repository, name, constraint string) (*LockedChart, int) {
	l := r.Lock()
	if l == nil {
		return nil, -1
	}
	for i := range l.Spec.Charts {
		e := &l.Spec.Charts[i]
		if e.Repository == repository && e.Name == name && e.Constraint == constraint {
			return e, i
		}
	}
	return nil, -1
}

// validateChartLocks checks the shape of the lock: one per repository, every entry
// complete, each chart asked for once. Whether the entries match what the Apps ask for
// needs the charts' own dependencies and semver, and is checked where charts are fetched.
func (r *Repo) validateChartLocks() ErrorList {
	var errs ErrorList
	for _, l := range r.ChartLocks[min(1, len(r.ChartLocks)):] {
		errs = append(errs, l.Origin.Errorf("kind", "a repository has one ChartLock; another is declared at %s", r.ChartLocks[0].Origin.Pos("")))
	}
	for _, l := range r.ChartLocks {
		seen := map[[3]string]int{}
		for i, e := range l.Spec.Charts {
			field := fmt.Sprintf("spec.charts[%d]", i)
			for _, f := range []struct{ name, value, want string }{
				{"repository", e.Repository, "the Helm repository (https://...) or OCI registry path (oci://...)"},
				{"name", e.Name, "the chart's name"},
				{"constraint", e.Constraint, "the version or range the App or dependency asks for"},
				{"version", e.Version, "the exact version it resolved to"},
			} {
				if f.value == "" {
					errs = append(errs, l.Origin.Errorf(field+"."+f.name, "required: %s (run gitfleet lock to rewrite the file)", f.want))
				}
			}
			if !chartDigest.MatchString(e.Digest) {
				errs = append(errs, l.Origin.Errorf(field+".digest", "%q is not a chart digest: want sha256: and 64 lowercase hex digits (run gitfleet lock to rewrite the file)", e.Digest))
			}
			key := [3]string{e.Repository, e.Name, e.Constraint}
			if j, dup := seen[key]; dup {
				errs = append(errs, l.Origin.Errorf(field, "chart %s %s from %s is locked twice (also spec.charts[%d])", e.Name, e.Constraint, e.Repository, j))
			}
			seen[key] = i
		}
	}
	return errs
}

// MarshalChartLock writes a lock file, entries in the order given, with a header that
// tells a reader where it comes from.
func MarshalChartLock(l *ChartLock) ([]byte, error) {
	type meta struct {
		Name string `yaml:"name"`
	}
	type spec struct {
		Charts []LockedChart `yaml:"charts"`
	}
	doc := struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   meta   `yaml:"metadata"`
		Spec       spec   `yaml:"spec"`
	}{APIVersion, KindChartLock, meta{Name: l.Metadata.Name}, spec{Charts: l.Spec.Charts}}
	if doc.Metadata.Name == "" {
		doc.Metadata.Name = "charts"
	}
	if doc.Spec.Charts == nil {
		doc.Spec.Charts = []LockedChart{}
	}
	var b bytes.Buffer
	b.WriteString("# Written by `gitfleet lock`: the exact version and archive digest of every remote\n# Helm chart the Apps use. Review changes like code; do not edit by hand.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
