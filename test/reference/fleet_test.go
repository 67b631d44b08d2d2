package reference

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/schema"
)

// fleetName is the Fleet of every repository built here.
const fleetName = "reference"

const fleetYAML = "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: " + fleetName + "\nspec:\n  interval: 5m\n"

// clusterName is the one Cluster of every case's fleet.
const clusterName = "member"

// clusterSpec is the part of a Cluster that changes what is rendered.
type clusterSpec struct {
	version     string
	labels      map[string]string
	apiVersions []string
}

func (c clusterSpec) yaml() string {
	obj := map[string]any{
		"apiVersion": schema.APIVersion,
		"kind":       schema.KindCluster,
		"metadata":   map[string]any{"name": clusterName, "labels": c.labels},
	}
	spec := map[string]any{}
	if c.version != "" {
		spec["version"] = c.version
	}
	if len(c.apiVersions) > 0 {
		spec["apiVersions"] = c.apiVersions
	}
	obj["spec"] = spec
	data, err := yaml.Marshal(obj)
	if err != nil {
		panic(err) // only plain maps and strings
	}
	return string(data)
}

// addDir copies the files of a directory on disk into the repository under prefix; a file
// is copied to prefix itself.
func addDir(fsys fstest.MapFS, src, prefix string) error {
	if st, err := os.Stat(src); err == nil && !st.IsDir() {
		data, err := os.ReadFile(src)
		fsys[prefix] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fsys[path.Join(prefix, filepath.ToSlash(rel))] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
}

// addPackagedChart puts a chart directory into the repository as a .tgz at dst, laid out as
// `helm package` lays it out: every file under a directory named after the chart.
func addPackagedChart(fsys fstest.MapFS, src, dst string) error {
	top := filepath.Base(src)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:     path.Join(top, filepath.ToSlash(rel)),
			Mode:     0o644,
			Size:     int64(len(data)),
			ModTime:  time.Unix(0, 0),
			Typeflag: tar.TypeReg,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	fsys[dst] = &fstest.MapFile{Data: buf.Bytes(), Mode: 0o644}
	return nil
}

// writeDisk writes the repository's files under dir, for the binaries.
func writeDisk(fsys fstest.MapFS, dir string) error {
	for _, name := range slices.Sorted(maps.Keys(fsys)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, fsys[name].Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// refOptions change how an App is translated into a reference command.
type refOptions struct {
	// valuesAsFile passes the App's values as one -f file, the way Flux's HelmRelease
	// spec.values and Argo CD's valuesObject reach Helm, instead of as --set flags.
	valuesAsFile bool
}

// referenceCommand is the binary and arguments that render an App for a cluster outside
// gitfleet. repoDir holds the repository on disk; scratch is where generated files (a
// kustomization setting the namespace, a values file) are written.
func referenceCommand(tl *tools, repoDir, scratch string, app *schema.App, c *schema.Cluster, o refOptions) (string, []string, error) {
	if k := app.Spec.Source.Kustomize; k != nil {
		dir := filepath.Join(repoDir, filepath.FromSlash(path.Clean(strings.TrimPrefix(k.Path, "./"))))
		if app.Spec.Namespace == "" {
			return tl.kustomize, []string{"build", dir}, nil
		}
		// gitfleet puts the App into spec.namespace as Flux's targetNamespace does: a
		// kustomization with that namespace over the App's directory.
		wrap := filepath.Join(scratch, "namespace", app.Metadata.Name)
		rel, err := filepath.Rel(wrap, dir)
		if err != nil {
			return "", nil, err
		}
		k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n- %s\n", app.Spec.Namespace, filepath.ToSlash(rel))
		if err := os.MkdirAll(wrap, 0o755); err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(wrap, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			return "", nil, err
		}
		return tl.kustomize, []string{"build", wrap}, nil
	}
	h := app.Spec.Source.Helm
	release := h.ReleaseName
	if release == "" {
		release = app.Metadata.Name
	}
	ns := app.Spec.Namespace
	if ns == "" {
		ns = "default"
	}
	args := []string{"template", release, filepath.Join(repoDir, filepath.FromSlash(path.Clean(strings.TrimPrefix(h.Chart, "./")))), "--namespace", ns, "--include-crds"}
	if v := c.Spec.Version; v != "" {
		args = append(args, "--kube-version", "v"+strings.TrimPrefix(v, "v"))
	}
	for _, a := range c.Spec.APIVersions {
		args = append(args, "--api-versions", a)
	}
	for _, f := range h.ValuesFiles {
		args = append(args, "-f", filepath.Join(repoDir, filepath.FromSlash(path.Clean(strings.TrimPrefix(f, "./")))))
	}
	layers := []map[string]any{h.Values}
	for _, lv := range h.ValuesByLabel {
		if matches(lv.Selector.MatchLabels, c.Metadata.Labels) {
			layers = append(layers, lv.Values)
		}
	}
	layers = append(layers, h.ValuesByCluster[c.Metadata.Name])
	values := map[string]any{}
	for _, l := range layers {
		values = mergeValues(values, stringKeys(l).(map[string]any))
	}
	if o.valuesAsFile {
		data, err := yaml.Marshal(values)
		if err != nil {
			return "", nil, err
		}
		f := filepath.Join(scratch, app.Metadata.Name+"-values.yaml")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return "", nil, err
		}
		return tl.helm, append(args, "-f", f), nil
	}
	flags, err := setFlags(nil, "", values)
	if err != nil {
		return "", nil, fmt.Errorf("app %s: %w", app.Metadata.Name, err)
	}
	return tl.helm, append(args, flags...), nil
}

// matches is a matchLabels selector: every label must be there with that value.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// mergeValues merges src over dst as Helm merges successive -f files and --set flags: maps
// merge key by key, anything else replaces. Giving helm the layers one after another as
// --set flags would do the same; merging first lets each leaf be one flag.
func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
			}
			dst[k] = mergeValues(dm, sm)
			continue
		}
		dst[k] = v
	}
	return dst
}

