package schema

// App is a set of Kubernetes objects, built from a source in the repository, applied to
// the clusters its targets select.
type App struct {
	Object `yaml:",inline" json:",inline"`
	Spec   AppSpec `yaml:"spec" json:"spec"`
}

// AppSpec says what an App contains and where it goes.
type AppSpec struct {
	Source AppSource `yaml:"source" json:"source"`
	// Targets select the clusters the App is applied to.
	Targets Targets `yaml:"targets" json:"targets"`
	// Business, when set, makes this a business App: its objects may only land in that
	// business's Namespaces (spec.targets.namespaces), and it may not contain
	// cluster-scoped objects. Platform Apps leave it empty.
	Business string `yaml:"business,omitempty" json:"business,omitempty"`
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
	Clusters []string `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	// Namespaces names business Namespace objects; the App is applied into each, on the
	// namespace's cluster.
	Namespaces []string       `yaml:"namespaces,omitempty" json:"namespaces,omitempty"`
	Selector   *LabelSelector `yaml:"selector,omitempty" json:"selector,omitempty"`
}

// LabelSelector matches cluster labels; every listed label must match.
type LabelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels,omitempty" json:"matchLabels,omitempty"`
}
