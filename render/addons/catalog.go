package addons

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/schema"
)

// The catalog is one directory per addon type under catalog/<Release>/, each holding Go
// text/templates of YAML documents (*.yaml, executed in name order), plus shared
// definitions in catalog/<Release>/*.tpl. Every value a template takes from the fleet
// goes through the json function or a values method that returns JSON, so a name or an
// address can never break the YAML around it.
//
//go:embed catalog
var catalogFS embed.FS

// parsed holds the parsed templates of every addon directory. It is filled once and only
// read afterwards: text/template allows concurrent Execute, so renders of several
// clusters can run in parallel.
var parsed = sync.OnceValues(parseCatalog)

type templateSet struct {
	tmpl  *template.Template
	files []string // the directory's *.yaml, in execution order
}

var funcs = template.FuncMap{
	// json writes a value as JSON, which is also YAML: strings come out quoted and
	// escaped, maps and lists in flow style.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// b64 encodes a Secret's data value.
	"b64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	// list builds a list, to hand a define several arguments.
	"list": func(items ...any) []any { return items },
	// registryOf is the registry part of an image reference (all before the last /).
	"registryOf": func(ref string) string { return ref[:max(strings.LastIndex(ref, "/"), 0)] },
}

func parseCatalog() (map[string]*templateSet, error) {
	root := path.Join("catalog", Release)
	shared, err := fs.Glob(catalogFS, root+"/*.tpl")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(catalogFS, root)
	if err != nil {
		return nil, fmt.Errorf("reading catalog %s: %w", Release, err)
	}
	sets := map[string]*templateSet{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, err := fs.Glob(catalogFS, path.Join(root, e.Name(), "*.yaml"))
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
		t := template.New(e.Name()).Funcs(funcs).Option("missingkey=error")
		if len(shared) > 0 {
			if t, err = t.ParseFS(catalogFS, shared...); err != nil {
				return nil, fmt.Errorf("parsing catalog %s: %w", Release, err)
			}
		}
		if t, err = t.ParseFS(catalogFS, files...); err != nil {
			return nil, fmt.Errorf("parsing catalog %s/%s: %w", Release, e.Name(), err)
		}
		for i, f := range files {
			files[i] = path.Base(f)
		}
		sets[e.Name()] = &templateSet{tmpl: t, files: files}
	}
	return sets, nil
}

// execute runs the templates of one addon directory and decodes the documents they
// write into objects.
func execute(dir string, v *values) ([]*unstructured.Unstructured, error) {
	sets, err := parsed()
	if err != nil {
		return nil, err
	}
	set, ok := sets[dir]
	if !ok {
		return nil, fmt.Errorf("catalog %s has no directory %s", Release, dir)
	}
	var out []*unstructured.Unstructured
	for _, file := range set.files {
		var buf bytes.Buffer
		if err := set.tmpl.ExecuteTemplate(&buf, file, v); err != nil {
			return nil, fmt.Errorf("catalog %s/%s/%s: %w", Release, dir, file, err)
		}
		objs, err := decode(&buf)
		if err != nil {
			return nil, fmt.Errorf("catalog %s/%s/%s: %w", Release, dir, file, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// decode reads a stream of YAML documents; empty ones (a template that writes nothing
// for an option left unset) are skipped.
func decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []*unstructured.Unstructured
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		// Strict: a key written twice is a mistake in a template, not a choice.
		data, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if s := strings.TrimSpace(string(data)); s == "null" || s == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		out = append(out, u)
	}
}

// values is what a template sees as dot.
type values struct {
	Addon   *schema.Addon
	Cluster *schema.Cluster
	// Namespace is where the addon's namespaced objects go.
	Namespace string
	// P holds the type's parameters, prepared by its builder (see params.go).
	P    any
	opts Options
	// dir is the addon's catalog directory, for File.
	dir string
}

// Arch is the architecture of the per-architecture images (NAME-amd64). Clusters do not
// declare theirs; TKEStack's default is amd64, and workloads with such images are pinned
// to amd64 nodes so that an arm64 node never pulls the wrong one.
func (v *values) Arch() string { return "amd64" }

// Image returns, as JSON, the reference of one of the addon's catalog images after the
// Addon's overrides (spec.images, spec.registry, spec.version).
func (v *values) Image(name string) (string, error) {
	ref, err := v.ImageRef(name)
	return jsonString(ref), err
}

// ImageRef is Image as a plain string, for building a larger value (a flag) that then
// goes through json.
func (v *values) ImageRef(name string) (string, error) {
	ref, ok := v.Addon.ImageRef(name, v.Arch())
	if !ok {
		return "", fmt.Errorf("addon type %s has no image %q in schema.AddonCatalog", v.Addon.Spec.Type, name)
	}
	return ref, nil
}

// Tag returns, as JSON, the tag of one of the addon's catalog images (for operators that
// want the version beside the image).
func (v *values) Tag(name string) (string, error) {
	ref, err := v.ImageRef(name)
	return jsonString(ref[strings.LastIndex(ref, ":")+1:]), err
}

// File returns a plain file of the addon's catalog directory (a configuration that is
// not a template, such as Prometheus's scrape configuration).
func (v *values) File(name string) (string, error) {
	b, err := fs.ReadFile(catalogFS, path.Join("catalog", Release, v.dir, name))
	return string(b), err
}

// PluginImage returns, as JSON, the reference of one of gitfleet's own node-plugin
// images (gitfleet-gpu, gitfleet-cni), which are built from this repository's
// nodeplugins/ rather than pinned by TKEStack: tagged with Options.PluginVersion, from
// spec.registry or Options.PluginRegistry. Once the image is added to
// schema.AddonCatalog, the catalog's entry (and with it spec.images) takes over.
func (v *values) PluginImage(name string) string {
	if ref, ok := v.Addon.ImageRef(name, ""); ok {
		return jsonString(ref)
	}
	registry := v.opts.PluginRegistry
	if v.Addon.Spec.Registry != "" {
		registry = v.Addon.Spec.Registry
	}
	if ref, ok := v.opts.PluginImages[name]; ok {
		if v.Addon.Spec.Registry == "" {
			return jsonString(ref)
		}
		// The mirror holds the same bytes under the same digest.
		if _, digest, ok := strings.Cut(ref, "@"); ok {
			return jsonString(registry + "/" + name + "@" + digest)
		}
		return jsonString(ref)
	}
	return jsonString(registry + "/" + name + ":" + v.opts.PluginVersion)
}

// Resources returns, as JSON, a workload's container resources: the Addon's
// spec.resources entry as written, else the catalog's default as requests and limits,
// else none.
func (v *values) Resources(workload string) (string, error) {
	res, ok := v.Addon.Spec.Resources[workload]
	if !ok {
		info := schema.AddonCatalog[v.Addon.Spec.Type]
		for _, w := range info.Workloads() {
			if w.Name == workload && w.Resources != nil {
				res = schema.AddonResources{Requests: w.Resources, Limits: w.Resources}
			}
		}
	}
	out := map[string]map[string]string{}
	for part, rl := range map[string]schema.ResourceList{"requests": res.Requests, "limits": res.Limits} {
		if len(rl) == 0 {
			continue
		}
		m := map[string]string{}
		for name, q := range rl {
			m[name] = q.String()
		}
		out[part] = m
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