// stringKeys turns YAML maps with non-string keys (a map keyed by port numbers) into
// string-keyed maps, as Helm's own YAML reading (sigs.k8s.io/yaml, through JSON) does.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = stringKeys(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = stringKeys(e)
		}
		return out
	default:
		return v
	}
}

// setFlags turns values into one helm flag per leaf. Integers and booleans go through
// --set, which gives them Helm's types (int64, bool); strings, floats, lists and nulls go
// through --set-json so that a string stays a string ("true", "1.0", "{{ tpl }}") and a list
// keeps its elements. Empty maps add nothing to a merge and are left out.
func setFlags(flags []string, prefix string, v any) ([]string, error) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			key := escapeKey(k)
			if prefix != "" {
				key = prefix + "." + key
			}
			var err error
			if flags, err = setFlags(flags, key, v[k]); err != nil {
				return nil, err
			}
		}
		return flags, nil
	case bool:
		return append(flags, "--set", prefix+"="+strconv.FormatBool(v)), nil
	case int:
		return append(flags, "--set", prefix+"="+strconv.Itoa(v)), nil
	case int64:
		return append(flags, "--set", prefix+"="+strconv.FormatInt(v, 10)), nil
	case uint64:
		return append(flags, "--set", prefix+"="+strconv.FormatUint(v, 10)), nil
	case string, float64, []any, nil:
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("value %s: %w", prefix, err)
		}
		return append(flags, "--set-json", prefix+"="+string(data)), nil
	default:
		return nil, fmt.Errorf("value %s: %T has no helm flag equivalent", prefix, v)
	}
}

// escapeKey escapes the characters Helm's --set parser treats as syntax in a key.
func escapeKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if strings.ContainsRune(`\.[]=,`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
