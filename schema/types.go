package schema

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// APIVersion is the apiVersion every fleet file declares.
const APIVersion = "gitfleet.dev/v1alpha1"

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

// Object is what every fleet object has: its kind, its name and labels, and where in the
// repository it was declared.
type Object struct {
	TypeMeta `yaml:",inline" json:",inline"`
	Metadata ObjectMeta `yaml:"metadata" json:"metadata"`
	// Origin is the file and the field positions the object was loaded from.
	Origin Origin `yaml:"-" json:"-"`
}

// Name is the object's metadata.name.
func (o *Object) Name() string { return o.Metadata.Name }

// Source is where the object was declared.
func (o *Object) Source() Origin { return o.Origin }

// Fleet holds the defaults that apply to the whole repository. A repository has at most one;
// without one the defaults below apply.
type Fleet struct {
	Object `yaml:",inline" json:",inline"`
	Spec   FleetSpec `yaml:"spec" json:"spec"`
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
	// StatusBranch receives gitfleet's status commits; empty means the fleet's own branch.
	// A separate branch keeps status out of the fleet's history.
	StatusBranch string `yaml:"statusBranch,omitempty" json:"statusBranch,omitempty"`
	// DriftNotify says who hears about drift (objects changed or deleted outside
	// gitfleet), as an AlertPolicy names its receivers: receiver groups and channel +
	// template pairs. Without it drift is still logged, counted, recorded as an Event and
	// in the status commit.
	DriftNotify *DriftNotify `yaml:"driftNotify,omitempty" json:"driftNotify,omitempty"`
	// KubernetesVersions lists the versions clusters may declare (TKEStack v1.5.0 ships
	// 1.16.9, 1.17.13 and 1.18.3); empty means any version.
	KubernetesVersions []string `yaml:"kubernetesVersions,omitempty" json:"kubernetesVersions,omitempty"`
	// Rollout, when set, moves each new revision across the clusters in waves (a canary
	// first, then a region, then the rest) for every App that does not set its own.
	Rollout *RolloutStrategy `yaml:"rollout,omitempty" json:"rollout,omitempty"`
}

// DriftNotify names the receivers and channels of drift notifications.
type DriftNotify struct {
	ReceiverGroups []string       `yaml:"receiverGroups" json:"receiverGroups"`
	Notify         []NotifyMethod `yaml:"notify" json:"notify"`
}

// DriftPolicy says what to do with out-of-band changes.
type DriftPolicy string

const (
	DriftCorrect DriftPolicy = "correct"
	DriftAlert   DriftPolicy = "alert"
)

// Duration is a time.Duration written as in Go and Kubernetes ("30s", "5m", "1h").
type Duration struct {
	time.Duration
}

// MarshalYAML writes the duration back in the form people write it.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// SecretRef points at a secret outside the repository: the repository never holds a
// password, token or key itself. Exactly one field is set.
type SecretRef struct {
	// Env names an environment variable of the gitfleet process.
	Env string `yaml:"env,omitempty" json:"env,omitempty"`
	// Secret is a key of a Secret in the cluster gitfleet runs in.
	Secret *SecretKeyRef `yaml:"secret,omitempty" json:"secret,omitempty"`
	// File is a file path on the machine gitfleet runs on (a mounted Secret, say).
	File string `yaml:"file,omitempty" json:"file,omitempty"`
}

// SecretKeyRef is a key of a Kubernetes Secret.
type SecretKeyRef struct {
	// Namespace defaults to the namespace gitfleet runs in.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Name      string `yaml:"name" json:"name"`
	Key       string `yaml:"key" json:"key"`
}

// ResourceList is a set of resource quantities (cpu: "8", memory: 16Gi, ...), written as
// in Kubernetes.
type ResourceList map[string]resource.Quantity
