package schema

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxBusinessDisplayName is TKEStack's limit on a business name (the name people see; the
// ID is assigned): at most 63 characters.
const maxBusinessDisplayName = 63

// defaultsBusiness fills in the defaults of this area's kinds: a member's role is member
// unless the file says otherwise.
func (r *Repo) defaultsBusiness() {
	for _, b := range r.Businesses {
		for i := range b.Spec.Members {
			if b.Spec.Members[i].Role == "" {
				b.Spec.Members[i].Role = BusinessMember
			}
		}
	}
}

// validateBusiness checks Businesses and Namespaces, the references between them, the
// nesting of quotas (DESIGN.md: a business's children and namespaces fit in its quota on
// each cluster, top-level businesses fit in the cluster's capacity) and the tenancy of
// business Apps.
func (r *Repo) validateBusiness() ErrorList {
	var errs ErrorList
	for _, b := range r.Businesses {
		errs = append(errs, b.validate(r)...)
	}
	errs = append(errs, r.parentCycles()...)
	for _, n := range r.Namespaces {
		errs = append(errs, n.validate(r)...)
	}
	errs = append(errs, r.quotaNesting()...)
	errs = append(errs, r.validateTenancy()...)
	return errs
}

func (b *Business) validate(r *Repo) ErrorList {
	o := b.Origin
	errs := validateName(o, b.Metadata.Name)
	if n := utf8.RuneCountInString(b.Spec.DisplayName); n > maxBusinessDisplayName {
		errs = append(errs, o.Errorf("spec.displayName", "must be at most %d characters (TKEStack's limit for a business name), found %d", maxBusinessDisplayName, n))
	}
	if strings.ContainsAny(b.Spec.DisplayName, "\r\n\t") {
		errs = append(errs, o.Errorf("spec.displayName", "must be a single line without tabs"))
	}

	var parent *Business
	switch p := b.Spec.Parent; {
	case p == "":
	case p == b.Metadata.Name:
		errs = append(errs, o.Errorf("spec.parent", "a business cannot be its own parent; remove spec.parent to make it a top-level business"))
	default:
		if parent = r.Business(p); parent == nil {
			errs = append(errs, o.Errorf("spec.parent", "no Business named %q in the repository%s", p, businessNames(r)))
		}
	}

	errs = append(errs, b.validateMembers(r)...)

	for _, cluster := range sortedKeys(b.Spec.Quota) {
		field := "spec.quota." + cluster
		if r.Cluster(cluster) == nil {
			errs = append(errs, o.Errorf(field, "no Cluster named %q in the repository%s; spec.quota is keyed by cluster name", cluster, knownNames(r.Clusters, func(c *Cluster) string { return c.Metadata.Name })))
		}
		errs = append(errs, validateQuotaList(o, field, b.Spec.Quota[cluster])...)
		if parent != nil {
			if _, ok := parent.Spec.Quota[cluster]; !ok {
				errs = append(errs, o.Errorf(field, "the parent business %q has no quota on cluster %s, so its sub-business cannot have one there; add %s to %q's spec.quota or remove it here", parent.Metadata.Name, cluster, cluster, parent.Metadata.Name))
			}
		}
	}
	return errs
}

