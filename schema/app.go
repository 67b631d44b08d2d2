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
	// Rollout replaces the Fleet's rollout strategy for this App ({allAtOnce: true} turns
	// waves off).
	Rollout *RolloutStrategy `yaml:"rollout,omitempty" json:"rollout,omitempty"`
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

// HelmSource is a Helm v3 chart, rendered without a cluster like `helm template`. The
// chart is either kept in the repository (a directory or a .tgz; Repository empty) or
// taken from a Helm repository or an OCI registry (Repository set), pinned by the fleet
// repository's ChartLock to an exact version and the digest of its archive, so that
// what is applied is what the lock file, reviewed in a pull request, says.
type HelmSource struct {
	// Chart is, without Repository, the chart directory or .tgz file relative to the
	// repository root, whose dependencies are vendored in its charts/ directory or
	// locked like a remote chart's. With Repository, it is the chart's name there.
	Chart string `yaml:"chart" json:"chart"`
	// Repository is where a remote chart comes from: the address of a Helm repository
	// (https://charts.example.com, the directory that serves index.yaml) or of an OCI
	// registry path (oci://registry.example.com/charts; the chart is
	// oci://registry.example.com/charts/<chart>).
	Repository string `yaml:"repository,omitempty" json:"repository,omitempty"`
	// Version is, with Repository, the chart version or semver range (1.2.3, ~1.2,
	// >=1.2 <2); `gitfleet lock` resolves it to one version in the lock file.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Auth are the credentials for Repository, each a reference to a secret, also sent to
	// the chart's dependencies on the same host (as Helm does), never to another host.
	Auth *ChartAuth `yaml:"auth,omitempty" json:"auth,omitempty"`
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

// IsRemote says whether the chart comes from a Helm repository or an OCI registry.
func (h *HelmSource) IsRemote() bool { return h.Repository != "" }

// ChartAuth are the credentials of a Helm repository or OCI registry: basic auth
// (username and password), or a bearer token, and optionally a TLS client certificate
// and the CA that signs the server's certificate. Every value is a reference (the
// operator's secret policy decides which ones a repository may name), never the value.
type ChartAuth struct {
	Username *SecretRef `yaml:"username,omitempty" json:"username,omitempty"`
	Password *SecretRef `yaml:"password,omitempty" json:"password,omitempty"`
	// Token is sent as "Authorization: Bearer <token>" (an OCI registry's access token).
	Token *SecretRef `yaml:"token,omitempty" json:"token,omitempty"`
	// CertFile and KeyFile are a PEM client certificate and its key, for mutual TLS.
	CertFile *SecretRef `yaml:"certFile,omitempty" json:"certFile,omitempty"`
	KeyFile  *SecretRef `yaml:"keyFile,omitempty" json:"keyFile,omitempty"`
	// CAFile is the PEM CA bundle the server's certificate is checked against, instead
	// of the system's.
	CAFile *SecretRef `yaml:"caFile,omitempty" json:"caFile,omitempty"`
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
