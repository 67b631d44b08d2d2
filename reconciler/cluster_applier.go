package reconciler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"gitfleet.dev/gitfleet/reconciler/inventory"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// clusterApplier applies Apps to one member cluster.
type clusterApplier struct {
	cluster string
	// restConfig and httpClient are the connection, reused by the cluster's drift watch.
	restConfig *rest.Config
	httpClient *http.Client
	// fleet is the Fleet's name: inventories and prunes are scoped to it.
	fleet   string
	client  client.Client
	manager *ssa.ResourceManager
	opts    ApplyOptions
}

// newClusterApplier connects to the cluster and checks that its API server answers, so an
// unreachable cluster is reported as such instead of as a failure of every App.
func newClusterApplier(ctx context.Context, fleet string, c *schema.Cluster, conn Connector, opts ApplyOptions) (*clusterApplier, error) {
	name := c.Metadata.Name
	cfg, err := conn.RESTConfig(c)
	if err != nil {
		return nil, err
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, &ConfigError{Cluster: name, Err: fmt.Errorf("building HTTP client: %w", err)}
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, &ConfigError{Cluster: name, Err: fmt.Errorf("building discovery client: %w", err)}
	}
	if _, err := disco.ServerVersion(); err != nil {
		return nil, &UnreachableError{Cluster: name, Err: err}
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, &UnreachableError{Cluster: name, Err: fmt.Errorf("reading the API list: %w", err)}
	}
	cl, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, &ConfigError{Cluster: name, Err: fmt.Errorf("building client: %w", err)}
	}
	poller := polling.NewStatusPoller(cl, mapper, polling.Options{})
	manager := ssa.NewResourceManager(cl, poller, ssa.Owner{Field: FieldManager, Group: "gitfleet.dev"})
	manager.SetConcurrency(opts.ObjectConcurrency)
	return &clusterApplier{
		cluster:    name,
		restConfig: cfg,
		httpClient: httpClient,
		fleet:      fleet,
		client:     cl,
		manager:    manager,
		opts:       opts,
	}, nil
}

// appPlan is one App's apply outcome that the prune and inventory steps continue from.
type appPlan struct {
	result AppResult
	// next is the inventory to record after this apply.
	next *inventory.Inventory
	// stale lists objects the App no longer renders, to prune.
	stale []*unstructured.Unstructured
}

// apply runs the cluster's pipeline: read inventories, apply Apps in dependency order,
// prune, record inventories.
func (a *clusterApplier) apply(ctx context.Context, desired render.ClusterResult, pruneOrphans bool) ClusterResult {
	res := ClusterResult{Cluster: a.cluster}
	a.opts.Progress.Stage(a.cluster, "reading inventories")
	old, err := a.readInventories(ctx)
	if err != nil {
		res.Err = err
		res.Apps = notApplied(desired)
		return res
	}

	plans := map[string]*appPlan{}
	for _, app := range dependencyOrder(desired.Apps) {
		name := app.App.Metadata.Name
		prev := old[name]
		if prev == nil {
			prev = inventory.New()
		}
		p := a.applyApp(ctx, app, prev, plans)
		plans[name] = p
		res.Apps = append(res.Apps, p.result)
	}

	orphans := map[string]*inventory.Inventory{}
	for name, inv := range old {
		if _, ok := plans[name]; !ok {
			orphans[name] = inv
		}
	}
	if err := a.checkPruneGuard(old, plans, orphans, pruneOrphans); err != nil {
		res.Err = err
		for _, p := range plans {
			inventory.AddObjects(p.next, p.stale) // keep tracking: nothing was pruned.
			p.stale = nil
		}
		orphans = nil
	}

	a.opts.Progress.Stage(a.cluster, "pruning")
	for i := range res.Apps {
		p := plans[res.Apps[i].App]
		a.prune(ctx, res.Apps[i].App, p)
		res.Apps[i] = p.result
	}
	keep := map[string]*inventory.Inventory{}
	for name, p := range plans {
		keep[name] = p.next
	}
	var drop []string
	if pruneOrphans {
		res.Pruned, keep, drop = a.pruneOrphans(ctx, orphans, keep)
	}

	// Inventories read at the start that did not change are not written again, not even
	// as a dry run.
	if len(drop) > 0 || !sameInventories(old, keep) {
		a.opts.Progress.Stage(a.cluster, "recording inventories")
		if err := a.writeInventories(ctx, old, keep, drop); err != nil {
			res.Err = errors.Join(res.Err, err)
		}
	}
	quotas, err := a.readQuotas(ctx)
	if err != nil {
		res.Err = errors.Join(res.Err, err)
	}
	res.Quotas = quotas
	return res
}

