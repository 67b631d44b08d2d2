package render

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gitfleet.dev/gitfleet/render/addons"
	"gitfleet.dev/gitfleet/render/alerting"
	"gitfleet.dev/gitfleet/schema"
)

// Renderer builds the desired objects of one repository revision. It is safe for use by
// several goroutines: the reconciler renders clusters in parallel.
type Renderer struct {
	repo *schema.Repo
	opts Options
	src  fs.FS
	// kfs is the in-memory copy of the repository kustomize builds from.
	kfs filesys.FileSystem
	// entry is each kustomize App's build directory, keyed by entryKey(app, namespace): a
	// generated one for spec.namespace and for each business Namespace the App targets.
	entry map[string]string
	// charts reads each Helm App's chart files at most once.
	charts map[string]*chartOnce
	// unfetched are the remote charts an offline fetcher did not have.
	unfetched chartSet
	// manifests finds the file and line of a rendered object, for Check.
	manifests *manifestIndex
	// sops records the SOPS-encrypted files of the revision.
	sops *sopsFiles

	mu    sync.Mutex
	cache map[string]*cached
	// private are the build keys whose inputs include a decrypted sops file outside
	// what the build reads itself (a Helm App's values files); see cacheEntry.memoryOnly.
	private map[string]bool
	stats   struct{ renders, reused atomic.Int64 }
}

// cached is one build, done once, shared by every cluster with the same inputs.
type cached struct {
	once sync.Once
	objs []*unstructured.Unstructured
	err  error
}

// ClusterResult is the desired state of one cluster: one entry per App that targets it.
type ClusterResult struct {
	Cluster string
	Apps    []AppResult
}

// AppResult is one App's objects for one cluster, or why they could not be built.
type AppResult struct {
	App *schema.App
	// Objects may be shared with other clusters' results (a render is done once per
	// distinct input): callers that change objects, such as the reconciler filling in
	// namespaces, work on copies. The slice itself is the caller's.
	Objects []*unstructured.Unstructured
	// Err is a *Error when the App could not be rendered; Objects is then empty.
	Err error
	// Held, when not empty, says why the App is left on the cluster as it is, neither
	// applied nor pruned (a rollout wave that has not reached a cluster whose earlier
	// revision is not known); Objects is then empty.
	Held string
	// Secrets, for the alerting unit, are the Secrets of the cluster gitfleet runs in that
	// its objects read and that the reconciler copies into the member cluster.
	Secrets []alerting.SecretCopy
}

// Stats says how much rendering was done and how much was reused.
type Stats struct {
	// Renders is the number of kustomize builds and Helm templates run.
	Renders int64
	// Reused is the number of App renders answered from an identical earlier build.
	Reused int64
}

// syntheticRoot holds the kustomizations gitfleet writes around Apps (for spec.namespace).
// It starts with a dot so no repository path can clash with it.
const syntheticRoot = "/.gitfleet/apps"

// Options tune a Renderer.
type Options struct {
	// Addons says which build of gitfleet's own node plugins (GPU, CNI) the addons run.
	Addons addons.Options
	// Cache, when set, keeps builds between Renderers: builds whose inputs have the same
	// content in this revision as in the one rendered before are not run again. Objects
	// from the cache are shared the same way as within one Renderer (see
	// AppResult.Objects).
	Cache *Cache
	// Limits bound what one App's render may cost; zero fields take DefaultLimits.
	Limits Limits
	// Isolation, when set, runs each Helm template in a child process that is killed past
	// the timeout or its memory cap; nil renders in this process (tests, libraries).
	Isolation *Isolation
	// Charts fetches the locked remote charts of Apps (and the remote dependencies of
	// charts). Nil fails every App that needs one, with ErrNoChartFetcher.
	Charts ChartFetcher
	// Decrypt opens SOPS-encrypted files with the operator's age identities while the
	// repository is copied into memory. Nil leaves them encrypted: their structure is
	// checked, and an App that reads one cannot be rendered (validate accepts it).
	Decrypt *Decryptor
}

