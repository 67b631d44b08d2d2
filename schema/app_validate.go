package schema

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// defaultsApps fills in the Fleet's defaults.
func (r *Repo) defaultsApps() {
	for _, a := range r.Apps {
		a.setDefaults(r.Fleet)
	}
}

// validateApps checks every App, its source and its references.
func (r *Repo) validateApps(fsys fs.FS) ErrorList {
	var errs ErrorList
	for _, a := range r.Apps {
		errs = append(errs, a.validate(r, fsys)...)
	}
	return append(errs, r.dependencyCycles()...)
}

func (a *App) setDefaults(f *Fleet) {
	if a.Spec.Prune == nil {
		a.Spec.Prune = ptr(*f.Spec.Prune)
	}
	if a.Spec.Drift == "" {
		a.Spec.Drift = f.Spec.Drift
	}
}

func (a *App) validate(r *Repo, fsys fs.FS) ErrorList {
	errs := validateName(a.Origin, a.Metadata.Name)
	errs = append(errs, validateDrift(a.Origin, "spec.drift", a.Spec.Drift)...)
	if a.Spec.Namespace != "" && !dnsLabel.MatchString(a.Spec.Namespace) {
		errs = append(errs, a.Origin.Errorf("spec.namespace", "%q is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", a.Spec.Namespace))
	}
	switch k, h := a.Spec.Source.Kustomize, a.Spec.Source.Helm; {
	case k == nil && h == nil:
		errs = append(errs, a.Origin.Errorf("spec.source", "an App needs a source: set spec.source.kustomize.path to a directory with a kustomization.yaml, or spec.source.helm.chart to a chart in the repository"))
	case k != nil && h != nil:
		errs = append(errs, a.Origin.Errorf("spec.source", "set either kustomize or helm, not both"))
	case k != nil:
		errs = append(errs, validateKustomizePath(a.Origin, "spec.source.kustomize.path", k.Path, fsys)...)
		for i, o := range k.Overlays {
			field := fmt.Sprintf("spec.source.kustomize.overlays[%d]", i)
			errs = append(errs, validateKustomizePath(a.Origin, field+".path", o.Path, fsys)...)
			if len(o.Clusters) == 0 && o.Selector == nil {
				errs = append(errs, a.Origin.Errorf(field, "an overlay needs clusters or a selector to say where it applies"))
			}
			for j, name := range o.Clusters {
				if r.Cluster(name) == nil {
					errs = append(errs, a.Origin.Errorf(fmt.Sprintf("%s.clusters[%d]", field, j), "no Cluster named %q in the repository", name))
				}
			}
		}
	default:
		errs = append(errs, a.validateHelm(r, fsys)...)
	}
	for i, pa := range a.Spec.PlaintextAllowed {
		field := fmt.Sprintf("spec.plaintextAllowed[%d]", i)
		switch {
		case (pa.ConfigMap == "") == (pa.HelmValue == ""):
			errs = append(errs, a.Origin.Errorf(field, "set either configMap (with an optional key) or helmValue"))
		case pa.Key != "" && pa.ConfigMap == "":
			errs = append(errs, a.Origin.Errorf(field+".key", "key belongs to a configMap allowance"))
		}
		if strings.TrimSpace(pa.Reason) == "" {
			errs = append(errs, a.Origin.Errorf(field+".reason", "say why the value is not a secret: the reason is what a reviewer approves"))
		}
	}
	t := a.Spec.Targets
	if len(t.Clusters) == 0 && t.Selector == nil && len(t.Namespaces) == 0 {
		errs = append(errs, a.Origin.Errorf("spec.targets", "an App needs targets: list cluster names in spec.targets.clusters, set spec.targets.selector.matchLabels, or list business namespaces in spec.targets.namespaces"))
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

// helmName is TKEStack's rule for Helm app names: 1-63 characters, lowercase letters,
// digits and '-', starting with a letter and ending with a letter or digit.
var helmName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

func (a *App) validateHelm(r *Repo, fsys fs.FS) ErrorList {
	o, h := a.Origin, a.Spec.Source.Helm
	var errs ErrorList
	chart := path.Clean(strings.TrimPrefix(h.Chart, "./"))
	switch {
	case h.IsRemote():
		errs = append(errs, validateRemoteChart(o, h)...)
	case h.Auth != nil:
		errs = append(errs, o.Errorf("spec.source.helm.auth", "auth is for a chart from a Helm repository or OCI registry (set spec.source.helm.repository); the remote dependencies of a chart in the repository are fetched without credentials"))
	case h.Version != "":
		errs = append(errs, o.Errorf("spec.source.helm.version", "version is for a chart from a Helm repository or OCI registry (set spec.source.helm.repository); a chart in the repository has the version its Chart.yaml says"))
	case h.Chart == "":
		errs = append(errs, o.Errorf("spec.source.helm.chart", "the chart is required: a chart directory or .tgz file in the repository"))
	case path.IsAbs(h.Chart) || chart == ".." || strings.HasPrefix(chart, "../") || strings.Contains(h.Chart, "://"):
		errs = append(errs, o.Errorf("spec.source.helm.chart", "chart %q must be a path inside the repository; for a chart from a Helm repository or OCI registry set spec.source.helm.repository to its address and chart to its name", h.Chart))
	case strings.HasSuffix(chart, ".tgz"):
		if _, err := fs.Stat(fsys, chart); err != nil {
			errs = append(errs, o.Errorf("spec.source.helm.chart", "chart archive %q does not exist in the repository", h.Chart))
		}
	default:
		if _, err := fs.Stat(fsys, path.Join(chart, "Chart.yaml")); err != nil {
			errs = append(errs, o.Errorf("spec.source.helm.chart", "directory %q has no Chart.yaml", h.Chart))
		}
	}
	release := h.ReleaseName
	field := "spec.source.helm.releaseName"
	if release == "" {
		release, field = a.Metadata.Name, "metadata.name"
	}
	if len(release) > 63 || !helmName.MatchString(release) {
		errs = append(errs, o.Errorf(field, "%q is not a valid Helm release name: 1 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit", release))
	}
	for i, f := range h.ValuesFiles {
		if _, err := fs.Stat(fsys, path.Clean(strings.TrimPrefix(f, "./"))); err != nil {
			errs = append(errs, o.Errorf(fmt.Sprintf("spec.source.helm.valuesFiles[%d]", i), "values file %q does not exist in the repository", f))
		}
	}
	for _, name := range sortedKeys(h.ValuesByCluster) {
		if r.Cluster(name) == nil {
			errs = append(errs, o.Errorf("spec.source.helm.valuesByCluster."+name, "no Cluster named %q in the repository", name))
		}
	}
	return errs
}

// chartName is what a chart's name may be (Helm's own rule for chart names, as `helm
// create` and `helm lint` check it): it is part of URLs and OCI references.
var chartName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$`)

// validateRemoteChart checks a chart from a Helm repository or an OCI registry. Whether
// it is locked is checked where charts are resolved (the lock's entries depend on the
// charts' own dependencies, which only the archives say).
func validateRemoteChart(o Origin, h *HelmSource) ErrorList {
	var errs ErrorList
	if err := CheckChartRepository(h.Repository); err != nil {
		errs = append(errs, o.Errorf("spec.source.helm.repository", "%s", err.Error()))
	}
	if !chartName.MatchString(h.Chart) {
		errs = append(errs, o.Errorf("spec.source.helm.chart", "%q is not a chart name: with repository set, chart is the chart's name in that repository (lowercase letters, digits, '-', '.' and '_'), not a path", h.Chart))
	}
	if strings.TrimSpace(h.Version) == "" {
		errs = append(errs, o.Errorf("spec.source.helm.version", "required with repository: the chart version or a semver range (1.2.3, ~1.2, >=1.2 <2), which gitfleet lock pins"))
	}
	if a := h.Auth; a != nil {
		f := "spec.source.helm.auth"
		errs = append(errs, validateSecretRef(o, f+".username", a.Username, false)...)
		errs = append(errs, validateSecretRef(o, f+".password", a.Password, false)...)
		errs = append(errs, validateSecretRef(o, f+".token", a.Token, false)...)
		errs = append(errs, validateSecretRef(o, f+".certFile", a.CertFile, false)...)
		errs = append(errs, validateSecretRef(o, f+".keyFile", a.KeyFile, false)...)
		errs = append(errs, validateSecretRef(o, f+".caFile", a.CAFile, false)...)
		switch {
		case (a.Username == nil) != (a.Password == nil):
			errs = append(errs, o.Errorf(f, "set both username and password, or neither"))
		case a.Username != nil && a.Token != nil:
			errs = append(errs, o.Errorf(f+".token", "set either username and password or token, not both"))
		}
		if (a.CertFile == nil) != (a.KeyFile == nil) {
			errs = append(errs, o.Errorf(f, "a client certificate needs both certFile and keyFile"))
		}
	}
	return errs
}

// CheckChartRepository checks the address of a Helm repository or OCI registry path, as
// an App or a chart's dependency writes it.
func CheckChartRepository(repository string) error {
	u, err := url.Parse(repository)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %w", repository, err)
	case u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "oci":
		return fmt.Errorf("%q: want the address of a Helm repository (https://...) or an OCI registry path (oci://registry/path)", repository)
	case u.Host == "":
		return fmt.Errorf("%q has no host", repository)
	case u.User != nil:
		// A password in the address would be a secret in plain text in the repository.
		return fmt.Errorf("%q holds credentials: put them in spec.source.helm.auth as references to secrets, never in the address", redactURL(u))
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q: a repository address has no query or fragment", repository)
	}
	return nil
}

// redactURL is a URL without its user information.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
