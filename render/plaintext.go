package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v4"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gitfleet.dev/gitfleet/schema"
)

// The plaintext checks refuse credentials written in the clear in an App's inputs, at the
// file, line and field where they are: a Secret (or secretGenerator) anywhere in a
// kustomization, and values that look like credentials in ConfigMaps and in the App's own
// Helm values. They read the raw files rather than the built objects because only the
// files know lines, and because a decrypted sops file must be told apart from a plain one.

const encryptHint = "encrypt it with sops (age recipients) and give gitfleet the key with --sops-age-key-file"

// credentialSuffixes end the names of keys that hold credentials, compared lowercase with
// '-', '_' and '.' removed. Matching the end rather than anywhere keeps secretName,
// tokenTTL and passwordPolicy out.
var credentialSuffixes = []string{"password", "passwd", "secret", "token", "apikey", "privatekey", "kubeconfig"}

// secretHolders precede "Secret" in the names of keys that name a Secret holding that
// kind of credential, compared as credentialSuffixes are.
var secretHolders = []string{"password", "passwd", "token", "apikey", "credentials", "credential", "auth", "tls", "cert", "certificate", "key", "privatekey", "kubeconfig", "admin", "db", "database"}

var (
	pemPrivateKey = regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`)
	kubeToken     = regexp.MustCompile(`(?m)^\s*token:\s*\S`)
)

// credentialName says whether a key's name marks a credential.
func credentialName(key string) bool {
	k := strings.NewReplacer("-", "", "_", "", ".", "").Replace(strings.ToLower(key))
	if strings.HasPrefix(k, "existing") {
		return false // existingSecret names a Secret, the Helm charts' convention
	}
	// passwordSecret, tokenSecret, tlsSecret: the name of the Secret that holds the
	// password, token or certificate, the other convention of charts. clientSecret and
	// sharedSecret stay credentials.
	if what, ok := strings.CutSuffix(k, "secret"); ok && slices.Contains(secretHolders, what) {
		return false
	}
	for _, s := range credentialSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// credentialValue says why a value looks like a credential, or "".
func credentialValue(v string) string {
	switch {
	case pemPrivateKey.MatchString(v):
		return "a PEM private key"
	case strings.Contains(v, "client-key-data:"), strings.Contains(v, "users:") && kubeToken.MatchString(v):
		return "a kubeconfig with credentials"
	}
	return ""
}

// configMapKeyName strips a file extension from a ConfigMap key (token.txt is a token).
func configMapKeyName(key string) string {
	if ext := path.Ext(key); ext != "" && ext != key {
		return strings.TrimSuffix(key, ext)
	}
	return key
}

// checkPlaintext checks the files a kustomize build read (in-memory paths). Files that
// were sops-encrypted in the repository are skipped: their plaintext exists only in
// memory.
func checkPlaintext(fsys filesys.FileSystem, files []string, sf *sopsFiles, spec *schema.AppSpec) schema.ErrorList {
	var errs schema.ErrorList
	for _, p := range files {
		switch path.Ext(p) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		if sf.encrypted(p) {
			continue
		}
		data, err := fsys.ReadFile(p)
		if err != nil {
			continue // kustomize read it a moment ago; a directory probe lands here
		}
		file := strings.TrimPrefix(p, "/")
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				break // kustomize has parsed the file; a file it only probed is no manifest
			}
			root := &doc
			if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
				root = root.Content[0]
			}
			if root.Kind != yaml.MappingNode {
				continue
			}
			kind := scalarOf(mapNode(root, "kind"))
			switch {
			case kind == "Secret":
				errs = append(errs, checkSecretDoc(file, root)...)
			case kind == "ConfigMap":
				errs = append(errs, checkConfigMapDoc(file, root, spec)...)
			case kind == "Kustomization" || isKustomizationFile(p):
				errs = append(errs, checkGenerators(file, root, sf, spec)...)
			}
		}
	}
	errs.Sort()
	return errs
}

func isKustomizationFile(p string) bool { return slices.Contains(kustomizationNames, path.Base(p)) }

func checkSecretDoc(file string, root *yaml.Node) schema.ErrorList {
	var errs schema.ErrorList
	for _, field := range []string{"data", "stringData"} {
		m := mapNode(root, field)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Value == "" {
				continue
			}
			errs = append(errs, at(file, k, field+"."+k.Value,
				"a Secret with literal data in the fleet repo: %s (Secrets cannot be allowed in plain text)", encryptHint))
		}
	}
	return errs
}

func checkConfigMapDoc(file string, root *yaml.Node, spec *schema.AppSpec) schema.ErrorList {
	name := scalarOf(mapNode(mapNode(root, "metadata"), "name"))
	var errs schema.ErrorList
	for _, field := range []string{"data", "binaryData"} {
		m := mapNode(root, field)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if v.Kind != yaml.ScalarNode || v.Value == "" || spec.Allows(name, k.Value, "") {
				continue
			}
			why := credentialValue(v.Value)
			if why == "" && credentialName(configMapKeyName(k.Value)) {
				why = "a key named like a credential"
			}
			if why != "" {
				errs = append(errs, at(file, k, field+"."+k.Value,
					"ConfigMap %s holds what looks like a credential (%s): move it into a Secret and %s, or, if it is not secret, list it in the App's spec.plaintextAllowed with configMap: %s, key: %s and a reason", name, why, encryptHint, name, k.Value))
			}
		}
	}
	return errs
}

// checkGenerators refuses secretGenerator inputs in plain text: literals always, files
// and env files unless they are sops-encrypted. configMapGenerator literals follow the
// ConfigMap rules.
func checkGenerators(file string, root *yaml.Node, sf *sopsFiles, spec *schema.AppSpec) schema.ErrorList {
	dir := path.Dir("/" + file)
	var errs schema.ErrorList
	if gens := mapNode(root, "secretGenerator"); gens != nil && gens.Kind == yaml.SequenceNode {
		for i, g := range gens.Content {
			base := fmt.Sprintf("secretGenerator[%d]", i)
			if lits := mapNode(g, "literals"); lits != nil {
				for j, l := range lits.Content {
					errs = append(errs, at(file, l, fmt.Sprintf("%s.literals[%d]", base, j),
						"a secretGenerator literal is a secret in plain text in the fleet repo: put it in an env file, %s, and list that file under envs", encryptHint))
				}
			}
			for _, field := range []string{"files", "envs", "env"} {
				list := mapNode(g, field)
				if list == nil {
					continue
				}
				items := list.Content
				if list.Kind == yaml.ScalarNode {
					items = []*yaml.Node{list}
				}
				for j, f := range items {
					src := f.Value
					if k, v, ok := strings.Cut(src, "="); ok && field == "files" {
						_, src = k, v
					}
					if sf.encrypted(path.Join(dir, src)) {
						continue
					}
					name := fmt.Sprintf("%s.%s[%d]", base, field, j)
					if list.Kind == yaml.ScalarNode {
						name = base + "." + field
					}
					errs = append(errs, at(file, f, name,
						"secretGenerator reads %s, which is not sops-encrypted: %s", src, encryptHint))
				}
			}
		}
	}
	if gens := mapNode(root, "configMapGenerator"); gens != nil && gens.Kind == yaml.SequenceNode {
		for i, g := range gens.Content {
			name := scalarOf(mapNode(g, "name"))
			lits := mapNode(g, "literals")
			if lits == nil {
				continue
			}
			for j, l := range lits.Content {
				k, v, _ := strings.Cut(l.Value, "=")
				if v == "" || spec.Allows(name, k, "") || !(credentialName(k) || credentialValue(v) != "") {
					continue
				}
				errs = append(errs, at(file, l, fmt.Sprintf("configMapGenerator[%d].literals[%d]", i, j),
					"ConfigMap %s gets what looks like a credential (%s): use a secretGenerator with a sops-encrypted env file, or list it in the App's spec.plaintextAllowed with configMap: %s, key: %s and a reason", name, k, name, k))
			}
		}
	}
	return errs
}

// checkHelmValues refuses Helm values named like credentials with a literal value, in the
// App's values files and its inline values. The chart's own values.yaml is not checked:
// its defaults are public chart content.
func checkHelmValues(src fs.FS, app *schema.App, sf *sopsFiles) schema.ErrorList {
	h := app.Spec.Source.Helm
	var errs schema.ErrorList
	for _, f := range h.ValuesFiles {
		p := path.Clean(strings.TrimPrefix(f, "./"))
		if sf.encrypted("/" + p) {
			continue
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			continue // helmValues reports it
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 {
			continue
		}
		walkValueNodes(doc.Content[0], "", func(field string, key, value *yaml.Node) {
			if value.Kind == yaml.ScalarNode && value.Tag == "!!str" && value.Value != "" &&
				credentialName(key.Value) && !app.Spec.Allows("", "", field) {
				errs = append(errs, at(p, key, field, "%s", helmMessage(field)))
			}
		})
	}
	inline := func(prefix string, values map[string]any) {
		walkValues(values, "", func(field string, v any) {
			s, ok := v.(string)
			if ok && s != "" && credentialName(field[strings.LastIndex(field, ".")+1:]) && !app.Spec.Allows("", "", field) {
				errs = append(errs, app.Origin.Errorf(prefix+"."+field, "%s", helmMessage(field)))
			}
		})
	}
	inline("spec.source.helm.values", h.Values)
	for i, lv := range h.ValuesByLabel {
		inline(fmt.Sprintf("spec.source.helm.valuesByLabel[%d].values", i), lv.Values)
	}
	clusters := make([]string, 0, len(h.ValuesByCluster))
	for c := range h.ValuesByCluster {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	for _, c := range clusters {
		inline("spec.source.helm.valuesByCluster."+c, h.ValuesByCluster[c])
	}
	errs.Sort()
	return errs
}

func helmMessage(field string) string {
	return fmt.Sprintf("a Helm value named like a credential with a literal value: keep it in a sops-encrypted values file (%s), point the chart at an existing Secret, or, if it is not secret, list it in the App's spec.plaintextAllowed with helmValue: %s and a reason", encryptHint, field)
}

func walkValueNodes(n *yaml.Node, prefix string, leaf func(field string, key, value *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		if prefix != "" {
			field = prefix + "." + k.Value
		}
		if v.Kind == yaml.MappingNode {
			walkValueNodes(v, field, leaf)
			continue
		}
		leaf(field, k, v)
	}
}

func walkValues(m map[string]any, prefix string, leaf func(field string, v any)) {
	for k, v := range m {
		field := k
		if prefix != "" {
			field = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			walkValues(sub, field, leaf)
			continue
		}
		leaf(field, v)
	}
}

func scalarOf(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func at(file string, n *yaml.Node, field, format string, args ...any) *schema.FieldError {
	return &schema.FieldError{
		Position: schema.Position{File: file, Line: n.Line},
		Field:    field,
		Message:  fmt.Sprintf(format, args...),
	}
}
