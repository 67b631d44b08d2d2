package schema

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// defaultsClusters fills in TKEStack's defaults.
func (r *Repo) defaultsClusters() {
	for _, c := range r.Clusters {
		c.setDefaults()
	}
}

// validateClusters checks every Cluster.
func (r *Repo) validateClusters() ErrorList {
	var errs ErrorList
	for _, c := range r.Clusters {
		errs = append(errs, c.validate(r.Fleet)...)
	}
	return errs
}

func (c *Cluster) setDefaults() {
	if c.Spec.Type == "" {
		c.Spec.Type = ClusterImported
	}
	if c.Spec.Credentials.KubeconfigContext == "" {
		c.Spec.Credentials.KubeconfigContext = c.Metadata.Name
	}
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
