package render

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gitfleet.dev/gitfleet/schema"
)

// Renderer builds the desired objects of one repository revision.
type Renderer struct {
	repo *schema.Repo
	fsys filesys.FileSystem
	// apps holds one build per App, done at most once however many clusters ask for it.
	apps map[string]func() ([]*unstructured.Unstructured, error)
}

// ClusterResult is the desired state of one cluster: one entry per App that targets it.
type ClusterResult struct {
	Cluster string
	Apps    []AppResult
}

// AppResult is one App's objects for one cluster, or why they could not be built.
type AppResult struct {
	App     *schema.App
	Objects []*unstructured.Unstructured
	// Err is a *Error when the App could not be rendered; Objects is then empty.
	Err error
}

// syntheticRoot holds the kustomizations gitfleet writes around Apps (for spec.namespace).
// It starts with a dot so no repository path can clash with it.
const syntheticRoot = "/.gitfleet/apps"

// New copies the repository tree into memory and prepares a build for every App.
func New(ctx context.Context, src fs.FS, repo *schema.Repo) (*Renderer, error) {
	mem := filesys.MakeFsInMemory()
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
		return mem.WriteFile("/"+p, data)
	})
	if err != nil {
		return nil, fmt.Errorf("copying the repository into memory: %w", err)
	}
	r := &Renderer{repo: repo, fsys: mem, apps: map[string]func() ([]*unstructured.Unstructured, error){}}
	for _, app := range repo.Apps {
		if app.Spec.Source.Kustomize == nil {
			r.apps[app.Metadata.Name] = func() ([]*unstructured.Unstructured, error) {
				return nil, fmt.Errorf("this gitfleet cannot render Helm sources yet")
			}
			continue
		}
		dir, err := r.entryPoint(app)
		if err != nil {
			return nil, err
		}
		r.apps[app.Metadata.Name] = sync.OnceValues(func() ([]*unstructured.Unstructured, error) {
			return r.buildKustomize(app, dir)
		})
	}
	return r, nil
}

// entryPoint returns the directory kustomize builds for an App. An App with
// spec.namespace gets a generated kustomization that puts the App's directory into that
// namespace, the same way Flux applies targetNamespace.
func (r *Renderer) entryPoint(app *schema.App) (string, error) {
	src := "/" + path.Clean(strings.TrimPrefix(app.Spec.Source.Kustomize.Path, "./"))
	if app.Spec.Namespace == "" {
		return src, nil
	}
	dir := path.Join(syntheticRoot, app.Metadata.Name)
	rel := strings.Repeat("../", strings.Count(dir, "/")) + strings.TrimPrefix(src, "/")
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n- %s\n", app.Spec.Namespace, rel)
	if err := r.fsys.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(k)); err != nil {
		return "", fmt.Errorf("preparing the namespace of app %q: %w", app.Metadata.Name, err)
	}
	return dir, nil
}

// Cluster renders every App that targets the cluster. It never fails as a whole: each
// App's problem is in its own result.
func (r *Renderer) Cluster(ctx context.Context, c *schema.Cluster) ClusterResult {
	res := ClusterResult{Cluster: c.Metadata.Name}
	for _, app := range r.repo.AppsFor(c) {
		ar := AppResult{App: app}
		objs, err := r.apps[app.Metadata.Name]()
		switch {
		case ctx.Err() != nil:
			ar.Err = &Error{App: app.Metadata.Name, Cluster: c.Metadata.Name, File: app.Origin.File, Err: ctx.Err()}
		case err != nil:
			ar.Err = &Error{App: app.Metadata.Name, Cluster: c.Metadata.Name, File: app.Origin.File, Err: err}
		default:
			// Each cluster gets its own copy: the reconciler fills in namespaces and the
			// apply engine sorts and annotates objects in place.
			ar.Objects = make([]*unstructured.Unstructured, len(objs))
			for i, o := range objs {
				ar.Objects[i] = o.DeepCopy()
			}
		}
		res.Apps = append(res.Apps, ar)
	}
	return res
}

func (r *Renderer) buildKustomize(app *schema.App, dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(r.fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", strings.TrimPrefix(app.Spec.Source.Kustomize.Path, "./"), err)
	}
	objs := make([]*unstructured.Unstructured, 0, resMap.Size())
	for _, res := range resMap.Resources() {
		// Through JSON rather than res.Map(): kustomize's maps hold Go ints, which the
		// Kubernetes machinery (DeepCopy, apply) does not accept; JSON gives int64.
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("reading %s from kustomize output: %w", res.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("reading %s from kustomize output: %w", res.CurId(), err)
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelManagedBy] = ManagedByValue
		labels[LabelApp] = app.Metadata.Name
		labels[LabelFleet] = r.repo.Fleet.Metadata.Name
		u.SetLabels(labels)
		objs = append(objs, u)
	}
	Sort(objs)
	return objs, nil
}
