package schema

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"
)

// Defaults used when the Fleet does not say otherwise.
const (
	DefaultInterval      = 5 * time.Minute
	DefaultHealthTimeout = 2 * time.Minute
)

// dnsLabel is the Kubernetes DNS label rule (RFC 1123), which TKEStack also uses for names.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// version is a Kubernetes release version without the leading v, as TKEStack writes it.
var version = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// finish sorts the loaded objects, fills in defaults and checks each object and the
// references between them. Each area of the schema (clusters, apps, businesses, addons,
// alerting, access) has its own defaults and checks, in its own file.
func (r *Repo) finish(fsys fs.FS) ErrorList {
	r.sortAll()
	if r.Fleet == nil {
		r.Fleet = &Fleet{Object: Object{TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindFleet}, Metadata: ObjectMeta{Name: "fleet"}}}
	}
	r.Fleet.setDefaults()
	r.defaultsClusters()
	r.defaultsApps()
	r.defaultsBusiness()
	r.defaultsAddon()
	r.defaultsAlerting()
	r.defaultsAccess()

	var errs ErrorList
	errs = append(errs, r.Fleet.validate()...)
	if dn := r.Fleet.Spec.DriftNotify; dn != nil {
		errs = append(errs, validateReceiverGroupRefs(r, r.Fleet.Origin, "spec.driftNotify", "drift notification", dn.ReceiverGroups)...)
		errs = append(errs, validateNotifyRefs(r, r.Fleet.Origin, "spec.driftNotify", "drift notification", dn.Notify, dn.ReceiverGroups, r.ReceiversOf(dn.ReceiverGroups))...)
	}
	errs = append(errs, r.uniqueNamesAll()...)
	errs = append(errs, r.validateClusters()...)
	errs = append(errs, r.validateApps(fsys)...)
	errs = append(errs, r.validateBusiness()...)
	errs = append(errs, r.validateAddon()...)
	errs = append(errs, r.validateAlerting()...)
	errs = append(errs, r.validateAccess()...)
	errs = append(errs, r.validateChartLocks()...)
	errs = append(errs, r.validateRollout(r.Fleet.Origin, "spec.rollout", r.Fleet.Spec.Rollout)...)
	for _, a := range r.Apps {
		errs = append(errs, r.validateRollout(a.Origin, "spec.rollout", a.Spec.Rollout)...)
	}
	return errs
}

func (f *Fleet) setDefaults() {
	if f.Spec.Interval.Duration == 0 {
		f.Spec.Interval.Duration = DefaultInterval
	}
	if f.Spec.HealthTimeout.Duration == 0 {
		f.Spec.HealthTimeout.Duration = DefaultHealthTimeout
	}
	if f.Spec.Prune == nil {
		f.Spec.Prune = ptr(true)
	}
	if f.Spec.Drift == "" {
		f.Spec.Drift = DriftCorrect
	}
}

func (f *Fleet) validate() ErrorList {
	var errs ErrorList
	if f.Origin.File != "" {
		errs = append(errs, validateName(f.Origin, f.Metadata.Name)...)
	}
	errs = append(errs, validateDrift(f.Origin, "spec.drift", f.Spec.Drift)...)
	for i, v := range f.Spec.KubernetesVersions {
		if !version.MatchString(v) {
			errs = append(errs, f.Origin.Errorf(fmt.Sprintf("spec.kubernetesVersions[%d]", i), "%q is not a Kubernetes version; write it as MAJOR.MINOR.PATCH, for example 1.18.3", v))
		}
	}
	return errs
}

func validateName(o Origin, name string) ErrorList {
	if name == "" {
		return ErrorList{o.Errorf("metadata.name", "name is required")}
	}
	if len(name) > 63 || !dnsLabel.MatchString(name) {
		return ErrorList{o.Errorf("metadata.name", "%q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)}
	}
	return nil
}

func validateDrift(o Origin, field string, p DriftPolicy) ErrorList {
	if p != DriftCorrect && p != DriftAlert {
		return ErrorList{o.Errorf(field, "unknown drift policy %q; expected %s (re-apply the repository's version) or %s (only report)", p, DriftCorrect, DriftAlert)}
	}
	return nil
}

// uniqueNames reports every object whose name an earlier one of the same kind already has.
func uniqueNames[T named](kind string, objs []T) ErrorList {
	var errs ErrorList
	first := map[string]Origin{}
	for _, o := range objs {
		name, origin := o.Name(), o.Source()
		if name == "" {
			continue
		}
		if prev, ok := first[name]; ok {
			errs = append(errs, origin.Errorf("metadata.name", "another %s named %q is declared at %s", kind, name, prev.Pos("metadata.name")))
			continue
		}
		first[name] = origin
	}
	return errs
}

func knownNames[T any](objs []T, name func(T) string) string {
	if len(objs) == 0 {
		return ""
	}
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = name(o)
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
}

func ptr[T any](v T) *T { return &v }

// validateSecretRef checks a reference to a secret: exactly one of env, secret or file,
// each well formed. A missing required reference is reported at the field.
func validateSecretRef(o Origin, field string, ref *SecretRef, required bool) ErrorList {
	if ref == nil {
		if required {
			return ErrorList{o.Errorf(field, "required: refer to the secret with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}")}
		}
		return nil
	}
	set := 0
	for _, isSet := range []bool{ref.Env != "", ref.Secret != nil, ref.File != ""} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		return ErrorList{o.Errorf(field, "set exactly one of env, secret or file")}
	}
	var errs ErrorList
	if ref.Env != "" && !envName.MatchString(ref.Env) {
		errs = append(errs, o.Errorf(field+".env", "%q is not an environment variable name: use letters, digits and _, not starting with a digit", ref.Env))
	}
	if s := ref.Secret; s != nil {
		if s.Name == "" || !dnsSubdomain.MatchString(s.Name) {
			errs = append(errs, o.Errorf(field+".secret.name", "a Secret name is required: lowercase letters, digits, '-' and '.'"))
		}
		if s.Key == "" {
			errs = append(errs, o.Errorf(field+".secret.key", "the key of the Secret that holds the value is required"))
		}
	}
	return errs
}

var (
	envName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)
