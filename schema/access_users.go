package schema

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// accessEmail is deliberately loose: something@domain.tld, no spaces.
	accessEmail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s.]+$`)
	// accessMobile is a phone number: digits, an optional leading +, and spaces or '-'
	// between digit groups; 5 to 20 digits are counted separately.
	accessMobile = regexp.MustCompile(`^\+?[0-9]+([ -][0-9]+)*$`)
	// accessActionBody is an API or permission-set name with * wildcards.
	accessActionBody = regexp.MustCompile(`^[A-Za-z0-9_*-]+$`)
	// accessResourceKind and accessResourceName are the two halves of a kind:name
	// segment of a policy resource.
	accessResourceKind = regexp.MustCompile(`^[A-Za-z*][A-Za-z0-9*]*$`)
	accessResourceName = regexp.MustCompile(`^[A-Za-z0-9._*-]+$`)
)

var (
	accessPlatformRoles = []string{string(PlatformRoleAdministrator), string(PlatformRolePlatformUser), string(PlatformRoleTenant), string(PlatformRoleCustom)}
	accessPolicyScopes  = []string{string(PolicyScopePlatform), string(PolicyScopeBusiness)}
	accessPolicyEffects = []string{string(PolicyAllow), string(PolicyDeny)}
)

// accessMaxResourceSegments is the seed's "six-segment" resource format.
const accessMaxResourceSegments = 6

// CheckUserPassword applies TKEStack's password rules to a user's initial password once it
// has been read from its reference: 10 to 16 characters, with at least one upper-case
// letter, one lower-case letter and one digit.
func CheckUserPassword(password string) error {
	n := utf8.RuneCountInString(password)
	if n < 10 || n > 16 {
		return fmt.Errorf("a password has 10 to 16 characters, this one has %d", n)
	}
	var upper, lower, digit bool
	for _, c := range password {
		switch {
		case unicode.IsUpper(c):
			upper = true
		case unicode.IsLower(c):
			lower = true
		case unicode.IsDigit(c):
			digit = true
		}
	}
	var missing []string
	if !upper {
		missing = append(missing, "upper-case letter")
	}
	if !lower {
		missing = append(missing, "lower-case letter")
	}
	if !digit {
		missing = append(missing, "digit")
	}
	if len(missing) > 0 {
		return errors.New("a password must contain upper-case and lower-case letters and digits; this one has no " + strings.Join(missing, ", no "))
	}
	return nil
}

func (u *User) validate(r *Repo) ErrorList {
	o := u.Origin
	var errs ErrorList
	switch name := u.Metadata.Name; {
	case name == "":
		errs = append(errs, o.Errorf("metadata.name", "name is required: the user's account, 3 to 32 lowercase letters, digits and '-'"))
	case len(name) < 3 || len(name) > 32 || !dnsLabel.MatchString(name):
		errs = append(errs, o.Errorf("metadata.name", "%q is not a valid user account: use 3 to 32 lowercase letters, digits and '-', starting and ending with a letter or digit", name))
	}
	if n := utf8.RuneCountInString(u.Spec.DisplayName); n >= 256 {
		errs = append(errs, o.Errorf("spec.displayName", "must be shorter than 256 characters (TKEStack's limit), found %d", n))
	}
	if e := u.Spec.Email; e != "" && !accessEmail.MatchString(e) {
		errs = append(errs, o.Errorf("spec.email", "%q is not an email address; write it as NAME@DOMAIN, for example jane@example.com", e))
	}
	if m := u.Spec.Mobile; m != "" && !accessValidMobile(m) {
		errs = append(errs, o.Errorf("spec.mobile", "%q is not a phone number: use 5 to 20 digits, optionally starting with + and grouped with spaces or '-', for example +86 138 0013 8000", m))
	}
	errs = append(errs, accessCheckRole(r, o, u.Spec.PlatformRole, u.Spec.Policies)...)
	errs = append(errs, validateSecretRef(o, "spec.initialPassword", u.Spec.InitialPassword, false)...)
	return errs
}

func accessValidMobile(m string) bool {
	if !accessMobile.MatchString(m) {
		return false
	}
	digits := 0
	for _, c := range m {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	return digits >= 5 && digits <= 20
}

func (g *Group) validate(r *Repo) ErrorList {
	o := g.Origin
	var errs ErrorList
	switch name := g.Metadata.Name; {
	case name == "":
		errs = append(errs, o.Errorf("metadata.name", "name is required: fewer than 60 lowercase letters, digits and '-'"))
	case len(name) >= 60 || !dnsLabel.MatchString(name):
		errs = append(errs, o.Errorf("metadata.name", "%q is not a valid group name: use fewer than 60 lowercase letters, digits and '-', starting and ending with a letter or digit", name))
	}
	if n := utf8.RuneCountInString(g.Spec.Description); n >= 255 {
		errs = append(errs, o.Errorf("spec.description", "must be shorter than 255 characters (TKEStack's limit), found %d", n))
	}
	errs = append(errs, accessCheckUsers(r, o, "spec.users", g.Spec.Users)...)
	errs = append(errs, accessCheckRole(r, o, g.Spec.PlatformRole, g.Spec.Policies)...)
	return errs
}

// accessCheckUsers checks a list of User names: each declared in the repository, none
// listed twice.
func accessCheckUsers(r *Repo, o Origin, field string, users []string) ErrorList {
	var errs ErrorList
	seen := map[string]bool{}
	for i, name := range users {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case seen[name]:
			errs = append(errs, o.Errorf(f, "User %q is listed twice", name))
		case byName(r.Users, name) == nil:
			errs = append(errs, o.Errorf(f, "no User named %q in the repository%s", name, knownNames(r.Users, func(u *User) string { return u.Metadata.Name })))
		}
		seen[name] = true
	}
	return errs
}

// accessCheckRole checks the platform role of a user or group and the policies that go
// with it (after defaults: an empty role has become tenant or custom).
func accessCheckRole(r *Repo, o Origin, role PlatformRole, policies []string) ErrorList {
	var errs ErrorList
	switch role {
	case PlatformRoleAdministrator, PlatformRolePlatformUser, PlatformRoleTenant:
		if len(policies) > 0 {
			errs = append(errs, o.Errorf("spec.policies", "policies apply only to platformRole custom; %s is a preset role with its own rights: remove spec.policies or set spec.platformRole: custom", role))
		}
	case PlatformRoleCustom:
		if len(policies) == 0 {
			errs = append(errs, o.Errorf("spec.policies", "platformRole custom needs at least one platform Policy: list Policy names in spec.policies"))
		}
	default:
		errs = append(errs, o.Errorf("spec.platformRole", "%s", unknownName("platform role", string(role), accessPlatformRoles)))
	}
	seen := map[string]bool{}
	for i, name := range policies {
		f := fmt.Sprintf("spec.policies[%d]", i)
		p := byName(r.Policies, name)
		switch {
		case seen[name]:
			errs = append(errs, o.Errorf(f, "Policy %q is listed twice", name))
		case p == nil:
			errs = append(errs, o.Errorf(f, "no Policy named %q in the repository%s", name, knownNames(r.Policies, func(p *Policy) string { return p.Metadata.Name })))
		case p.Spec.Scope == PolicyScopeBusiness:
			errs = append(errs, o.Errorf(f, "Policy %q is a business policy (spec.scope: business); users and groups take platform policies only: grant it to business members in a Business's spec.members[].policies", name))
		}
		seen[name] = true
	}
	return errs
}

func (p *Policy) validate() ErrorList {
	o := p.Origin
	errs := validateName(o, p.Metadata.Name)
	if n := utf8.RuneCountInString(p.Spec.DisplayName); n >= 256 {
		errs = append(errs, o.Errorf("spec.displayName", "must be shorter than 256 characters (TKEStack's limit), found %d", n))
	}
	if s := p.Spec.Scope; s != PolicyScopePlatform && s != PolicyScopeBusiness {
		errs = append(errs, o.Errorf("spec.scope", "%s", unknownName("policy scope", string(s), accessPolicyScopes)))
	}
	if s := p.Spec.Service; s != "" && (len(s) > 63 || !dnsLabel.MatchString(s)) {
		errs = append(errs, o.Errorf("spec.service", "%q is not a service name: use lowercase letters, digits and '-', for example platform, business or registry", s))
	}
	switch e := p.Spec.Effect; e {
	case PolicyAllow, PolicyDeny:
	case "":
		errs = append(errs, o.Errorf("spec.effect", "effect is required: allow or deny"))
	default:
		errs = append(errs, o.Errorf("spec.effect", "%s", unknownName("effect", string(e), accessPolicyEffects)))
	}
	if len(p.Spec.Actions) == 0 {
		errs = append(errs, o.Errorf("spec.actions", "a Policy needs at least one action, for example \"get*\", \"createCluster\" or \"*\""))
	}
	for i, a := range p.Spec.Actions {
		if problem := accessCheckAction(a); problem != "" {
			errs = append(errs, o.Errorf(fmt.Sprintf("spec.actions[%d]", i), "%s", problem))
		}
	}
	if len(p.Spec.Resources) == 0 {
		errs = append(errs, o.Errorf("spec.resources", "a Policy needs at least one resource, for example \"cluster:cls-123/*\" or \"*\""))
	}
	for i, res := range p.Spec.Resources {
		if problem := accessCheckResource(res); problem != "" {
			errs = append(errs, o.Errorf(fmt.Sprintf("spec.resources[%d]", i), "%s", problem))
		}
	}
	return errs
}

// accessCheckAction checks one policy action: an API name glob, optionally prefixed name:
// (an API) or permid: (a permission set). It returns what is wrong, or "".
func accessCheckAction(a string) string {
	body := a
	if prefix, rest, ok := strings.Cut(a, ":"); ok {
		if prefix != "name" && prefix != "permid" {
			return fmt.Sprintf("action %q has an unknown prefix %q; write an API name (get*, createCluster, *), name:API or permid:PERMISSION-SET", a, prefix)
		}
		body = rest
	}
	if !accessActionBody.MatchString(body) {
		return fmt.Sprintf("%q is not a valid action: use an API name of letters, digits, '_' and '-' with * as a wildcard (get*, createCluster, *), optionally prefixed name: (an API) or permid: (a permission set)", a)
	}
	return ""
}

// accessCheckResource checks one policy resource: "*", or up to six '/'-separated
// kind:name segments with * wildcards, the last of which may be "*" alone. It returns
// what is wrong, or "".
func accessCheckResource(res string) string {
	const form = "write a path of kind:name segments with * as a wildcard, such as cluster:cls-123/deployment:deploy-123/*"
	if res == "*" {
		return ""
	}
	if res == "" {
		return "a resource must not be empty; " + form + ", or * for everything"
	}
	segs := strings.Split(res, "/")
	if len(segs) > accessMaxResourceSegments {
		return fmt.Sprintf("resource %q has %d segments; a resource has at most six (TKEStack's six-segment format)", res, len(segs))
	}
	for i, seg := range segs {
		if seg == "*" {
			if i != len(segs)-1 {
				return fmt.Sprintf("resource %q: a lone * matches everything below it and can only be the last segment; %s", res, form)
			}
			continue
		}
		kind, name, ok := strings.Cut(seg, ":")
		if !ok || !accessResourceKind.MatchString(kind) || !accessResourceName.MatchString(name) {
			return fmt.Sprintf("resource %q: segment %q is not kind:name; %s", res, seg, form)
		}
	}
	return ""
}
