package schema

// Business is a tenant (TKEStack's 业务, "project"): members, an optional parent
// business, and a quota on each cluster it uses.
type Business struct {
	Object `yaml:",inline" json:",inline"`
	Spec   BusinessSpec `yaml:"spec" json:"spec"`
}

// BusinessSpec is the specification of a Business.
type BusinessSpec struct {
	// DisplayName is the name people see.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Parent is the name of the parent Business (multi-level businesses).
	Parent string `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Members are the users and groups of the business with their role.
	Members []Member `yaml:"members,omitempty" json:"members,omitempty"`
	// Quota is the business's resource limit per cluster name; a cluster it does not list
	// is not available to the business.
	Quota map[string]ResourceList `yaml:"quota,omitempty" json:"quota,omitempty"`
}

// Member is a user or a group (exactly one) with a business role.
type Member struct {
	User  string `yaml:"user,omitempty" json:"user,omitempty"`
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// Role is admin (业务管理员), member (业务成员) or readonly (只读成员).
	Role BusinessRole `yaml:"role,omitempty" json:"role,omitempty"`
	// Policies are extra custom business Policies, by name.
	Policies []string `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// BusinessRole is one of TKEStack's preset business policies.
type BusinessRole string

const (
	BusinessAdmin    BusinessRole = "admin"
	BusinessMember   BusinessRole = "member"
	BusinessReadOnly BusinessRole = "readonly"
)

// Namespace is a business namespace: it lives on exactly one cluster.
type Namespace struct {
	Object `yaml:",inline" json:",inline"`
	Spec   NamespaceSpec `yaml:"spec" json:"spec"`
}

// NamespaceSpec is the specification of a business Namespace.
type NamespaceSpec struct {
	// Business owns the namespace.
	Business string `yaml:"business" json:"business"`
	// Cluster is the one cluster the namespace is created in; the business must have a
	// quota there.
	Cluster string `yaml:"cluster" json:"cluster"`
	// Quota becomes the namespace's ResourceQuota (hard limits).
	Quota ResourceList `yaml:"quota,omitempty" json:"quota,omitempty"`
	// LimitRange becomes the namespace's LimitRange for containers.
	LimitRange *LimitRange `yaml:"limitRange,omitempty" json:"limitRange,omitempty"`
}

// LimitRange is the per-container default and bounds of a namespace.
type LimitRange struct {
	Default        ResourceList `yaml:"default,omitempty" json:"default,omitempty"`
	DefaultRequest ResourceList `yaml:"defaultRequest,omitempty" json:"defaultRequest,omitempty"`
	Min            ResourceList `yaml:"min,omitempty" json:"min,omitempty"`
	Max            ResourceList `yaml:"max,omitempty" json:"max,omitempty"`
}

// defaultsBusiness fills in the defaults of this area's kinds.
func (r *Repo) defaultsBusiness() {}

// validateBusiness checks this area's kinds and their references.
func (r *Repo) validateBusiness() ErrorList { return nil }