func (b *Business) validateMembers(r *Repo) ErrorList {
	o := b.Origin
	var errs ErrorList
	users, groups := map[string]int{}, map[string]int{}
	for i, m := range b.Spec.Members {
		field := fmt.Sprintf("spec.members[%d]", i)
		switch {
		case m.User != "" && m.Group != "":
			errs = append(errs, o.Errorf(field, "a member is either a user or a group, not both; list the group as a member of its own"))
		case m.User == "" && m.Group == "":
			errs = append(errs, o.Errorf(field, "a member needs a user or a group"))
		case m.User != "":
			if j, dup := users[m.User]; dup {
				errs = append(errs, o.Errorf(field+".user", "user %q is already a member (spec.members[%d]); list each user once, with one role", m.User, j))
				break
			}
			users[m.User] = i
			// Users may come from an identity provider (LDAP, OIDC) that the repository
			// does not list; names are checked only when the repository declares Users.
			if len(r.Users) > 0 && byName(r.Users, m.User) == nil {
				errs = append(errs, o.Errorf(field+".user", "no User named %q in the repository%s", m.User, knownNames(r.Users, func(u *User) string { return u.Metadata.Name })))
			}
		default:
			if j, dup := groups[m.Group]; dup {
				errs = append(errs, o.Errorf(field+".group", "group %q is already a member (spec.members[%d]); list each group once, with one role", m.Group, j))
				break
			}
			groups[m.Group] = i
			if len(r.Groups) > 0 && byName(r.Groups, m.Group) == nil {
				errs = append(errs, o.Errorf(field+".group", "no Group named %q in the repository%s", m.Group, knownNames(r.Groups, func(g *Group) string { return g.Metadata.Name })))
			}
		}
		switch m.Role {
		case BusinessAdmin, BusinessMember, BusinessReadOnly:
		default:
			errs = append(errs, o.Errorf(field+".role", "unknown business role %q; expected %s (manages members, sub-businesses and namespaces), %s or %s", m.Role, BusinessAdmin, BusinessMember, BusinessReadOnly))
		}
		seen := map[string]bool{}
		for j, p := range m.Policies {
			pf := fmt.Sprintf("%s.policies[%d]", field, j)
			switch {
			case seen[p]:
				errs = append(errs, o.Errorf(pf, "policy %q is listed twice", p))
			case byName(r.Policies, p) == nil:
				errs = append(errs, o.Errorf(pf, "no Policy named %q in the repository%s", p, knownNames(r.Policies, func(p *Policy) string { return p.Metadata.Name })))
			case byName(r.Policies, p).Spec.Scope != PolicyScopeBusiness:
				errs = append(errs, o.Errorf(pf, "Policy %q has scope %s; business members can only be granted policies with scope: business", p, byName(r.Policies, p).Spec.Scope))
			}
			seen[p] = true
		}
	}
	return errs
}

// parentCycles reports businesses that are, through their parents, their own ancestor.
// Each business on the cycle gets the error, at its spec.parent.
func (r *Repo) parentCycles() ErrorList {
	var errs ErrorList
	for _, b := range r.Businesses {
		if path, ok := r.parentCycle(b); ok {
			errs = append(errs, b.Origin.Errorf("spec.parent", "parent cycle: %s; a business cannot be its own ancestor, so remove one of these parents", strings.Join(path, " → ")))
		}
	}
	return errs
}

// parentCycle follows b's parents; it returns the chain back to b when b is its own
// ancestor. A business that is its own parent is reported on its own, not here.
func (r *Repo) parentCycle(b *Business) ([]string, bool) {
	name := b.Metadata.Name
	if b.Spec.Parent == "" || b.Spec.Parent == name {
		return nil, false
	}
	path := []string{name}
	seen := map[string]bool{name: true}
	for cur := b.Spec.Parent; cur != ""; {
		path = append(path, cur)
		if cur == name {
			return path, true
		}
		if seen[cur] {
			return nil, false // a cycle above b that b is not part of.
		}
		seen[cur] = true
		p := r.Business(cur)
		if p == nil {
			return nil, false
		}
		cur = p.Spec.Parent
	}
	return nil, false
}

// rooted reports whether b's chain of parents ends at a top-level business: no cycle, no
// self-parent and no missing parent on the way. Only such businesses take part in quota
// nesting, so that a broken hierarchy (already reported) adds no confusing sums.
func (r *Repo) rooted(b *Business) bool {
	seen := map[string]bool{}
	for cur := b; cur != nil; cur = r.Business(cur.Spec.Parent) {
		if seen[cur.Metadata.Name] {
			return false
		}
		seen[cur.Metadata.Name] = true
		if cur.Spec.Parent == "" {
			return true
		}
	}
	return false
}

// reservedNamespace reports namespace names that belong to Kubernetes and the platform:
// a business namespace there would give the business's Apps a foothold in them.
func reservedNamespace(name string) bool {
	return name == "default" || strings.HasPrefix(name, "kube-")
}

