package render

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes the rendered Apps of a cluster as multi-document YAML, each object
// preceded by a comment naming its cluster and App. The output is byte-identical from run
// to run: Apps come in render order and objects are sorted.
func WriteYAML(w io.Writer, res ClusterResult) error {
	for _, app := range res.Apps {
		for _, obj := range app.Objects {
			data, err := yaml.Marshal(obj.Object)
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
