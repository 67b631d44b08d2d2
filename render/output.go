package render

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Masked replaces the values under data and stringData of every Secret of an output.
// Render output is read (and pasted) by more people than may read the secrets, and a
// Secret's values may come from a sops file decrypted only in memory; the keys stay, so
// that a reviewer still sees which values an object carries.
const Masked = "<masked>"

// MaskSecret returns obj, or for a Secret with data a copy with its values masked.
func MaskSecret(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj.GetKind() != "Secret" || obj.GroupVersionKind().Group != "" {
		return obj
	}
	var out *unstructured.Unstructured
	for _, field := range []string{"data", "stringData"} {
		m, ok := obj.Object[field].(map[string]any)
		if !ok || len(m) == 0 {
			continue
		}
		if out == nil {
			out = obj.DeepCopy()
		}
		masked := make(map[string]any, len(m))
		for k := range m {
			masked[k] = Masked
		}
		out.Object[field] = masked
	}
	if out == nil {
		return obj
	}
	return out
}

// WriteYAML writes the rendered Apps of a cluster as multi-document YAML, each object
// preceded by a comment naming its cluster and App, Secret values masked (MaskSecret).
// The output is byte-identical from run to run: Apps come in render order and objects
// are sorted.
func WriteYAML(w io.Writer, res ClusterResult) error {
	for _, app := range res.Apps {
		for _, obj := range app.Objects {
			data, err := yaml.Marshal(MaskSecret(obj).Object)
			if err != nil {
				return fmt.Errorf("encoding %s: %w", ObjectFileName(obj), err)
			}
			if _, err := fmt.Fprintf(w, "---\n# cluster: %s, app: %s\n%s", res.Cluster, app.App.Metadata.Name, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// ObjectFileName is the file name `gitfleet render -o DIR` gives an object:
// kind_namespace_name.yaml, lowercase kind, without the namespace part for cluster-scoped
// objects.
func ObjectFileName(obj *unstructured.Unstructured) string {
	parts := []string{strings.ToLower(obj.GetKind())}
	if ns := obj.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	parts = append(parts, obj.GetName())
	return strings.Join(parts, "_") + ".yaml"
}