// applyApp applies one App and waits for it to become healthy.
func (a *clusterApplier) applyApp(ctx context.Context, app render.AppResult, prev *inventory.Inventory, done map[string]*appPlan) *appPlan {
	name := app.App.Metadata.Name
	p := &appPlan{result: AppResult{App: name, Health: Unknown}, next: prev}
	if app.Err != nil {
		// Neither applied nor pruned: the App's objects stay as the last good revision
		// left them.
		p.result.Err = app.Err
		return p
	}
	if app.Held != "" {
		p.result.Held = app.Held // as the cluster has it, inventory and all.
		return p
	}
	for _, dep := range app.App.Spec.DependsOn {
		if d, ok := done[dep]; !ok || d.result.Err != nil || d.result.Health != Healthy && d.result.Held == "" {
			p.result.Err = &DependencyError{App: name, Dependency: dep}
			return p
		}
	}

	a.opts.Progress.Stage(a.cluster, "applying "+name)
	// The renderer shares objects between clusters; namespace defaulting and the apply
	// engine change them, so this cluster works on its own copies.
	objs := make([]*unstructured.Unstructured, len(app.Objects))
	for i, o := range app.Objects {
		objs[i] = clusterCopy(o)
	}
	a.defaultNamespaces(objs, app.App.Spec.Namespace)
	stampHashes(objs)
	parts := a.splitUnchanged(ctx, name, objs)
	alertOnly := app.App.Spec.Drift == schema.DriftAlert
	if alertOnly {
		p.result.Drift = a.holdDrift(ctx, name, &parts, prev)
	}
	applyOpts := ssa.DefaultApplyOptions()
	applyOpts.WaitTimeout = a.opts.HealthTimeout
	// Absent namespaces (and cluster roles) first, one request each: what the engine
	// applies next may live in them, and they need no wait to be ready.
	definitions, others := splitDefinitions(parts.create)
	cs := ssa.NewChangeSet()
	created, createdLive, err := a.createAll(ctx, definitions)
	cs.Append(created)
	if err == nil {
		var engine *ssa.ChangeSet
		engine, err = a.manager.ApplyAllStaged(ctx, parts.apply, applyOpts)
		if engine != nil {
			cs.Append(engine.Entries)
		}
	}
	if err == nil {
		var more []*unstructured.Unstructured
		created, more, err = a.createAll(ctx, others)
		cs.Append(created)
		createdLive = append(createdLive, more...)
	}
	cs.Append(parts.unchanged)
	applyOrder(cs.Entries, objs)
	p.result.Changes = cs.Entries
	p.next = inventory.New()
	inventory.AddChangeSet(p.next, cs)
	inventory.AddObjects(p.next, parts.held) // still gitfleet's: never pruned for drifting.
	if alertOnly {
		// Only an alert-only App needs to tell a deleted object from one changed in git
		// (holdDrift); the others would pay an inventory write for every changed object.
		recordHashes(p.next, cs, objs, parts.held)
	}
	if err != nil {
		// Keep tracking what was there before as well as what this apply created, and
		// prune nothing: a half-applied App is not a statement of what to remove.
		inventory.AddObjects(p.next, mustObjects(prev))
		p.result.Err = &ApplyError{Cluster: a.cluster, App: name, Err: err}
		return p
	}
	p.result.Applied = objs
	if *app.App.Spec.Prune {
		stale, err := inventory.Diff(prev, p.next)
		if err != nil {
			p.result.Err = &ApplyError{Cluster: a.cluster, App: name, Err: err}
			return p
		}
		p.stale = stale
	}

	// Health from what is known without asking: the objects just listed or just created,
	// the definitions the engine waited for, and kinds without a status. Only objects not
	// known to be healthy, and the rest of what the engine applied, are polled.
	var known []metav1.Object
	var wait []*unstructured.Unstructured
	judge := func(m metav1.Object) {
		if u, whole := m.(*unstructured.Unstructured); whole && liveHealth([]metav1.Object{u}) != Healthy {
			wait = append(wait, u) // still rolling out, or failed for now
			return
		}
		known = append(known, m)
	}
	for _, m := range parts.unchangedLive {
		judge(m)
	}
	for _, u := range createdLive {
		judge(u)
	}
	for _, o := range parts.apply {
		switch {
		case utils.IsClusterDefinition(o) || utils.IsClassDefinition(o):
			// The staged apply waited for them to be ready.
		case statusless[o.GroupVersionKind().GroupKind()]:
			if l := parts.live[object.UnstructuredToObjMetadata(o).String()]; l != nil {
				known = append(known, l) // its deletion, if it is being deleted.
			}
		default:
			wait = append(wait, o)
		}
	}
	p.result.Health = liveHealth(known)
	if len(wait) > 0 {
		a.opts.Progress.Stage(a.cluster, "waiting for "+name+" to become healthy")
		p.result.Health = worse(p.result.Health, a.waitHealthy(ctx, wait))
	}
	return p
}

