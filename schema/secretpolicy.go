package schema

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// The fleet repository is written by people who are not the operator of the machine
// gitfleet runs on. A SecretRef is read by gitfleet and its value sent elsewhere (an SMTP
// password to the mail server the repository names, an SSH password to a machine it
// lists), so a reference to anything the gitfleet process can read would let a repository
// author send /etc/shadow, the service-account token or $HOME to a host of their choosing.
// A SecretPolicy is the operator's list of what the repository may name; it is checked
// when the repository is loaded (with the file and line of the reference) and again by
// whatever reads the value, since loading can be skipped and symlinks are seen only then.

// DefaultSecretEnvPrefix is the one prefix of the variables a repository may name when the
// operator allows no others: nothing the process inherits (HOME, KUBERNETES_*, cloud
// credentials) starts with it by accident.
const DefaultSecretEnvPrefix = "GITFLEET_SECRET_"

// DefaultSecretsNamespace is gitfleet's own namespace in the cluster it runs in.
const DefaultSecretsNamespace = "gitfleet-system"

// SecretPolicy says which secrets a fleet repository may refer to.
type SecretPolicy struct {
	// EnvPrefixes are the prefixes of the environment variables a {env: VAR} reference may
	// name; none allows no variable at all.
	EnvPrefixes []string
	// Namespace is gitfleet's own namespace, where a {secret: ...} reference without a
	// namespace looks and which a reference may always name.
	Namespace string
	// Namespaces are further namespaces the operator lets references name (a shared
	// namespace of mail credentials, say); Secrets elsewhere in the cluster, other
	// tenants' or kube-system's, stay out of reach.
	Namespaces []string
	// NoFileDir refuses every {file: PATH} reference: the operator gave no directory to
	// read them in (--secrets-dir). It is false where that is not known yet (validate in
	// CI checks only the shape of the path).
	NoFileDir bool
}

// DefaultSecretPolicy is what a repository may name when the operator says nothing: the
// safe choice, variables starting with GITFLEET_SECRET_ and Secrets of gitfleet-system.
func DefaultSecretPolicy() SecretPolicy {
	return SecretPolicy{EnvPrefixes: []string{DefaultSecretEnvPrefix}, Namespace: DefaultSecretsNamespace}
}

// ErrSecretNotAllowed is the cause of every *SecretNotAllowedError, for errors.Is.
var ErrSecretNotAllowed = errors.New("secret reference not allowed")

// SecretNotAllowedError is a reference the operator's policy does not allow. It names
// the reference and how the operator would allow it, never a value.
type SecretNotAllowedError struct {
	// What is the kind of name: "variable", "file" or "namespace".
	What string
	// Name is the variable, path or namespace the repository wrote.
	Name string
	// Reason says what the policy allows and which flag changes it.
	Reason string
}

func (e *SecretNotAllowedError) Error() string {
	return fmt.Sprintf("%q is not an allowed %s: %s", e.Name, e.What, e.Reason)
}

func (e *SecretNotAllowedError) Unwrap() error { return ErrSecretNotAllowed }

// CheckEnv refuses a variable that starts with none of the allowed prefixes.
func (p SecretPolicy) CheckEnv(name string) error {
	for _, prefix := range p.EnvPrefixes {
		if prefix != "" && strings.HasPrefix(name, prefix) {
			return nil
		}
	}
	reason := "gitfleet reads no environment variables for the repository"
	if len(p.EnvPrefixes) > 0 {
		reason = "gitfleet reads only variables starting with " + strings.Join(p.EnvPrefixes, " or ")
	}
	return &SecretNotAllowedError{What: "variable", Name: name, Reason: reason + "; the operator can allow more with --secret-env-prefix"}
}

// CheckFile refuses a path that could leave the operator's secrets directory by its
// shape alone: absolute, or climbing out with "..". Symlinks are refused when the file
// is read (os.Root), since only the machine knows them.
func (p SecretPolicy) CheckFile(path string) error {
	if p.NoFileDir {
		return &SecretNotAllowedError{What: "file", Name: path, Reason: "gitfleet reads file references only inside a directory the operator gives with --secrets-dir, and none was given"}
	}
	if !filepath.IsLocal(path) {
		return &SecretNotAllowedError{What: "file", Name: path, Reason: "a file reference is a path relative to the operator's --secrets-dir, with no leading / and no .."}
	}
	return nil
}

// CheckNamespace refuses a Secret outside gitfleet's own namespace and those the operator
// added; an empty namespace is gitfleet's own.
func (p SecretPolicy) CheckNamespace(ns string) error {
	if ns == "" || ns == p.Namespace || slices.Contains(p.Namespaces, ns) {
		return nil
	}
	allowed := append([]string{p.Namespace}, p.Namespaces...)
	return &SecretNotAllowedError{What: "namespace", Name: ns, Reason: fmt.Sprintf("gitfleet reads only Secrets in %s; the operator can allow more with --secret-namespaces", strings.Join(allowed, ", "))}
}

// Check checks a well-formed reference (one of env, file or secret set) and returns the
// field of the reference that is refused, relative to it (".env", ".file",
// ".secret.namespace"), with the error.
func (p SecretPolicy) Check(ref *SecretRef) (string, error) {
	switch {
	case ref == nil:
		return "", nil
	case ref.Env != "":
		return ".env", p.CheckEnv(ref.Env)
	case ref.File != "":
		return ".file", p.CheckFile(ref.File)
	case ref.Secret != nil:
		return ".secret.namespace", p.CheckNamespace(ref.Secret.Namespace)
	}
	return "", nil
}

// foundSecretRef is a reference the decoder met, with where it was; the policy is checked
// against all of them after loading, so that no field holding one can be forgotten.
type foundSecretRef struct {
	origin Origin
	field  string
	ref    SecretRef
}

// checkSecretPolicy reports every reference the policy refuses. Addons are left out:
// their references name Secrets of the member cluster that the addon's pods read, never
// anything of the gitfleet process, and render checks them against the addon's
// namespace. A reference that is not well formed was already reported by
// validateSecretRef.
func checkSecretPolicy(refs []foundSecretRef, p SecretPolicy) ErrorList {
	var errs ErrorList
	for _, f := range refs {
		if wellFormed(&f.ref) != nil || (f.ref.Env != "" && !envName.MatchString(f.ref.Env)) {
			continue
		}
		sub, err := p.Check(&f.ref)
		if err != nil {
			errs = append(errs, f.origin.Errorf(f.field+sub, "%s", err.Error()))
		}
	}
	return errs
}

// wellFormed says whether exactly one kind of reference is set.
func wellFormed(ref *SecretRef) error {
	set := 0
	for _, isSet := range []bool{ref.Env != "", ref.Secret != nil, ref.File != ""} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		return errors.New("set exactly one of env, secret or file")
	}
	return nil
}