// chartInput is a Helm App's chart as read from the repository or fetched, with its
// digest.
type chartInput struct {
	files  []*loader.BufferedFile
	digest string
}

// chartOnce reads one App's chart the first time a render needs it; the context is the
// first render's (a fetch that it cancelled fails the App in this revision only).
type chartOnce struct {
	once sync.Once
	load func(ctx context.Context) (chartInput, error)
	in   chartInput
	err  error
}

func (c *chartOnce) get(ctx context.Context) (chartInput, error) {
	c.once.Do(func() { c.in, c.err = c.load(ctx) })
	return c.in, c.err
}

// New copies the repository tree into memory and prepares a build for every App.
func New(ctx context.Context, src fs.FS, repo *schema.Repo) (*Renderer, error) {
	return NewWithOptions(ctx, src, repo, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(ctx context.Context, src fs.FS, repo *schema.Repo, opts Options) (*Renderer, error) {
	opts.Limits = opts.Limits.withDefaults()
	mem := filesys.MakeFsInMemory()
	refused := refusedFiles{}
	sopsFiles := newSopsFiles()
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		// Bounded before anything parses it, the sops check included.
		refused.check(p, data, opts.Limits.YAML, opts.Cache.Passed())
		if refused["/"+p] == nil {
			if data, err = sopsFiles.prepare(p, data, opts.Decrypt); err != nil {
				return err
			}
		}
		return mem.WriteFile("/"+p, data)
	})
	if err != nil {
		return nil, fmt.Errorf("copying the repository into memory: %w", err)
	}
	r := &Renderer{
		repo: repo, opts: opts, src: src, kfs: refusingFS{FileSystem: mem, refused: refused}, manifests: &manifestIndex{src: src}, sops: sopsFiles,
		entry:  map[string]string{},
		charts: map[string]*chartOnce{},
		cache:  map[string]*cached{}, private: map[string]bool{},
	}
	if opts.Cache != nil {
		opts.Cache.newGeneration()
	}
	for _, app := range repo.Apps {
		switch {
		case app.Spec.Source.Kustomize != nil:
			k := app.Spec.Source.Kustomize
			paths := []string{k.Path}
			for _, o := range k.Overlays {
				paths = append(paths, o.Path)
			}
			for i, p := range paths {
				for _, ns := range append([]string{app.Spec.Namespace}, app.Spec.Targets.Namespaces...) {
					dir, err := r.entryPoint(app, i, p, ns)
					if err != nil {
						return nil, err
					}
					r.entry[entryKey(app.Metadata.Name, p, ns)] = dir
				}
			}
		case app.Spec.Source.Helm != nil:
			r.charts[app.Metadata.Name] = &chartOnce{load: func(ctx context.Context) (chartInput, error) {
				chartPath := app.Spec.Source.Helm.Chart
				fromRepo := func() ([]*loader.BufferedFile, error) { return chartFiles(src, chartPath, opts.Limits.YAML) }
				files, label, err := fetchChart(ctx, repo, app, opts.Charts, &r.unfetched, fromRepo, opts.Limits.YAML)
				if err != nil {
					return chartInput{}, fmt.Errorf("loading chart %s: %w", label, err)
				}
				c, err := loader.LoadFiles(files)
				if err != nil {
					return chartInput{}, fmt.Errorf("loading chart %s: %w", label, err)
				}
				return chartInput{files: files, digest: chartDigest(files)}, checkTemplates(label, c)
			}}
		}
	}
	return r, nil
}

func entryKey(app, dir, namespace string) string { return app + "\x00" + dir + "\x00" + namespace }

// entryPoint returns the directory kustomize builds for an App's directory (its path or
// overlay number i) into a namespace. For a namespace (spec.namespace, or a business
// Namespace the App targets) it is a generated kustomization that puts the directory into
// it, the way Flux applies targetNamespace.
func (r *Renderer) entryPoint(app *schema.App, i int, dir, namespace string) (string, error) {
	src := "/" + path.Clean(strings.TrimPrefix(dir, "./"))
	if namespace == "" {
		return src, nil
	}
	dir = path.Join(syntheticRoot, app.Metadata.Name, fmt.Sprint(i), namespace)
	rel := strings.Repeat("../", strings.Count(dir, "/")) + strings.TrimPrefix(src, "/")
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n- %s\n", namespace, rel)
	if err := r.kfs.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(k)); err != nil {
		return "", fmt.Errorf("preparing the namespace of app %q: %w", app.Metadata.Name, err)
	}
	return dir, nil
}

