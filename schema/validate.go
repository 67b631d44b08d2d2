package schema

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults used when the Fleet does not say otherwise.
const (
	DefaultInterval      = 5 * time.Minute
	DefaultHealthTimeout = 2 * time.Minute
)

// dnsLabel is the Kubernetes DNS label rule (RFC 1123), which TKEStack also uses for names.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// version is a Kubernetes release version without the leading v, as TKEStack writes it.
var version = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// finish sorts the loaded objects, fills in defaults and checks each object and the
// references between them.
func (r *Repo) finish(fsys fs.FS) ErrorList {
	sort.SliceStable(r.Clusters, func(i, j int) bool { return r.Clusters[i].Metadata.Name < r.Clusters[j].Metadata.Name })
	sort.SliceStable(r.Apps, func(i, j int) bool { return r.Apps[i].Metadata.Name < r.Apps[j].Metadata.Name })
	if r.Fleet == nil {
		r.Fleet = &Fleet{TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindFleet}, Metadata: ObjectMeta{Name: "fleet"}}
	}
	r.Fleet.setDefaults()
	for _, c := range r.Clusters {
		c.setDefaults()
	}
	for _, a := range r.Apps {
		a.setDefaults(r.Fleet)
	}

	var errs ErrorList
	errs = append(errs, r.Fleet.validate()...)
	errs = append(errs, uniqueNames(KindCluster, r.Clusters, func(c *Cluster) (string, Origin) { return c.Metadata.Name, c.Origin })...)
	errs = append(errs, uniqueNames(KindApp, r.Apps, func(a *App) (string, Origin) { return a.Metadata.Name, a.Origin })...)
	for _, c := range r.Clusters {
		errs = append(errs, c.validate(r.Fleet)...)
	}
	for _, a := range r.Apps {
		errs = append(errs, a.validate(r, fsys)...)
	}
	errs = append(errs, r.dependencyCycles()...)
	return errs
}

func (f *Fleet) setDefaults() {
	if f.Spec.Interval.Duration == 0 {
		f.Spec.Interval.Duration = DefaultInterval
	}
	if f.Spec.HealthTimeout.Duration == 0 {
		f.Spec.HealthTimeout.Duration = DefaultHealthTimeout
	}
	if f.Spec.Prune == nil {
		f.Spec.Prune = ptr(true)
	}
	if f.Spec.Drift == "" {
		f.Spec.Drift = DriftCorrect
	}
}

func (c *Cluster) setDefaults() {
	if c.Spec.Type == "" {
		c.Spec.Type = ClusterImported
	}
	if c.Spec.Credentials.KubeconfigContext == "" {
		c.Spec.Credentials.KubeconfigContext = c.Metadata.Name
	}
}

func (a *App) setDefaults(f *Fleet) {
	if a.Spec.Prune == nil {
		a.Spec.Prune = ptr(*f.Spec.Prune)
	}
	if a.Spec.Drift == "" {
		a.Spec.Drift = f.Spec.Drift
	}
}

func (f *Fleet) validate() ErrorList {
	var errs ErrorList
	if f.Origin.File != "" {
		errs = append(errs, validateName(f.Origin, f.Metadata.Name)...)
	}
	errs = append(errs, validateDrift(f.Origin, "spec.drift", f.Spec.Drift)...)
	for i, v := range f.Spec.KubernetesVersions {
		if !version.MatchString(v) {
			errs = append(errs, f.Origin.Errorf(fmt.Sprintf("spec.kubernetesVersions[%d]", i), "%q is not a Kubernetes version; write it as MAJOR.MINOR.PATCH, for example 1.18.3", v))
		}
	}
	return errs
}

func (c *Cluster) validate(f *Fleet) ErrorList {
	errs := validateName(c.Origin, c.Metadata.Name)
	if n := utf8.RuneCountInString(c.Spec.DisplayName); n >= 60 {
		errs = append(errs, c.Origin.Errorf("spec.displayName", "must be shorter than 60 characters (TKEStack's limit), found %d", n))
	}
	if c.Spec.Type != ClusterImported && c.Spec.Type != ClusterBaremetal {
		errs = append(errs, c.Origin.Errorf("spec.type", "unknown cluster type %q; expected %s or %s", c.Spec.Type, ClusterImported, ClusterBaremetal))
	}
	if v := c.Spec.Version; v != "" {
		switch {
		case !version.MatchString(v):
			errs = append(errs, c.Origin.Errorf("spec.version", "%q is not a Kubernetes version; write it as MAJOR.MINOR.PATCH, for example 1.18.3", v))
		case len(f.Spec.KubernetesVersions) > 0 && !slices.Contains(f.Spec.KubernetesVersions, v):
			errs = append(errs, c.Origin.Errorf("spec.version", "version %s is not in the Fleet's kubernetesVersions (%s)", v, strings.Join(f.Spec.KubernetesVersions, ", ")))
		}
	}
	return errs
}

