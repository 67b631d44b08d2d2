package addons

import (
	"gitfleet.dev/gitfleet/schema"
)

// Credentials of addon parameters (Elasticsearch and InfluxDB logins, the Tencent Cloud
// API key of the CSI drivers) are schema.SecretRefs, and the addon's pods read them in
// the member cluster. Of the three kinds of reference only one can be written into a
// manifest without putting the secret into it:
//
//   - {secret: {name, key}} becomes a secretKeyRef to a Secret of that name in the
//     member cluster, in the addon's namespace (kube-system, or tke for Audit). Someone
//     creates that Secret in each member cluster (sealed-secrets, an external-secrets
//     operator, by hand); gitfleet never copies secret values between clusters. A
//     namespace in the reference must be the addon's, since a pod reads only Secrets of
//     its own namespace.
//   - {env: VAR} and {file: PATH} name an environment variable or a file of the gitfleet
//     process. A member cluster's pod cannot see either, and resolving them at render
//     time would put the secret into the rendered objects (printed by plan, stored in
//     the inventory). They are refused with an error at the field, which `gitfleet
//     validate` reports at review time, instead of a pod that starts without its
//     credentials.

// secretKey returns the member-cluster Secret key a credential reference names, or a
// *schema.FieldError at field.
func secretKey(a *schema.Addon, field string, ref *schema.SecretRef, namespace string) (*schema.SecretKeyRef, error) {
	switch {
	case ref.Secret == nil:
		kind := "{env: " + ref.Env + "}"
		if ref.File != "" {
			kind = "{file: " + ref.File + "}"
		}
		return nil, a.Origin.Errorf(field, "%s names a secret of the gitfleet process, which the addon's pods in the member cluster cannot read; create a Secret in the member cluster's %s namespace and refer to it with {secret: {name: NAME, key: KEY}}", kind, namespace)
	case ref.Secret.Namespace != "" && ref.Secret.Namespace != namespace:
		return nil, a.Origin.Errorf(field+".secret.namespace", "the addon's pods run in namespace %s and can read only Secrets there, found namespace %s; leave namespace out or set it to %s", namespace, ref.Secret.Namespace, namespace)
	}
	return &schema.SecretKeyRef{Name: ref.Secret.Name, Key: ref.Secret.Key}, nil
}

// envVar is a container environment variable, as JSON for a template.
type envVar struct {
	Name      string     `json:"name"`
	Value     string     `json:"value,omitempty"`
	ValueFrom *envSource `json:"valueFrom,omitempty"`
}

type envSource struct {
	SecretKeyRef *keySelector `json:"secretKeyRef,omitempty"`
	FieldRef     *fieldRef    `json:"fieldRef,omitempty"`
}

type keySelector struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type fieldRef struct {
	FieldPath string `json:"fieldPath"`
}

// secretEnv returns the environment variable name that reads a credential reference, or
// nothing for a nil reference.
func secretEnv(a *schema.Addon, field, name string, ref *schema.SecretRef, namespace string) ([]envVar, error) {
	if ref == nil {
		return nil, nil
	}
	k, err := secretKey(a, field, ref, namespace)
	if err != nil {
		return nil, err
	}
	return []envVar{{Name: name, ValueFrom: &envSource{SecretKeyRef: &keySelector{Name: k.Name, Key: k.Key}}}}, nil
}
