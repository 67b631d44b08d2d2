package schema

// User is a fleet kind; its fields are being written.
type User struct {
	Object `yaml:",inline" json:",inline"`
	Spec   UserSpec `yaml:"spec" json:"spec"`
}

// UserSpec is the specification of a User.
type UserSpec struct{}

// Group is a fleet kind; its fields are being written.
type Group struct {
	Object `yaml:",inline" json:",inline"`
	Spec   GroupSpec `yaml:"spec" json:"spec"`
}

// GroupSpec is the specification of a Group.
type GroupSpec struct{}

// Policy is a fleet kind; its fields are being written.
type Policy struct {
	Object `yaml:",inline" json:",inline"`
	Spec   PolicySpec `yaml:"spec" json:"spec"`
}

// PolicySpec is the specification of a Policy.
type PolicySpec struct{}

// HelmRepository is a fleet kind; its fields are being written.
type HelmRepository struct {
	Object `yaml:",inline" json:",inline"`
	Spec   HelmRepositorySpec `yaml:"spec" json:"spec"`
}

// HelmRepositorySpec is the specification of a HelmRepository.
type HelmRepositorySpec struct{}

// RegistryNamespace is a fleet kind; its fields are being written.
type RegistryNamespace struct {
	Object `yaml:",inline" json:",inline"`
	Spec   RegistryNamespaceSpec `yaml:"spec" json:"spec"`
}

// RegistryNamespaceSpec is the specification of a RegistryNamespace.
type RegistryNamespaceSpec struct{}

// LogRule is a fleet kind; its fields are being written.
type LogRule struct {
	Object `yaml:",inline" json:",inline"`
	Spec   LogRuleSpec `yaml:"spec" json:"spec"`
}

// LogRuleSpec is the specification of a LogRule.
type LogRuleSpec struct{}

// defaultsAccess fills in the defaults of this area's kinds.
func (r *Repo) defaultsAccess() {}

// validateAccess checks this area's kinds and their references.
func (r *Repo) validateAccess() ErrorList { return nil }
