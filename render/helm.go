package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/ignore"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/schema"
)

// chartFiles reads a chart directory (honouring .helmignore, as `helm` does) or a .tgz
// from the repository snapshot. The files, not a loaded chart, are what is kept between
// renders: Helm's install removes disabled dependencies from the chart it is given, so
// every render must load its own.
//
// Every file is held to the YAML limits (templates, which are text until rendered, to the
// size alone) before Helm's loader parses Chart.yaml and values.yaml into Go values.
func chartFiles(src fs.FS, chartPath string, limits yamlbound.Limits) ([]*loader.BufferedFile, error) {
	p := path.Clean(strings.TrimPrefix(chartPath, "./"))
	if strings.HasSuffix(p, ".tgz") {
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return nil, err
		}
		// Helm's loader bounds what the archive decompresses to (100 MiB, 5 MiB a file).
		if err := checkFile(p, data, yamlbound.Limits{MaxFileSize: limits.MaxFileSize}); err != nil {
			return nil, err
		}
		return archiveFiles(p, data, limits)
	}
	rules := ignore.Empty()
	if data, err := fs.ReadFile(src, path.Join(p, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(p, ignore.HelmIgnore), err)
		}
	}
	rules.AddDefaults()
	var files []*loader.BufferedFile
	err := fs.WalkDir(src, p, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(name, p), "/")
		if rel == "" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if rules.Ignore(rel, info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return err
		}
		if err := checkFile(name, data, chartFileLimits(rel, limits)); err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// archiveFiles reads a chart archive (name is where it came from, for errors), each file
// held to the limits as chartFiles holds a directory's. The archive's own size is its
// source's to bound: the file limit in the repository, the fetch limit for a remote one.
func archiveFiles(name string, data []byte, limits yamlbound.Limits) ([]*loader.BufferedFile, error) {
	files, err := loader.LoadArchiveFiles(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := checkFile(path.Join(name, f.Name), f.Data, chartFileLimits(f.Name, limits)); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// chartFileLimits are the limits of one chart file (rel to the chart): templates are text
// until rendered, so only their size is bounded here and their output after the render.
func chartFileLimits(rel string, limits yamlbound.Limits) yamlbound.Limits {
	if strings.HasPrefix(rel, "templates/") || strings.Contains(rel, "/templates/") {
		return yamlbound.Limits{MaxFileSize: limits.MaxFileSize}
	}
	return limits
}

// helmValues layers an App's values for one cluster: values files, then the App's values,
// then each matching valuesByLabel entry in order, then the cluster's own values. The
// chart's defaults are below all of these (Helm coalesces them during the render).
func helmValues(src fs.FS, h *schema.HelmSource, c *schema.Cluster, limits yamlbound.Limits) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range h.ValuesFiles {
		name := path.Clean(strings.TrimPrefix(f, "./"))
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		// Values files are read whatever their extension.
		if err := yamlbound.Check(name, data, limits); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		out = mergeValues(out, v)
	}
	out = mergeValues(out, h.Values)
	for _, lv := range h.ValuesByLabel {
		if (&schema.App{Spec: schema.AppSpec{Targets: schema.Targets{Selector: &lv.Selector}}}).Targets(c) {
			out = mergeValues(out, lv.Values)
		}
	}
	return mergeValues(out, h.ValuesByCluster[c.Metadata.Name]), nil
}

// mergeValues merges src into dst the way Helm merges -f files: maps merge key by key,
// anything else replaces.
func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
			dst[k] = mergeValues(map[string]any{}, sm)
			continue
		}
		dst[k] = v
	}
	return dst
}

