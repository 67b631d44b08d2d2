package reconciler

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// waveRenderer renders each cluster with every App at the revision its rollout gave the
// cluster: the newest revision once the cluster's wave reached it, the one it had before
// otherwise (rendered from that commit, with that commit's Cluster and Business files, so
// that a quota change or a new label follows the waves too). A held App whose objects
// are the same at the newest revision simply gets the newest one.
type waveRenderer struct {
	newest *render.Renderer
	// waves: some App rolls out in waves; without, every cluster renders newest alone,
	// with no per-App lookup on the path every pass takes.
	waves bool
	// revisionFor says which revision an App has on a cluster when it is held back.
	revisionFor func(app, cluster string) (rev string, held bool)
	past        *pastRevisions

	mu sync.Mutex
	// moved are the held Apps (by App, then cluster) rendered the same at the newest
	// revision: their clusters have the newest revision after this pass.
	moved map[string]map[string]bool
}

func (w *waveRenderer) Cluster(ctx context.Context, c *schema.Cluster) render.ClusterResult {
	res := w.newest.Cluster(ctx, c)
	if !w.waves {
		return res
	}
	name := c.Metadata.Name
	out := res.Apps[:0:0]
	for _, app := range res.Apps {
		rev, held := w.revisionFor(app.App.Metadata.Name, name)
		if !held {
			out = append(out, app)
			continue
		}
		if rev == "" {
			// Not known what the cluster has: left as it is until its wave.
			out = append(out, render.AppResult{App: app.App, Held: "waiting for its rollout wave"})
			continue
		}
		old, ok := w.atRevision(ctx, rev, app.App.Metadata.Name, c)
		switch {
		case ok && old.Err == nil && app.Err == nil && equality.Semantic.DeepEqual(old.Objects, app.Objects):
			w.noteMoved(app.App.Metadata.Name, name)
			out = append(out, app)
		case ok:
			out = append(out, old)
		}
		// Not ok: the App was not on the cluster at that revision; it comes with its wave.
	}
	res.Apps = out
	return res
}

// atRevision renders one App for one cluster at an earlier revision; ok is false when
// that revision did not put the App there.
func (w *waveRenderer) atRevision(ctx context.Context, rev, app string, c *schema.Cluster) (render.AppResult, bool) {
	past, err := w.past.get(ctx, rev)
	if err != nil {
		// Neither applied nor pruned: what the cluster has stays.
		a := &schema.App{Object: schema.Object{Metadata: schema.ObjectMeta{Name: app}}}
		return render.AppResult{App: a, Err: &render.Error{App: app, Cluster: c.Metadata.Name, Err: fmt.Errorf("the cluster keeps revision %s until its rollout wave, and that revision cannot be rendered: %w", short(rev), err)}}, true
	}
	a, oc := past.repo.App(app), past.repo.Cluster(c.Metadata.Name)
	if a == nil || oc == nil || !(a.Targets(oc) || len(past.repo.TargetNamespaces(a, oc)) > 0) {
		return render.AppResult{}, false
	}
	return past.renderer.App(ctx, a, oc), true
}

func (w *waveRenderer) noteMoved(app, cluster string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.moved[app] == nil {
		w.moved[app] = map[string]bool{}
	}
	w.moved[app][cluster] = true
}

// pastRevisions loads the earlier revisions clusters still have, once each, and keeps
// them while some cluster has them.
type pastRevisions struct {
	load func(ctx context.Context, rev string) (*schema.Repo, *render.Renderer, error)

	mu   sync.Mutex
	revs map[string]*pastRevision
}

type pastRevision struct {
	once     sync.Once
	repo     *schema.Repo
	renderer *render.Renderer
	err      error
}

func (p *pastRevisions) get(ctx context.Context, rev string) (*pastRevision, error) {
	p.mu.Lock()
	if p.revs == nil {
		p.revs = map[string]*pastRevision{}
	}
	r := p.revs[rev]
	if r == nil {
		r = &pastRevision{}
		p.revs[rev] = r
	}
	p.mu.Unlock()
	r.once.Do(func() { r.repo, r.renderer, r.err = p.load(ctx, rev) })
	return r, r.err
}

// keep forgets the revisions no cluster has any more, and failed loads (tried again).
func (p *pastRevisions) keep(inUse map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for rev, r := range p.revs {
		if !inUse[rev] || r.err != nil {
			delete(p.revs, rev)
		}
	}
}
