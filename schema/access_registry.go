package schema

import (
	"fmt"
	"unicode/utf8"
)

// HelmRepository is a Helm chart repository of the platform (TKEStack's Helm 模板 → 仓库):
// who may use its charts, and optionally the third-party repository it imports.
// metadata.name is the repository name: at most 60 lowercase letters, digits and '-'.
type HelmRepository struct {
	Object `yaml:",inline" json:",inline"`
	Spec   HelmRepositorySpec `yaml:"spec" json:"spec"`
}

// HelmRepositorySpec is the specification of a HelmRepository.
type HelmRepositorySpec struct {
	// Type is the Helm version of the repository; TKEStack supports only HelmV3, which
	// is the default.
	Type HelmRepositoryType `yaml:"type,omitempty" json:"type,omitempty"`
	// Description is free text of at most 255 characters.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Access is who may use the repository: users (those in Users), businesses (the
	// members of the Businesses, as their business roles allow) or public (every user).
	// When left out it is users or businesses if exactly that list is given; a public
	// repository must say so.
	Access HelmAccess `yaml:"access,omitempty" json:"access,omitempty"`
	// Users are the User names of an access: users repository.
	Users []string `yaml:"users,omitempty" json:"users,omitempty"`
	// Businesses are the Business names of an access: businesses repository.
	Businesses []string `yaml:"businesses,omitempty" json:"businesses,omitempty"`
	// Import makes this repository a copy of an existing third-party repository
	// (导入第三方仓库), kept in step by syncing.
	Import *HelmImport `yaml:"import,omitempty" json:"import,omitempty"`
}

// HelmRepositoryType is the Helm version of a repository.
type HelmRepositoryType string

// HelmRepositoryV3 is Helm 3, the only version TKEStack's Helm integration supports.
const HelmRepositoryV3 HelmRepositoryType = "HelmV3"

// HelmAccess says who may use a Helm repository.
type HelmAccess string

const (
	HelmAccessUsers      HelmAccess = "users"
	HelmAccessBusinesses HelmAccess = "businesses"
	HelmAccessPublic     HelmAccess = "public"
)

// HelmImport is the third-party repository a HelmRepository imports.
type HelmImport struct {
	// URL is the repository's address, http:// or https://.
	URL string `yaml:"url" json:"url"`
	// Username and Password log in to a repository that requires it: both or neither,
	// each a reference (as everywhere in the repository, for example an Elasticsearch
	// login), never the value itself.
	Username *SecretRef `yaml:"username,omitempty" json:"username,omitempty"`
	Password *SecretRef `yaml:"password,omitempty" json:"password,omitempty"`
}

// RegistryNamespace is a namespace of the platform's image registry (镜像仓库 命名空间):
// images are pushed to default.registry.tke.com/<namespace>/<image>. metadata.name is the
// namespace: at most 63 lowercase letters, digits and '-'.
type RegistryNamespace struct {
	Object `yaml:",inline" json:",inline"`
	Spec   RegistryNamespaceSpec `yaml:"spec" json:"spec"`
}

