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
	// PlaintextAllowed lists the values of this App that look like credentials (a
	// ConfigMap key named token, a Helm value named password) and are not, each with the
	// reason, so that the exception is reviewed like any other change. Secrets are never
	// allowed in plain text: encrypt them with sops.
	PlaintextAllowed []PlaintextAllowance `yaml:"plaintextAllowed,omitempty" json:"plaintextAllowed,omitempty"`
}

// PlaintextAllowance is one value kept in plain text on purpose. Exactly one of
// ConfigMap and HelmValue is set.
type PlaintextAllowance struct {
	// ConfigMap is the name of a ConfigMap in the App's manifests (as written there,
	// before any namePrefix).
	ConfigMap string `yaml:"configMap,omitempty" json:"configMap,omitempty"`
	// Key is one key of that ConfigMap; empty allows all its keys.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// HelmValue is the dotted path of a Helm value of the App (auth.tokenTTL).
	HelmValue string `yaml:"helmValue,omitempty" json:"helmValue,omitempty"`
	// Reason says why the value is not a secret.
	Reason string `yaml:"reason" json:"reason"`
}

// Allows says whether a ConfigMap key (configMap != "") or a Helm value path is allowed
// in plain text.
func (s *AppSpec) Allows(configMap, key, helmValue string) bool {
	for _, a := range s.PlaintextAllowed {
		switch {
		case configMap != "" && a.ConfigMap == configMap && (a.Key == "" || a.Key == key):
			return true
		case helmValue != "" && a.HelmValue == helmValue:
			return true
		}
	}
	return false
}

// AppSource is where an App's objects come from. Exactly one field is set.
type AppSource struct {
	Kustomize *KustomizeSource `yaml:"kustomize,omitempty" json:"kustomize,omitempty"`
	Helm      *HelmSource      `yaml:"helm,omitempty" json:"helm,omitempty"`
}

// HelmSource is a Helm v3 chart kept in the repository (a directory or a .tgz), rendered
// without a cluster and without network access, like `helm template`.
type HelmSource struct {
	// Chart is the chart directory or .tgz file, relative to the repository root.
	// Dependencies must be vendored in its charts/ directory.
	Chart string `yaml:"chart" json:"chart"`
	// ReleaseName defaults to the App's name (TKEStack's Helm app name rules apply).
	ReleaseName string `yaml:"releaseName,omitempty" json:"releaseName,omitempty"`
	// ValuesFiles are values files in the repository, applied in order over the chart's
	// defaults.
	ValuesFiles []string `yaml:"valuesFiles,omitempty" json:"valuesFiles,omitempty"`
	// Values are applied over the values files.
	Values map[string]any `yaml:"values,omitempty" json:"values,omitempty"`
	// ValuesByLabel are applied, in order, on clusters whose labels match.
	ValuesByLabel []LabelValues `yaml:"valuesByLabel,omitempty" json:"valuesByLabel,omitempty"`
	// ValuesByCluster are applied last, on the named cluster.
	ValuesByCluster map[string]map[string]any `yaml:"valuesByCluster,omitempty" json:"valuesByCluster,omitempty"`
}

// LabelValues are Helm values for the clusters a selector matches.
type LabelValues struct {
	Selector LabelSelector  `yaml:"selector" json:"selector"`
	Values   map[string]any `yaml:"values" json:"values"`
}

// KustomizeSource is a directory with a kustomization.yaml.
type KustomizeSource struct {
	// Path is the directory, relative to the repository root (as in Flux and Argo CD).
	Path string `yaml:"path" json:"path"`
	// Overlays pick another directory for some clusters: the first overlay whose clusters
	// or selector match a cluster is built for it; other clusters get Path.
	Overlays []KustomizeOverlay `yaml:"overlays,omitempty" json:"overlays,omitempty"`
}

// KustomizeOverlay is the kustomization built for the clusters it selects.
type KustomizeOverlay struct {
	Clusters []string       `yaml:"clusters,omitempty" json:"clusters,omitempty"`
	Selector *LabelSelector `yaml:"selector,omitempty" json:"selector,omitempty"`
	Path     string         `yaml:"path" json:"path"`
}

// PathFor returns the kustomization directory to build for a cluster.
func (k *KustomizeSource) PathFor(c *Cluster) string {
	for _, o := range k.Overlays {
		t := Targets{Clusters: o.Clusters, Selector: o.Selector}
		if (&App{Spec: AppSpec{Targets: t}}).Targets(c) {
			return o.Path
		}
	}
	return k.Path
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