// Cluster renders every App that targets the cluster. It never fails as a whole: each
// App's problem is in its own result.
func (r *Renderer) Cluster(ctx context.Context, c *schema.Cluster) ClusterResult {
	res := ClusterResult{Cluster: c.Metadata.Name}
	// Generated units come first, in the order they depend on each other: business
	// namespaces, then addons (their CRDs), then alerting (PrometheusRules need the
	// Monitoring addon's CRDs); Apps are applied into and on top of all of them.
	if objs := r.namespaceObjects(c); len(objs) > 0 {
		res.Apps = append(res.Apps, r.unitResult(generatedUnit(UnitNamespaces), c, "businesses/", objs, nil))
	}
	for _, a := range r.repo.AddonsFor(c) {
		unit := generatedUnit(UnitAddonPrefix + a.Metadata.Name)
		objs, err := r.addonObjects(a, c)
		res.Apps = append(res.Apps, r.unitResult(unit, c, a.Origin.File, objs, err))
	}
	if objs, secrets, err := alerting.RenderWithSecrets(r.repo, c); err != nil || len(objs) > 0 {
		unit := r.unitResult(generatedUnit(UnitAlerting), c, "alerting/", objs, err)
		if unit.Err == nil {
			unit.Secrets = secrets
		}
		res.Apps = append(res.Apps, unit)
	}
	for _, app := range r.repo.AppsFor(c) {
		res.Apps = append(res.Apps, r.App(ctx, app, c))
	}
	return res
}

// App renders one App of the repository for one cluster it targets.
func (r *Renderer) App(ctx context.Context, app *schema.App, c *schema.Cluster) AppResult {
	ar := AppResult{App: app}
	objs, err := r.app(ctx, app, c)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		ar.Err = &Error{App: app.Metadata.Name, Cluster: c.Metadata.Name, File: app.Origin.File, Err: err}
	} else {
		// Shared with every cluster whose inputs are the same: see AppResult.Objects.
		ar.Objects = append([]*unstructured.Unstructured(nil), objs...)
	}
	return ar
}

// addonObjects renders an Addon for a cluster.
func (r *Renderer) addonObjects(a *schema.Addon, c *schema.Cluster) ([]*unstructured.Unstructured, error) {
	if n := len(UnitAddonPrefix + a.Metadata.Name); n > 63 {
		return nil, fmt.Errorf("addon name %q is too long: gitfleet labels its objects with %q, at most 63 characters", a.Metadata.Name, UnitAddonPrefix+a.Metadata.Name)
	}
	return addons.RenderWithOptions(a, c, r.opts.Addons)
}

// unitResult is a generated unit's result: labelled objects, or the error that kept it
// from rendering.
func (r *Renderer) unitResult(unit *schema.App, c *schema.Cluster, file string, objs []*unstructured.Unstructured, err error) AppResult {
	if err == nil {
		objs, err = r.label(unit, objs)
	}
	if err != nil {
		return AppResult{App: unit, Err: &Error{App: unit.Metadata.Name, Cluster: c.Metadata.Name, File: file, Err: err}}
	}
	return AppResult{App: unit, Objects: objs}
}

// Stats reports how many builds ran and how many were reused so far.
func (r *Renderer) Stats() Stats {
	return Stats{Renders: r.stats.renders.Load(), Reused: r.stats.reused.Load()}
}