// RegistryNamespaceSpec is the specification of a RegistryNamespace.
type RegistryNamespaceSpec struct {
	// Visibility is public (everyone can pull its images) or private (a personal
	// namespace); default private.
	Visibility RegistryVisibility `yaml:"visibility,omitempty" json:"visibility,omitempty"`
	// Description is free text.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// RegistryVisibility says who can pull a registry namespace's images.
type RegistryVisibility string

const (
	RegistryPublic  RegistryVisibility = "public"
	RegistryPrivate RegistryVisibility = "private"
)

var (
	accessHelmAccesses         = []string{string(HelmAccessUsers), string(HelmAccessBusinesses), string(HelmAccessPublic)}
	accessRegistryVisibilities = []string{string(RegistryPublic), string(RegistryPrivate)}
)

func (h *HelmRepository) setDefaults() {
	if h.Spec.Type == "" {
		h.Spec.Type = HelmRepositoryV3
	}
	if h.Spec.Access == "" {
		switch {
		case len(h.Spec.Users) > 0 && len(h.Spec.Businesses) == 0:
			h.Spec.Access = HelmAccessUsers
		case len(h.Spec.Businesses) > 0 && len(h.Spec.Users) == 0:
			h.Spec.Access = HelmAccessBusinesses
		}
	}
}

func (h *HelmRepository) validate(r *Repo) ErrorList {
	o := h.Origin
	var errs ErrorList
	switch name := h.Metadata.Name; {
	case name == "":
		errs = append(errs, o.Errorf("metadata.name", "name is required: at most 60 lowercase letters, digits and '-'"))
	case len(name) > 60 || !dnsLabel.MatchString(name):
		errs = append(errs, o.Errorf("metadata.name", "%q is not a valid Helm repository name: use at most 60 lowercase letters, digits and '-', starting and ending with a letter or digit", name))
	}
	if t := h.Spec.Type; t != HelmRepositoryV3 {
		errs = append(errs, o.Errorf("spec.type", "unsupported repository type %q: TKEStack's Helm integration is Helm 3 only; set spec.type: HelmV3 or leave it out", t))
	}
	if n := utf8.RuneCountInString(h.Spec.Description); n > 255 {
		errs = append(errs, o.Errorf("spec.description", "must be at most 255 characters (TKEStack's limit), found %d", n))
	}
	switch a := h.Spec.Access; a {
	case HelmAccessUsers:
		if len(h.Spec.Users) == 0 {
			errs = append(errs, o.Errorf("spec.users", "access users needs at least one User: list User names in spec.users"))
		}
	case HelmAccessBusinesses:
		if len(h.Spec.Businesses) == 0 {
			errs = append(errs, o.Errorf("spec.businesses", "access businesses needs at least one Business: list Business names in spec.businesses"))
		}
	case HelmAccessPublic:
	case "":
		errs = append(errs, o.Errorf("spec.access", "say who may use the repository: spec.access: public (every user), users (with spec.users) or businesses (with spec.businesses)"))
	default:
		errs = append(errs, o.Errorf("spec.access", "%s", unknownName("access", string(a), accessHelmAccesses)))
	}
	if len(h.Spec.Users) > 0 && h.Spec.Access != HelmAccessUsers {
		errs = append(errs, o.Errorf("spec.users", "spec.users applies only to access: users; remove it or set spec.access: users"))
	} else {
		errs = append(errs, accessCheckUsers(r, o, "spec.users", h.Spec.Users)...)
	}
	if len(h.Spec.Businesses) > 0 && h.Spec.Access != HelmAccessBusinesses {
		errs = append(errs, o.Errorf("spec.businesses", "spec.businesses applies only to access: businesses; remove it or set spec.access: businesses"))
	} else {
		seen := map[string]bool{}
		for i, name := range h.Spec.Businesses {
			f := fmt.Sprintf("spec.businesses[%d]", i)
			switch {
			case seen[name]:
				errs = append(errs, o.Errorf(f, "Business %q is listed twice", name))
			case byName(r.Businesses, name) == nil:
				errs = append(errs, o.Errorf(f, "no Business named %q in the repository%s", name, knownNames(r.Businesses, func(b *Business) string { return b.Metadata.Name })))
			}
			seen[name] = true
		}
	}
	if imp := h.Spec.Import; imp != nil {
		errs = append(errs, validateHTTPURL(o, "spec.import.url", imp.URL, "the third-party repository's address", "https://charts.example.com")...)
		errs = append(errs, validateCredentials(o, "spec.import", imp.Username, imp.Password)...)
	}
	return errs
}

func (n *RegistryNamespace) validate() ErrorList {
	o := n.Origin
	errs := validateName(o, n.Metadata.Name)
	if v := n.Spec.Visibility; v != RegistryPublic && v != RegistryPrivate {
		errs = append(errs, o.Errorf("spec.visibility", "%s", unknownName("visibility", string(v), accessRegistryVisibilities)))
	}
	return errs
}
