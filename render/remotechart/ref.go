package remotechart

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Masterminds/semver/v3"

	"gitfleet.dev/gitfleet/schema"
)

// Ref is a remote chart as an App or a chart dependency asks for it.
type Ref struct {
	// Repository is the Helm repository (https://...) or OCI registry path (oci://...).
	Repository string
	// Name is the chart's name there.
	Name string
	// Constraint is the version or semver range asked for.
	Constraint string
}

func (r Ref) String() string {
	return fmt.Sprintf("chart %s %s from %s", r.Name, r.Constraint, r.Repository)
}

// IsOCI says whether the chart is in an OCI registry.
func (r Ref) IsOCI() bool { return strings.HasPrefix(r.Repository, "oci://") }

// host is the repository's host (and port): credentials go to this host only.
func (r Ref) host() string {
	u, err := url.Parse(r.Repository)
	if err != nil {
		return ""
	}
	return u.Host
}

// ociReference is the chart's OCI reference without the scheme, as Helm's registry
// client takes it (registry/path/chart).
func (r Ref) ociReference() string {
	return strings.TrimSuffix(strings.TrimPrefix(r.Repository, "oci://"), "/") + "/" + r.Name
}

// Locked is a Ref with what the lock pinned it to.
type Locked struct {
	Ref
	Version string
	Digest  string
}

func (l Locked) String() string {
	return fmt.Sprintf("chart %s %s from %s", l.Name, l.Version, l.Repository)
}

// Entry is the lock entry of l.
func (l Locked) Entry() schema.LockedChart {
	return schema.LockedChart{Repository: l.Repository, Name: l.Name, Constraint: l.Constraint, Version: l.Version, Digest: l.Digest}
}

// FromEntry is the Locked chart a lock entry records.
func FromEntry(e schema.LockedChart) Locked {
	return Locked{Ref: Ref{Repository: e.Repository, Name: e.Name, Constraint: e.Constraint}, Version: e.Version, Digest: e.Digest}
}

// AppRef is the Ref of an App's remote chart.
func AppRef(h *schema.HelmSource) Ref {
	return Ref{Repository: h.Repository, Name: h.Chart, Constraint: h.Version}
}

// IsRemoteRepository says whether a dependency's repository field names a Helm
// repository or OCI registry gitfleet fetches from (and locks), rather than a vendored
// chart (empty, file://, or a repository alias such as @stable, which only a local Helm
// configuration can resolve).
func IsRemoteRepository(repository string) bool {
	return strings.HasPrefix(repository, "https://") || strings.HasPrefix(repository, "http://") || strings.HasPrefix(repository, "oci://")
}

// Satisfies says whether the locked version satisfies its constraint.
func (l Locked) Satisfies() bool {
	c, err := semver.NewConstraint(l.Constraint)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(l.Version)
	return err == nil && c.Check(v)
}
