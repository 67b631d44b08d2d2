package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckUpgrades compares the Kubernetes versions of the clusters in two revisions of the
// repository and reports every change TKEStack's upgrade rules forbid: a downgrade (an
// upgrade cannot be rolled back, so neither can a git revert of one), a skipped minor
// version, or a major version change. Only one minor step or patch steps up are allowed.
func CheckUpgrades(prev, next *Repo) ErrorList {
	var errs ErrorList
	for _, c := range next.Clusters {
		old := prev.Cluster(c.Metadata.Name)
		if old == nil || old.Spec.Version == "" || c.Spec.Version == "" || old.Spec.Version == c.Spec.Version {
			continue
		}
		from, okFrom := parseVersion(old.Spec.Version)
		to, okTo := parseVersion(c.Spec.Version)
		if !okFrom || !okTo {
			continue // reported by validation already.
		}
		var msg string
		switch {
		case to.less(from):
			msg = fmt.Sprintf("version %s is lower than %s in the previous revision: Kubernetes upgrades cannot be undone, so a downgrade (or a git revert of an upgrade that has started) is refused; if the upgrade has not started on any node yet, set the version back in a new commit only after checking the cluster", c.Spec.Version, old.Spec.Version)
		case to.major != from.major:
			msg = fmt.Sprintf("upgrading from %s to %s changes the major version; only one minor step (%d.%d.x) or patch upgrades are allowed", old.Spec.Version, c.Spec.Version, from.major, from.minor+1)
		case to.minor > from.minor+1:
			msg = fmt.Sprintf("upgrading from %s to %s skips a minor version; upgrade one minor step at a time (first to %d.%d.x)", old.Spec.Version, c.Spec.Version, from.major, from.minor+1)
		default:
			continue
		}
		errs = append(errs, c.Origin.Errorf("spec.version", "%s", msg).WithKind(ProblemUpgrade))
	}
	errs.Sort()
	return errs
}

type semver struct{ major, minor, patch int }

func parseVersion(v string) (semver, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) != 3 {
		return semver{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 {
			return semver{}, false
		}
		n[i] = x
	}
	return semver{n[0], n[1], n[2]}, true
}

func (a semver) less(b semver) bool {
	if a.major != b.major {
		return a.major < b.major
	}
	if a.minor != b.minor {
		return a.minor < b.minor
	}
	return a.patch < b.patch
}