// splitDefinitions takes from absent objects the namespaces and cluster roles, which the
// rest may need and which are ready once created.
func splitDefinitions(objs []*unstructured.Unstructured) (definitions, others []*unstructured.Unstructured) {
	for _, o := range objs {
		if utils.IsNamespace(o) || utils.IsClusterRole(o) {
			definitions = append(definitions, o)
		} else {
			others = append(others, o)
		}
	}
	return definitions, others
}

// clusterCopy is a rendered object for one cluster to change: a top level and metadata of
// its own (namespace defaulting and the applied-hash annotation change only those), the
// rest shared with the renderer's object, which nothing in this package changes below the
// metadata. A whole copy per cluster would double a fleet's memory. A CRD is copied whole:
// the apply engine clears its conversion webhook's caBundle.
func clusterCopy(o *unstructured.Unstructured) *unstructured.Unstructured {
	if o.GetKind() == "CustomResourceDefinition" {
		return o.DeepCopy()
	}
	top := maps.Clone(o.Object)
	if meta, ok := top["metadata"].(map[string]any); ok {
		top["metadata"] = maps.Clone(meta)
	}
	return &unstructured.Unstructured{Object: top}
}

// defaultNamespaces puts namespaced objects that name no namespace into the App's
// namespace, or "default", as helm install and kubectl do; the apply would otherwise
// address them as cluster-scoped.
func (a *clusterApplier) defaultNamespaces(objs []*unstructured.Unstructured, namespace string) {
	if namespace == "" {
		namespace = "default"
	}
	// Asked once per kind: the REST mapper's answer costs more than the object's copy.
	namespacedKind := map[k8sschema.GroupVersionKind]bool{}
	for _, o := range objs {
		if o.GetNamespace() != "" {
			continue
		}
		gvk := o.GroupVersionKind()
		namespaced, asked := namespacedKind[gvk]
		if !asked {
			// A kind the cluster does not know yet (a custom resource whose CRD is applied
			// in the same App) is left alone; the apply reports it if it is wrong.
			var err error
			namespaced, err = a.client.IsObjectNamespaced(o)
			namespaced = err == nil && namespaced
			namespacedKind[gvk] = namespaced
		}
		if namespaced {
			o.SetNamespace(namespace)
		}
	}
}

// mustObjects returns stubs of an inventory's objects; entries come from this package's
// own ConfigMaps, so a malformed one is skipped rather than failing the App.
func mustObjects(inv *inventory.Inventory) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, e := range inv.Entries {
		if u, err := e.Object(); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// dependencyOrder sorts Apps so that each comes after the Apps it depends on; ties keep
// the name order of the repository. The schema rejects cycles.
func dependencyOrder(apps []render.AppResult) []render.AppResult {
	byName := map[string]render.AppResult{}
	for _, a := range apps {
		byName[a.App.Metadata.Name] = a
	}
	var out []render.AppResult
	placed := map[string]bool{}
	var place func(a render.AppResult)
	place = func(a render.AppResult) {
		name := a.App.Metadata.Name
		if placed[name] {
			return
		}
		placed[name] = true
		for _, dep := range a.App.Spec.DependsOn {
			if d, ok := byName[dep]; ok {
				place(d)
			}
		}
		out = append(out, a)
	}
	for _, a := range apps {
		place(a)
	}
	return out
}
