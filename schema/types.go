package schema

import (
	"time"
)

// APIVersion is the apiVersion every fleet file declares.
const APIVersion = "gitfleet.dev/v1alpha1"

// Kind names of the fleet repository.
const (
	KindFleet   = "Fleet"
	KindCluster = "Cluster"
	KindApp     = "App"
)

// ObjectMeta is the part of Kubernetes' metadata that fleet files use.
type ObjectMeta struct {
	// Name identifies the object among those of its kind in the repository.
	Name string `yaml:"name" json:"name"`
	// Labels are matched by App target selectors (clusters) and copied nowhere else.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Annotations are free-form notes for people and tools; gitfleet ignores them.
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// TypeMeta is the apiVersion and kind header of every fleet file.
type TypeMeta struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
}

// Fleet holds the defaults that apply to the whole repository. A repository has at most one;
// without one the defaults below apply.
type Fleet struct {
	TypeMeta `yaml:",inline" json:",inline"`
	Metadata ObjectMeta `yaml:"metadata" json:"metadata"`
	Spec     FleetSpec  `yaml:"spec" json:"spec"`
	Origin   Origin     `yaml:"-" json:"-"`
}

// FleetSpec is the repository-wide configuration.
type FleetSpec struct {
	// Interval is how often the reconciler fetches the repository and re-applies it.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Prune deletes objects that were removed from the repository. Apps may override it.
	Prune *bool `yaml:"prune,omitempty" json:"prune,omitempty"`
	// Drift is what happens when someone changes a managed object out of band: correct
	// re-applies the repository's version, alert only reports it. Apps may override it.
	Drift DriftPolicy `yaml:"drift,omitempty" json:"drift,omitempty"`
	// HealthTimeout bounds how long an apply waits for the applied objects to become
	// healthy before it reports them as still progressing.
	HealthTimeout Duration `yaml:"healthTimeout,omitempty" json:"healthTimeout,omitempty"`
	// KubernetesVersions lists the versions clusters may declare (TKEStack v1.5.0 ships
	// 1.16.9, 1.17.13 and 1.18.3); empty means any version.
	KubernetesVersions []string `yaml:"kubernetesVersions,omitempty" json:"kubernetesVersions,omitempty"`
}

// DriftPolicy says what to do with out-of-band changes.
type DriftPolicy string

const (
	DriftCorrect DriftPolicy = "correct"
	DriftAlert   DriftPolicy = "alert"
)

// Cluster is one member cluster that gitfleet applies to.
type Cluster struct {
	TypeMeta `yaml:",inline" json:",inline"`
	Metadata ObjectMeta  `yaml:"metadata" json:"metadata"`
	Spec     ClusterSpec `yaml:"spec" json:"spec"`
	Origin   Origin      `yaml:"-" json:"-"`
}

// ClusterSpec describes how to reach a member cluster and what it is.
type ClusterSpec struct {
	// DisplayName is the name people see (TKEStack: fewer than 60 characters).
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Type is Imported (an existing cluster gitfleet only applies to) or Baremetal (a
	// standalone cluster whose machines the fleet repo also declares).
	Type ClusterType `yaml:"type,omitempty" json:"type,omitempty"`
	// Credentials say where gitfleet finds the cluster's credentials; never the
	// credentials themselves.
	Credentials Credentials `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	// Version is the cluster's Kubernetes version, for example 1.18.3.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
}

// ClusterType is how the platform came to manage a cluster.
type ClusterType string

const (
	ClusterImported  ClusterType = "Imported"
	ClusterBaremetal ClusterType = "Baremetal"
)

// Credentials point at a cluster's credentials outside the repository.
type Credentials struct {
	// KubeconfigContext is the context, in the kubeconfig given to gitfleet, that reaches
	// this cluster. Defaults to the cluster's name.
	KubeconfigContext string `yaml:"kubeconfigContext,omitempty" json:"kubeconfigContext,omitempty"`
}

// App is a set of Kubernetes objects, built from a source in the repository, applied to
// the clusters its targets select.
type App struct {
	TypeMeta `yaml:",inline" json:",inline"`
	Metadata ObjectMeta `yaml:"metadata" json:"metadata"`
	Spec     AppSpec    `yaml:"spec" json:"spec"`
	Origin   Origin     `yaml:"-" json:"-"`
}

// AppSpec says what an App contains and where it goes.
type AppSpec struct {
	Source AppSource `yaml:"source" json:"source"`
	// Targets select the clusters the App is applied to.
	Targets Targets `yaml:"targets" json:"targets"`
	// Namespace, when set, puts every namespaced object of the App into this namespace
	// (kustomize's namespace transformer), like Flux's targetNamespace.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Prune overrides the Fleet's prune setting for this App.
	Prune *bool `yaml:"prune,omitempty" json:"prune,omitempty"`
	// Drift overrides the Fleet's drift policy for this App.
	Drift DriftPolicy `yaml:"drift,omitempty" json:"drift,omitempty"`
	// DependsOn names Apps that must be applied and healthy first.
	DependsOn []string `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
}

// AppSource is where an App's objects come from. Exactly one field is set.
type AppSource struct {
	Kustomize *KustomizeSource `yaml:"kustomize,omitempty" json:"kustomize,omitempty"`
}

// KustomizeSource is a directory with a kustomization.yaml.
type KustomizeSource struct {
	// Path is the directory, relative to the repository root (as in Flux and Argo CD).
	Path string `yaml:"path" json:"path"`
}

// Targets select clusters by name and by label; a cluster selected either way is a target.
type Targets struct {
	Clusters []string       `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	Selector *LabelSelector `yaml:"selector,omitempty" json:"selector,omitempty"`
}

// LabelSelector matches cluster labels; every listed label must match.
type LabelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels,omitempty" json:"matchLabels,omitempty"`
}

// Duration is a time.Duration written as in Go and Kubernetes ("30s", "5m", "1h").
type Duration struct {
	time.Duration
}

// MarshalYAML writes the duration back in the form people write it.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