// helmTemplate renders a chart exactly as `helm template --include-crds` would for the
// cluster: the chart's CRDs, the release manifest and the hooks (tests included), with
// .Capabilities set from the cluster's declared version and API list. Nothing reaches a
// cluster or the network.
//
// It runs the steps of Helm's client-only install (action.Install.RunWithContext and
// renderResources in helm v3.22.0) itself rather than through action.Install: that path
// parses every rendered document once more only to order them for an install and to
// split hooks from manifests, which gitfleet, sorting objects its own way and keeping
// hooks and manifests alike, does not need. The document boundaries are Helm's
// (splitManifests); the reference tests compare the result with the helm binary.
//
// The rendered templates are held to limits before they are parsed: their bytes and
// objects, and the YAML bounds for each template's output (a template can write an
// alias bomb as easily as a file can hold one).
func helmTemplate(ctx context.Context, c *chart.Chart, release, namespace string, values map[string]any, cluster *schema.Cluster, limits Limits) ([]*unstructured.Unstructured, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Metadata.Type == "library" {
		return nil, fmt.Errorf("chart %s is a library chart (type: library): library charts are not installable; use it as a dependency of an application chart", c.Name())
	}
	// As helm install and helm template do: a dependency declared in Chart.yaml but not
	// vendored in charts/ is an error, not a chart silently rendered without it.
	if err := action.CheckDependencies(c, c.Metadata.Dependencies); err != nil {
		return nil, fmt.Errorf("chart %s: %w (vendor them with helm dependency build, or give them a https:// or oci:// repository in Chart.yaml and run gitfleet lock)", c.Name(), err)
	}
	if err := chartutil.ValidateReleaseName(release); err != nil {
		return nil, fmt.Errorf("helm template: release name %q: %w", release, err)
	}
	caps, err := capabilities(cluster)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(c, values); err != nil {
		return nil, fmt.Errorf("helm template: %w", err)
	}
	options := chartutil.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	renderValues, err := chartutil.ToRenderValuesWithSchemaValidation(c, values, options, caps, false)
	if err != nil {
		return nil, fmt.Errorf("helm template: %w", err)
	}
	if c.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("helm template: chart requires kubeVersion: %s which is incompatible with Kubernetes %s", c.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	files, err := (engine.Engine{}).Render(c, renderValues)
	if err != nil {
		return nil, fmt.Errorf("helm template: %w", err)
	}

	if err := boundRendered(c, files, limits); err != nil {
		return nil, fmt.Errorf("helm template: %w", err)
	}
	// The chart's CRDs come first, as written (--include-crds).
	var crds strings.Builder
	for _, crd := range c.CRDObjects() {
		fmt.Fprintf(&crds, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	out, err := parseManifests(crds.String())
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		// NOTES.txt is printed to the user, not applied; partials render nothing.
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, doc := range splitManifests(files[name]) {
			u, err := parseDocument(doc + "\n")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if u != nil {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// boundRendered holds a chart's rendered templates (and its CRDs, which are applied too)
// to the output limits and each template's output to the YAML ones.
func boundRendered(c *chart.Chart, files map[string]string, limits Limits) error {
	out := outputBound{limits: limits}
	for _, crd := range c.CRDObjects() {
		if err := out.add(int(documents(crd.File.Data)), int64(len(crd.File.Data))); err != nil {
			return err
		}
	}
	for name, data := range files {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		if err := out.add(strings.Count(data, "\n---")+1, int64(len(data))); err != nil {
			return err
		}
	}
	// Only once the total is known to be bounded is each template's output looked into.
	for name, data := range files {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		if err := yamlbound.Check(name, []byte(data), limits.YAML); err != nil {
			return err
		}
	}
	return nil
}

// capabilities is what a chart sees as .Capabilities on the cluster: Helm's defaults for
// `helm template`, with the cluster's declared version and API versions.
func capabilities(cluster *schema.Cluster) (*chartutil.Capabilities, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	if v := cluster.Spec.Version; v != "" {
		kv, err := chartutil.ParseKubeVersion("v" + strings.TrimPrefix(v, "v"))
		if err != nil {
			return nil, fmt.Errorf("cluster version %q: %w", v, err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, cluster.Spec.APIVersions...)
	return caps, nil
}

// splitManifests splits one rendered template into its documents exactly where Helm's
// releaseutil.SplitManifests does (its separator is the regular expression
// `(?:^|\s*\n)---\s*`: "---" at the very start or right after a newline that an earlier
// separator did not consume), each trimmed of surrounding space; empty documents are
// dropped. Done by hand because the regular expression was a tenth of a Helm render.
func splitManifests(file string) []string {
	t := strings.TrimSpace(file)
	var docs []string
	add := func(d string) {
		if d = strings.TrimSpace(d); d != "" {
			docs = append(docs, d)
		}
	}
	start, i := 0, 0
	if strings.HasPrefix(t, "---") {
		start = skipSpace(t, 3)
		i = start
	}
	for {
		j := strings.Index(t[i:], "\n---")
		if j < 0 {
			add(t[start:])
			return docs
		}
		j += i
		add(t[start:j])
		start = skipSpace(t, j+4)
		i = start
	}
}

// skipSpace returns the index of the first byte from i on that is not in RE2's \s.
func skipSpace(t string, i int) int {
	for i < len(t) && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r' || t[i] == '\f') {
		i++
	}
	return i
}

// parseManifests reads a multi-document manifest into objects in one pass (documents are
// sorted afterwards by Sort). Each document keeps its bytes as written, so a block scalar
// that ends a document keeps its final newline, as helm keeps it.
func parseManifests(all string) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(all)))
	var out []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the rendered manifests: %w", err)
		}
		u, err := parseDocument(string(doc))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sourceComment(string(doc)), err)
		}
		if u != nil {
			out = append(out, u)
		}
	}
}

func sourceComment(doc string) string {
	for _, line := range strings.Split(doc, "\n") {
		if s, ok := strings.CutPrefix(line, "# Source: "); ok {
			return s
		}
	}
	return "a rendered manifest"
}
