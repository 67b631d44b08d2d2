package schema

// This file holds the access-management kinds (TKEStack's 访问管理: users, user groups and
// policies) and the entry points of the access area. The organisation-resource kinds (Helm
// repositories, registry namespaces) are in access_registry.go, log-collection rules in
// access_logs.go.

// User is a platform account (TKEStack's 用户). metadata.name is the account (用户账号):
// 3 to 32 lowercase letters, digits and '-', starting and ending with a letter or digit.
type User struct {
	Object `yaml:",inline" json:",inline"`
	Spec   UserSpec `yaml:"spec" json:"spec"`
}

// UserSpec is the specification of a User.
type UserSpec struct {
	// DisplayName is the name shown in the console (用户名称); fewer than 256 characters.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Email is the user's email address.
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	// Mobile is the user's phone number (手机号).
	Mobile string `yaml:"mobile,omitempty" json:"mobile,omitempty"`
	// PlatformRole is administrator, platformUser, tenant (login only) or custom (the
	// platform Policies in Policies). Default: custom when Policies are listed, otherwise
	// tenant, the role with the fewest rights.
	PlatformRole PlatformRole `yaml:"platformRole,omitempty" json:"platformRole,omitempty"`
	// Policies are the platform Policies (by name) of a user whose role is custom.
	Policies []string `yaml:"policies,omitempty" json:"policies,omitempty"`
	// InitialPassword is the password the account is created with, by reference: a
	// password is never written into the repository. TKEStack's rules (10 to 16
	// characters with upper-case and lower-case letters and digits, see
	// CheckUserPassword) are checked when the reconciler reads it.
	InitialPassword *SecretRef `yaml:"initialPassword,omitempty" json:"initialPassword,omitempty"`
}

// Group is a user group (TKEStack's 用户组). metadata.name is the group name: fewer than 60
// lowercase letters, digits and '-', starting and ending with a letter or digit.
type Group struct {
	Object `yaml:",inline" json:",inline"`
	Spec   GroupSpec `yaml:"spec" json:"spec"`
}

// GroupSpec is the specification of a Group.
type GroupSpec struct {
	// Description is free text of fewer than 255 characters.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Users are the members of the group, by User name.
	Users []string `yaml:"users,omitempty" json:"users,omitempty"`
	// PlatformRole and Policies are as for a User; the group's members get them.
	PlatformRole PlatformRole `yaml:"platformRole,omitempty" json:"platformRole,omitempty"`
	Policies     []string     `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// PlatformRole is one of TKEStack's preset platform roles, or custom.
type PlatformRole string

const (
	// PlatformRoleAdministrator may use and manage every platform and business function
	// and resource (管理员).
	PlatformRoleAdministrator PlatformRole = "administrator"
	// PlatformRolePlatformUser may use most platform functions, including creating
	// clusters and businesses (平台用户).
	PlatformRolePlatformUser PlatformRole = "platformUser"
	// PlatformRoleTenant has no platform rights; it can only log in (租户).
	PlatformRoleTenant PlatformRole = "tenant"
	// PlatformRoleCustom has exactly the rights of the listed platform Policies (自定义).
	PlatformRoleCustom PlatformRole = "custom"
)

// Policy is a custom policy (TKEStack's 策略): an effect on a set of actions over a set of
// resources, granted to users and groups (platform policies) or to business members
// (business policies). metadata.name identifies it in the repository; DisplayName is the
// console's policy name.
type Policy struct {
	Object `yaml:",inline" json:",inline"`
	Spec   PolicySpec `yaml:"spec" json:"spec"`
}

// PolicySpec is the specification of a Policy, TKEStack's policy document
// {actions, resources, effect} plus the console's name, service and description.
type PolicySpec struct {
	// DisplayName is the policy name shown in the console; fewer than 256 characters.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Scope is platform (granted through a User's or Group's policies) or business
	// (granted to business members, Business spec.members[].policies). Default platform.
	Scope PolicyScope `yaml:"scope,omitempty" json:"scope,omitempty"`
	// Service is the product the policy applies to (服务), for example platform,
	// business, registry or monitor; optional.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Effect is allow or deny (an explicit deny); required.
	Effect PolicyEffect `yaml:"effect" json:"effect"`
	// Actions are the operations allowed or denied: API names with * as a wildcard
	// ("get*", "createCluster", "*"), optionally prefixed name: (an API) or permid: (a
	// permission set, a named group of APIs). At least one.
	Actions []string `yaml:"actions" json:"actions"`
	// Resources are what the actions apply to: paths of up to six kind:name segments
	// with * as a wildcard, for example cluster:cls-123/deployment:deploy-123/* (every
	// resource under Deployment deploy-123 of cluster cls-123), or * alone. At least one.
	Resources []string `yaml:"resources" json:"resources"`
	// Description is free text.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// PolicyScope says to whom a Policy can be granted.
type PolicyScope string

const (
	PolicyScopePlatform PolicyScope = "platform"
	PolicyScopeBusiness PolicyScope = "business"
)

// PolicyEffect is what a Policy does to the actions it matches.
type PolicyEffect string

const (
	PolicyAllow PolicyEffect = "allow"
	PolicyDeny  PolicyEffect = "deny"
)

// defaultsAccess fills in the defaults of this area's kinds.
func (r *Repo) defaultsAccess() {
	for _, u := range r.Users {
		u.Spec.PlatformRole = defaultPlatformRole(u.Spec.PlatformRole, u.Spec.Policies)
	}
	for _, g := range r.Groups {
		g.Spec.PlatformRole = defaultPlatformRole(g.Spec.PlatformRole, g.Spec.Policies)
	}
	for _, p := range r.Policies {
		if p.Spec.Scope == "" {
			p.Spec.Scope = PolicyScopePlatform
		}
	}
	for _, h := range r.HelmRepositories {
		h.setDefaults()
	}
	for _, n := range r.RegistryNamespaces {
		if n.Spec.Visibility == "" {
			n.Spec.Visibility = RegistryPrivate
		}
	}
	for _, l := range r.LogRules {
		l.setDefaults()
	}
}

// validateAccess checks this area's kinds and their references.
func (r *Repo) validateAccess() ErrorList {
	var errs ErrorList
	for _, u := range r.Users {
		errs = append(errs, u.validate(r)...)
	}
	for _, g := range r.Groups {
		errs = append(errs, g.validate(r)...)
	}
	for _, p := range r.Policies {
		errs = append(errs, p.validate()...)
	}
	for _, h := range r.HelmRepositories {
		errs = append(errs, h.validate(r)...)
	}
	for _, n := range r.RegistryNamespaces {
		errs = append(errs, n.validate()...)
	}
	for _, l := range r.LogRules {
		errs = append(errs, l.validate(r)...)
	}
	return errs
}

// defaultPlatformRole is the role of a user or group that does not name one: custom when it
// lists policies (the only role policies apply to), otherwise tenant, which grants nothing
// beyond logging in.
func defaultPlatformRole(role PlatformRole, policies []string) PlatformRole {
	switch {
	case role != "":
		return role
	case len(policies) > 0:
		return PlatformRoleCustom
	default:
		return PlatformRoleTenant
	}
}