func (n *Namespace) validate(r *Repo) ErrorList {
	o := n.Origin
	errs := validateName(o, n.Metadata.Name)
	if reservedNamespace(n.Metadata.Name) {
		errs = append(errs, o.Errorf("metadata.name", "namespace %q is reserved for Kubernetes and the platform (default and kube-*); give the business namespace another name", n.Metadata.Name))
	}

	var b *Business
	switch name := n.Spec.Business; {
	case name == "":
		errs = append(errs, o.Errorf("spec.business", "required: the Business that owns this namespace"))
	default:
		if b = r.Business(name); b == nil {
			errs = append(errs, o.Errorf("spec.business", "no Business named %q in the repository%s", name, businessNames(r)))
		}
	}

	clusterOK := false
	switch c := n.Spec.Cluster; {
	case c == "":
		errs = append(errs, o.Errorf("spec.cluster", "required: the one Cluster the namespace is created in"))
	case r.Cluster(c) == nil:
		errs = append(errs, o.Errorf("spec.cluster", "no Cluster named %q in the repository%s", c, knownNames(r.Clusters, func(c *Cluster) string { return c.Metadata.Name })))
	default:
		clusterOK = true
	}
	if b != nil && clusterOK {
		if _, ok := b.Spec.Quota[n.Spec.Cluster]; !ok {
			clusters := "it has none yet"
			if len(b.Spec.Quota) > 0 {
				clusters = "its clusters: " + strings.Join(sortedKeys(b.Spec.Quota), ", ")
			}
			errs = append(errs, o.Errorf("spec.cluster", "cluster %s is not one of business %q's clusters (%s); a namespace must be on a cluster its business has in spec.quota, so add %s there or choose another cluster", n.Spec.Cluster, b.Metadata.Name, clusters, n.Spec.Cluster))
		}
	}

	errs = append(errs, validateQuotaList(o, "spec.quota", n.Spec.Quota)...)
	errs = append(errs, validateLimitRange(o, "spec.limitRange", n.Spec.LimitRange)...)
	return errs
}

// validateTenancy checks the Apps' namespace targets. A business App (spec.business set)
// reaches clusters only through its business's Namespaces; a platform App may also target
// namespaces (platform teams deploy into business namespaces), which must exist.
func (r *Repo) validateTenancy() ErrorList {
	var errs ErrorList
	for _, a := range r.Apps {
		o := a.Origin
		t := a.Spec.Targets
		business := a.Spec.Business
		var b *Business
		if business != "" {
			if b = r.Business(business); b == nil {
				errs = append(errs, o.Errorf("spec.business", "no Business named %q in the repository%s", business, businessNames(r)))
			}
			if len(t.Namespaces) == 0 {
				known := ""
				if b != nil {
					known = namespaceNames(r.NamespacesOf(business))
				}
				errs = append(errs, o.Errorf("spec.targets.namespaces", "a business App is applied only into its business's namespaces: list Namespaces of business %q in spec.targets.namespaces%s", business, known).WithKind(ProblemTenancy))
			}
			if len(t.Clusters) > 0 {
				errs = append(errs, o.Errorf("spec.targets.clusters", "a business App reaches clusters only through its namespaces: remove spec.targets.clusters and list Namespaces of business %q in spec.targets.namespaces", business).WithKind(ProblemTenancy))
			}
			if t.Selector != nil {
				errs = append(errs, o.Errorf("spec.targets.selector", "a business App reaches clusters only through its namespaces: remove spec.targets.selector and list Namespaces of business %q in spec.targets.namespaces", business).WithKind(ProblemTenancy))
			}
		}
		seen := map[string]int{}
		for i, name := range t.Namespaces {
			field := fmt.Sprintf("spec.targets.namespaces[%d]", i)
			if j, dup := seen[name]; dup {
				errs = append(errs, o.Errorf(field, "namespace %q is already listed (spec.targets.namespaces[%d])", name, j))
				continue
			}
			seen[name] = i
			ns := r.Namespace(name)
			switch {
			case ns == nil && b != nil:
				errs = append(errs, o.Errorf(field, "no Namespace named %q in the repository%s", name, namespaceNames(r.NamespacesOf(business))))
			case ns == nil:
				errs = append(errs, o.Errorf(field, "no Namespace named %q in the repository%s", name, knownNames(r.Namespaces, func(n *Namespace) string { return n.Metadata.Name })))
			case business != "" && ns.Spec.Business != business:
				errs = append(errs, o.Errorf(field, "tenancy violation: namespace %q belongs to business %q, not to %q; a business App may only be applied into its own business's namespaces", name, ns.Spec.Business, business).WithKind(ProblemTenancy))
			}
		}
		if business != "" && a.Spec.Namespace != "" {
			for _, name := range t.Namespaces {
				if name != a.Spec.Namespace {
					errs = append(errs, o.Errorf("spec.namespace", "a business App is applied into each of its spec.targets.namespaces; spec.namespace %q would move its objects out of namespace %q, so remove spec.namespace", a.Spec.Namespace, name).WithKind(ProblemTenancy))
					break
				}
			}
		}
	}
	return errs
}

func businessNames(r *Repo) string {
	return knownNames(r.Businesses, func(b *Business) string { return b.Metadata.Name })
}

// namespaceNames lists a business's namespaces for a message, or says it has none.
func namespaceNames(ns []*Namespace) string {
	if len(ns) == 0 {
		return " (the business has no Namespaces yet)"
	}
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.Metadata.Name
	}
	return " (the business's namespaces: " + strings.Join(names, ", ") + ")"
}
