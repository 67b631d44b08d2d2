package schema

// Business is a tenant (TKEStack's 业务, "project"): members, an optional parent
// business, and a quota on each cluster it uses.
type Business struct {
	Object `yaml:",inline" json:",inline"`
	Spec   BusinessSpec `yaml:"spec" json:"spec"`
}

// BusinessSpec is the specification of a Business.
type BusinessSpec struct {
	// DisplayName is the name people see (TKEStack's business name, at most 63
	// characters).
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Parent is the name of the parent Business (multi-level businesses).
	Parent string `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Members are the users and groups of the business with their role.
	Members []Member `yaml:"members,omitempty" json:"members,omitempty"`
	// Quota is the business's resource limit per cluster name; a cluster it does not list
	// is not available to the business. A cluster listed with no resources (gz-dev: {}) is
	// available without limit, as TKEStack allows ("may be unlimited"). Resource names are
	// those of a Kubernetes ResourceQuota; see QuotaResourceName for how aliases count.
	Quota map[string]ResourceList `yaml:"quota,omitempty" json:"quota,omitempty"`
}

// Member is a user or a group (exactly one) with a business role.
type Member struct {
	User  string `yaml:"user,omitempty" json:"user,omitempty"`
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// Role is admin (业务管理员), member (业务成员, the default) or readonly (只读成员).
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

// Namespace is a business namespace: it lives on exactly one cluster. Its metadata.name is
// the Kubernetes namespace's name, and it is unique in the whole repository (not only per
// cluster), so that an App's spec.targets.namespaces names one namespace on one cluster.
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

// LimitRange is the per-container default and bounds of a namespace (a Kubernetes
// LimitRange item of type Container).
type LimitRange struct {
	// Default is the default limit of a container that sets none.
	Default ResourceList `yaml:"default,omitempty" json:"default,omitempty"`
	// DefaultRequest is the default request of a container that sets none.
	DefaultRequest ResourceList `yaml:"defaultRequest,omitempty" json:"defaultRequest,omitempty"`
	Min            ResourceList `yaml:"min,omitempty" json:"min,omitempty"`
	Max            ResourceList `yaml:"max,omitempty" json:"max,omitempty"`
}

// Business returns the business with the given name, or nil.
func (r *Repo) Business(name string) *Business { return byName(r.Businesses, name) }

// Namespace returns the business namespace with the given name, or nil.
func (r *Repo) Namespace(name string) *Namespace { return byName(r.Namespaces, name) }

// NamespacesOf returns the Namespaces of a business (not those of its sub-businesses),
// sorted by name.
func (r *Repo) NamespacesOf(business string) []*Namespace {
	var out []*Namespace
	for _, n := range r.Namespaces {
		if n.Spec.Business == business {
			out = append(out, n)
		}
	}
	return out
}