func (a *App) validate(r *Repo, fsys fs.FS) ErrorList {
	errs := validateName(a.Origin, a.Metadata.Name)
	errs = append(errs, validateDrift(a.Origin, "spec.drift", a.Spec.Drift)...)
	if a.Spec.Namespace != "" && !dnsLabel.MatchString(a.Spec.Namespace) {
		errs = append(errs, a.Origin.Errorf("spec.namespace", "%q is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", a.Spec.Namespace))
	}
	switch k := a.Spec.Source.Kustomize; {
	case k == nil:
		errs = append(errs, a.Origin.Errorf("spec.source", "an App needs a source: set spec.source.kustomize.path to a directory with a kustomization.yaml"))
	default:
		errs = append(errs, validateKustomizePath(a.Origin, "spec.source.kustomize.path", k.Path, fsys)...)
	}
	if len(a.Spec.Targets.Clusters) == 0 && a.Spec.Targets.Selector == nil {
		errs = append(errs, a.Origin.Errorf("spec.targets", "an App needs targets: list cluster names in spec.targets.clusters or set spec.targets.selector.matchLabels"))
	}
	for i, name := range a.Spec.Targets.Clusters {
		if r.Cluster(name) == nil {
			errs = append(errs, a.Origin.Errorf(fmt.Sprintf("spec.targets.clusters[%d]", i), "no Cluster named %q in the repository%s", name, knownNames(r.Clusters, func(c *Cluster) string { return c.Metadata.Name })))
		}
	}
	for i, dep := range a.Spec.DependsOn {
		field := fmt.Sprintf("spec.dependsOn[%d]", i)
		switch {
		case dep == a.Metadata.Name:
			errs = append(errs, a.Origin.Errorf(field, "an App cannot depend on itself"))
		case r.App(dep) == nil:
			errs = append(errs, a.Origin.Errorf(field, "no App named %q in the repository%s", dep, knownNames(r.Apps, func(a *App) string { return a.Metadata.Name })))
		}
	}
	return errs
}

// validateKustomizePath checks that a source path stays inside the repository and holds a
// kustomization, so that a typo is caught by `gitfleet validate`, not at apply time.
func validateKustomizePath(o Origin, field, p string, fsys fs.FS) ErrorList {
	if p == "" {
		return ErrorList{o.Errorf(field, "path is required: the directory, relative to the repository root, that holds the kustomization.yaml")}
	}
	clean := path.Clean(strings.TrimPrefix(p, "./"))
	if path.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
		return ErrorList{o.Errorf(field, "path %q must be relative to the repository root and stay inside it", p)}
	}
	info, err := fs.Stat(fsys, clean)
	if err != nil || !info.IsDir() {
		return ErrorList{o.Errorf(field, "directory %q does not exist in the repository", p)}
	}
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := fs.Stat(fsys, path.Join(clean, name)); err == nil {
			return nil
		}
	}
	return ErrorList{o.Errorf(field, "directory %q has no kustomization.yaml", p)}
}

func validateName(o Origin, name string) ErrorList {
	if name == "" {
		return ErrorList{o.Errorf("metadata.name", "name is required")}
	}
	if len(name) > 63 || !dnsLabel.MatchString(name) {
		return ErrorList{o.Errorf("metadata.name", "%q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)}
	}
	return nil
}

func validateDrift(o Origin, field string, p DriftPolicy) ErrorList {
	if p != DriftCorrect && p != DriftAlert {
		return ErrorList{o.Errorf(field, "unknown drift policy %q; expected %s (re-apply the repository's version) or %s (only report)", p, DriftCorrect, DriftAlert)}
	}
	return nil
}

// uniqueNames reports every object whose name an earlier one of the same kind already has.
func uniqueNames[T any](kind string, objs []T, id func(T) (string, Origin)) ErrorList {
	var errs ErrorList
	first := map[string]Origin{}
	for _, o := range objs {
		name, origin := id(o)
		if name == "" {
			continue
		}
		if prev, ok := first[name]; ok {
			errs = append(errs, origin.Errorf("metadata.name", "another %s named %q is declared at %s", kind, name, prev.Pos("metadata.name")))
			continue
		}
		first[name] = origin
	}
	return errs
}

// dependencyCycles reports Apps whose dependsOn chains lead back to themselves; such a
// fleet could never finish applying.
func (r *Repo) dependencyCycles() ErrorList {
	var errs ErrorList
	for _, a := range r.Apps {
		seen := map[string]bool{}
		var walk func(name string) bool
		walk = func(name string) bool {
			if seen[name] {
				return false
			}
			seen[name] = true
			dep := r.App(name)
			if dep == nil {
				return false
			}
			for _, d := range dep.Spec.DependsOn {
				if d == a.Metadata.Name || walk(d) {
					return true
				}
			}
			return false
		}
		for i, d := range a.Spec.DependsOn {
			if d != a.Metadata.Name && walk(d) {
				errs = append(errs, a.Origin.Errorf(fmt.Sprintf("spec.dependsOn[%d]", i), "dependency cycle: %q depends, directly or through other Apps, on %q", d, a.Metadata.Name))
			}
		}
	}
	return errs
}

func knownNames[T any](objs []T, name func(T) string) string {
	if len(objs) == 0 {
		return ""
	}
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = name(o)
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
}

func ptr[T any](v T) *T { return &v }