// app renders one App for one cluster: once into its own namespace when it targets the
// cluster directly, and once into each business Namespace it targets there.
func (r *Renderer) app(ctx context.Context, app *schema.App, c *schema.Cluster) ([]*unstructured.Unstructured, error) {
	var namespaces []string
	if app.Targets(c) {
		namespaces = append(namespaces, app.Spec.Namespace)
	}
	namespaces = append(namespaces, r.repo.TargetNamespaces(app, c)...)
	var out []*unstructured.Unstructured
	for _, ns := range namespaces {
		objs, err := r.bounded(ctx, func() ([]*unstructured.Unstructured, error) { return r.appIn(ctx, app, c, ns) })
		if err != nil {
			if ns != app.Spec.Namespace {
				err = fmt.Errorf("in namespace %s: %w", ns, err)
			}
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// appIn renders one App for one cluster into one namespace, reusing an earlier build with
// the same inputs: a kustomize App builds the same for every cluster; a Helm App differs
// only by the values and capabilities of the cluster.
func (r *Renderer) appIn(ctx context.Context, app *schema.App, c *schema.Cluster, namespace string) ([]*unstructured.Unstructured, error) {
	name := app.Metadata.Name
	fleet := r.repo.Fleet.Metadata.Name
	if h := app.Spec.Source.Helm; h != nil {
		chart, err := r.charts[name].get(ctx)
		if err != nil {
			return nil, err
		}
		if list := checkHelmValues(r.src, app, r.sops); len(list) > 0 {
			return nil, list
		}
		// Values files are read from the in-memory copy, where sops files are decrypted.
		values, err := helmValues(memValues{r.kfs, r.sops}, h, c, r.opts.Limits.YAML)
		if err != nil {
			return nil, err
		}
		// Everything the build depends on, by content: the chart's files, the values, the
		// cluster's capabilities, and what the objects are labelled with.
		key, err := json.Marshal([]any{"helm", fleet, name, h.ReleaseName, namespace, chart.digest, c.Spec.Version, c.Spec.APIVersions, values})
		if err != nil {
			return nil, fmt.Errorf("values of app %q: %w", name, err)
		}
		if r.sops.anyDecrypted(h.ValuesFiles) {
			r.mu.Lock()
			r.private[string(key)] = true
			r.mu.Unlock()
		}
		return r.once(string(key), func(filesys.FileSystem) ([]*unstructured.Unstructured, error) {
			ch, err := loader.LoadFiles(chart.files)
			if err != nil {
				return nil, fmt.Errorf("loading chart %s: %w", chartLabel(h), err)
			}
			release := h.ReleaseName
			if release == "" {
				release = name
			}
			releaseNamespace := namespace
			if releaseNamespace == "" {
				releaseNamespace = "default"
			}
			var objs []*unstructured.Unstructured
			if iso := r.opts.Isolation; iso != nil {
				objs, err = iso.helmIsolated(ctx, chart.files, release, releaseNamespace, values, c, r.opts.Limits)
			} else {
				objs, err = helmTemplate(ctx, ch, release, releaseNamespace, values, c, r.opts.Limits)
			}
			if err != nil {
				return nil, err
			}
			return r.label(app, objs)
		})
	}
	source := app.Spec.Source.Kustomize.PathFor(c)
	key := entryKey(name, source, namespace)
	dir := r.entry[key]
	// The key names the build; its inputs are the files it reads, checked by the cache.
	// The App's plaintext allowances decide whether the build passes, so they are part of
	// the key: dropping one must not reuse a build it let through.
	allowed, err := json.Marshal(app.Spec.PlaintextAllowed)
	if err != nil {
		return nil, fmt.Errorf("spec.plaintextAllowed of app %q: %w", name, err)
	}
	return r.once("kustomize\x00"+fleet+"\x00"+key+"\x00"+dir+"\x00"+string(allowed), func(fsys filesys.FileSystem) ([]*unstructured.Unstructured, error) {
		return r.buildKustomize(fsys, app, dir, source)
	})
}

// buildFunc runs one build, reading the repository through fsys.
type buildFunc func(fsys filesys.FileSystem) ([]*unstructured.Unstructured, error)

// once runs build for a key the first time it is asked for and shares the result.
func (r *Renderer) once(key string, build buildFunc) ([]*unstructured.Unstructured, error) {
	r.mu.Lock()
	e, ok := r.cache[key]
	if !ok {
		e = &cached{}
		r.cache[key] = e
	}
	r.mu.Unlock()
	ran := false
	e.once.Do(func() {
		ran = true
		e.objs, e.err = r.build(key, build)
	})
	if !ran {
		r.stats.reused.Add(1)
	}
	return e.objs, e.err
}

// build answers a key from the Cache of earlier revisions when it has a build whose
// inputs are unchanged, and otherwise runs it, recording what it reads.
func (r *Renderer) build(key string, build buildFunc) ([]*unstructured.Unstructured, error) {
	c := r.opts.Cache
	if c == nil {
		r.stats.renders.Add(1)
		return build(r.kfs)
	}
	r.mu.Lock()
	private := r.private[key]
	r.mu.Unlock()
	// The limits decide which files a build may read, so they are part of what it read.
	key = fmt.Sprintf("%s\x00%+v", key, r.opts.Limits.withDefaults())
	if objs, ok := c.lookup(key, r.kfs); ok {
		r.stats.reused.Add(1)
		return objs, nil
	}
	r.stats.renders.Add(1)
	rec := newRecordingFS(r.kfs)
	objs, err := build(rec)
	if err == nil {
		probes := rec.probes()
		c.store(key, &cacheEntry{objs: objs, probes: probes, memoryOnly: private || r.sops.readAny(probes)})
	}
	return objs, err
}

// buildKustomize builds dir (source, or the generated kustomization around it).
func (r *Renderer) buildKustomize(fsys filesys.FileSystem, app *schema.App, dir, source string) ([]*unstructured.Unstructured, error) {
	if err := refuseRemote(fsys, dir); err != nil {
		return nil, err
	}
	// The files a failed build read are where its problem is; the cache records them
	// already, a build without a cache records them here.
	rec, ok := fsys.(*recordingFS)
	if !ok {
		rec = newRecordingFS(fsys)
	}
	if err := refuseAmplification(rec, dir, r.opts.Limits.MaxObjects); err != nil {
		return nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	guard := newSopsGuard(rec, r.sops)
	watch := &boundWatch{FileSystem: guard}
	resMap, err := k.Run(watch, dir)
	if refused := watch.refused(); refused != nil {
		// What kustomize makes of it names the file only deep in its text.
		return nil, fmt.Errorf("kustomize build %s: %w", strings.TrimPrefix(source, "./"), refused)
	}
	if nk := guard.needsKey(); nk != nil {
		// Whatever kustomize made of the refused read, the cause is the missing key.
		return nil, nk
	}
	if err == nil {
		if list := checkPlaintext(fsys, guard.readFiles(), r.sops, &app.Spec); len(list) > 0 {
			return nil, list
		}
	}
	if err != nil {
		return nil, explainKustomize(rec, source, err)
	}
	out := outputBound{limits: r.opts.Limits}
	if err := out.add(resMap.Size(), 0); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", strings.TrimPrefix(source, "./"), err)
	}
	objs := make([]*unstructured.Unstructured, 0, resMap.Size())
	for _, res := range resMap.Resources() {
		u, err := kustomizeObject(res)
		if err != nil {
			return nil, err
		}
		if err := out.add(0, nodeBytes(res.YNode())); err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", strings.TrimPrefix(source, "./"), err)
		}
		objs = append(objs, u)
	}
	return r.label(app, objs)
}

// label marks every object with where it came from and sorts the set. A label whose value
// is not a string (version: 3.9 in YAML) is an error naming the object: the API server
// would refuse the object, and reading the labels any other way would drop them all.
func (r *Renderer) label(app *schema.App, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	for _, u := range objs {
		labels, _, err := unstructured.NestedStringMap(u.Object, "metadata", "labels")
		if err != nil {
			return nil, fmt.Errorf("%s %s: metadata.labels: every label value must be a string (quote numbers and booleans): %w", u.GetKind(), u.GetName(), err)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelManagedBy] = ManagedByValue
		labels[LabelApp] = app.Metadata.Name
		labels[LabelFleet] = r.repo.Fleet.Metadata.Name
		u.SetLabels(labels)
	}
	Sort(objs)
	return objs, nil
}
