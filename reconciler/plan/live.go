package plan

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/inventory"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// LiveError is a member cluster that could not be compared with the head revision.
type LiveError struct {
	Cluster string
	Err     error
}

func (e *LiveError) Error() string {
	return fmt.Sprintf("cluster %s: comparing with the live cluster: %v", e.Cluster, e.Err)
}
func (e *LiveError) Unwrap() error { return e.Err }

// liveConcurrency bounds the dry-run requests in flight per cluster.
const liveConcurrency = 10

// liveCluster replaces a cluster's render-to-render plan with what the cluster itself
// says: every head object is dry-run applied with gitfleet's field manager (ssa Diff),
// so a change shows what the API server would store (its defaults, fields of other
// managers, drift already there), and prunes come from the inventories recorded in the
// cluster, not from the base render. It returns the plan and how many objects the
// inventories hold (what the prune guard weighs prunes against).
func liveCluster(ctx context.Context, c *schema.Cluster, fleet string, s sides, fromRenders ClusterPlan, conn reconciler.Connector) (ClusterPlan, int, error) {
	name := c.Metadata.Name
	cp := ClusterPlan{Name: name, State: fromRenders.State, Notes: fromRenders.Notes}
	lc, err := connect(c, conn)
	if err != nil {
		return fromRenders, 0, &LiveError{Cluster: name, Err: err}
	}
	inventories, managed, err := lc.inventories(ctx, fleet)
	if err != nil {
		return fromRenders, 0, &LiveError{Cluster: name, Err: err}
	}
	head := indexCluster(s.head)
	// The render-to-render changes, by object, tell the change under review from drift.
	changed := map[objectKey]ObjectChange{}
	for _, ch := range fromRenders.Change {
		changed[objectKey{Group: groupOf(ch.APIVersion), Kind: ch.Kind, Namespace: ch.Namespace, Name: ch.Name}] = ch
	}

	entries, err := lc.diffAll(ctx, s.head, head)
	if err != nil {
		return fromRenders, 0, &LiveError{Cluster: name, Err: err}
	}
	var failed []string
	for _, e := range entries {
		switch {
		case e.err != nil:
			failed = append(failed, fmt.Sprintf("%s: %v", e.change.ID(), e.err))
		case e.action == ssa.CreatedAction:
			cp.Create = append(cp.Create, e.change)
		case len(e.change.Fields) > 0:
			e.change.Fields = markDrift(e.change.Fields, changed[e.key])
			cp.Change = append(cp.Change, e.change)
		default:
			cp.Unchanged++
		}
	}

	// What head renders, addressed as the cluster scopes it: an inventory entry of any of
	// these is not pruned.
	rendered := map[objectKey]bool{}
	for key := range head.byKey {
		rendered[key] = true
	}
	for _, e := range entries {
		rendered[e.key] = true
	}
	if err := lc.prunes(ctx, &cp, inventories, rendered, head, s); err != nil {
		return fromRenders, 0, &LiveError{Cluster: name, Err: err}
	}
	sortChanges(cp.Create, cp.Change, cp.Prune, cp.Kept)
	if cp.State == ClusterChanged || cp.State == ClusterUnchanged {
		cp.State = ClusterChanged
		if len(cp.Create)+len(cp.Change)+len(cp.Prune)+len(cp.Kept) == 0 {
			cp.State = ClusterUnchanged
		}
	}
	if len(failed) > 0 {
		return cp, managed, &LiveError{Cluster: name, Err: fmt.Errorf("the API server refused the dry run of %d object(s): %s", len(failed), strings.Join(failed, "; "))}
	}
	return cp, managed, nil
}

// liveClient is a connection to one member cluster.
type liveClient struct {
	cluster string
	client  client.Client
	manager *ssa.ResourceManager
}

func connect(c *schema.Cluster, conn reconciler.Connector) (*liveClient, error) {
	cfg, err := conn.RESTConfig(c)
	if err != nil {
		return nil, err
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building HTTP client: %w", err)
	}
	return connectWith(c.Metadata.Name, cfg, httpClient)
}

func connectWith(name string, cfg *rest.Config, httpClient *http.Client) (*liveClient, error) {
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("reading the API list: %w", err)
	}
	cl, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("building client: %w", err)
	}
	// No status poller: a plan never waits for health.
	m := ssa.NewResourceManager(cl, nil, ssa.Owner{Field: reconciler.FieldManager, Group: "gitfleet.dev"})
	return &liveClient{cluster: name, client: cl, manager: m}, nil
}

// inventories reads the fleet's App inventories recorded in the cluster.
func (lc *liveClient) inventories(ctx context.Context, fleet string) (map[string]*inventory.Inventory, int, error) {
	var list corev1.ConfigMapList
	err := lc.client.List(ctx, &list, client.InNamespace(inventory.Namespace),
		client.MatchingLabels{inventory.LabelInventory: "true", inventory.LabelFleet: fleet})
	if err != nil {
		return nil, 0, fmt.Errorf("listing the inventories in namespace %s: %w", inventory.Namespace, err)
	}
	out := map[string]*inventory.Inventory{}
	managed := 0
	for i := range list.Items {
		cm := &list.Items[i]
		inv, err := inventory.FromConfigMap(cm)
		if err != nil {
			return nil, 0, err
		}
		out[cm.Labels[inventory.LabelApp]] = inv
		managed += inv.Len()
	}
	return out, managed, nil
}

// liveEntry is the dry-run outcome of one head object.
type liveEntry struct {
	key    objectKey
	action ssa.Action
	change ObjectChange
	err    error
}

// diffAll dry-runs every head object. Namespaces and CRDs go first: an object in a
// namespace that does not exist yet, or of a kind whose CRD is not installed yet, cannot
// be dry-run; apply creates them in stages, so the plan lists such objects as created.
func (lc *liveClient) diffAll(ctx context.Context, res *render.ClusterResult, head *clusterObjects) ([]liveEntry, error) {
	if res == nil {
		return nil, nil
	}
	var first, rest []placed
	for _, p := range head.byKey {
		switch p.obj.GetKind() {
		case "Namespace", "CustomResourceDefinition":
			first = append(first, p)
		default:
			rest = append(rest, p)
		}
	}
	out := make([]liveEntry, len(first)+len(rest))
	for i, p := range first {
		out[i] = lc.diffOne(ctx, p, nil, nil)
	}
	newNamespaces, newKinds := map[string]bool{}, map[string]bool{}
	for _, e := range out[:len(first)] {
		if e.action != ssa.CreatedAction {
			continue
		}
		if e.change.Kind == "Namespace" {
			newNamespaces[e.change.Name] = true
		} else if p, ok := head.byKey[e.key]; ok {
			group, _, _ := unstructured.NestedString(p.obj.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(p.obj.Object, "spec", "names", "kind")
			newKinds[kind+"."+group] = true
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(liveConcurrency)
	for i, p := range rest {
		g.Go(func() error {
			out[len(first)+i] = lc.diffOne(gctx, p, newNamespaces, newKinds)
			return gctx.Err()
		})
	}
	return out, g.Wait()
}

// diffOne dry-runs one object and compares the result with the live object.
func (lc *liveClient) diffOne(ctx context.Context, p placed, newNamespaces, newKinds map[string]bool) liveEntry {
	obj := p.obj.DeepCopy() // render results are shared between clusters.
	gk := obj.GroupVersionKind().GroupKind()
	namespaced, err := lc.client.IsObjectNamespaced(obj)
	switch {
	case err != nil && newKinds[gk.String()]:
		namespaced = p.namespace != ""
	case err != nil:
		return liveEntry{key: keyOf(obj, p.namespace), change: change(p.app, p), err: err}
	}
	ns := ""
	if namespaced {
		ns = p.namespace
	}
	obj.SetNamespace(ns)
	key := keyOf(obj, ns)
	p.namespace = ns
	e := liveEntry{key: key, change: change(p.app, p)}
	if newNamespaces[ns] || newKinds[gk.String()] {
		e.action = ssa.CreatedAction
		return e
	}
	entry, live, merged, err := lc.manager.Diff(ctx, obj, ssa.DefaultDiffOptions())
	if err != nil {
		e.err = err
		return e
	}
	e.action = entry.Action
	if entry.Action == ssa.ConfiguredAction && live != nil && merged != nil {
		e.change.Fields = diffFields(obj.GetKind(), comparable(live), comparable(merged))
	}
	return e
}

// comparable strips what the API server keeps for itself (resource version, managed
// fields, timestamps, status) and gitfleet's applied-hash annotation, which a plan does
// not compute: what is left is what a person set.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	if ann := c.GetAnnotations(); ann != nil {
		delete(ann, reconciler.AnnotationAppliedHash)
		if len(ann) == 0 {
			ann = nil
		}
		c.SetAnnotations(ann)
	}
	return c.Object
}

// markDrift flags the live differences the change under review does not make: fields the
// render-to-render comparison did not touch.
func markDrift(fields []FieldChange, rendered ObjectChange) []FieldChange {
	for i := range fields {
		fields[i].Drift = true
		for _, r := range rendered.Fields {
			if samePath(fields[i].Path, r.Path) {
				fields[i].Drift = false
				break
			}
		}
	}
	return fields
}

// samePath is true when one path is the other or lies under it.
func samePath(a, b string) bool {
	under := func(x, y string) bool {
		return strings.HasPrefix(x, y) && (len(x) == len(y) || x[len(y)] == '.' || x[len(y)] == '[')
	}
	return under(a, b) || under(b, a)
}

// prunes lists the objects apply would delete: those recorded in an App's inventory
// that head no longer renders (for that App or any other), that still exist, still
// belong to the App, and are not protected by a prune setting or annotation.
func (lc *liveClient) prunes(ctx context.Context, cp *ClusterPlan, inventories map[string]*inventory.Inventory, rendered map[objectKey]bool, head *clusterObjects, s sides) error {
	for app, inv := range inventories {
		if head.failed[app] {
			continue // neither applied nor pruned.
		}
		for _, e := range inv.Entries {
			m, err := object.ParseObjMetadata(e.ID)
			if err != nil {
				return fmt.Errorf("inventory of app %s: %w", app, err)
			}
			key := objectKey{Group: m.GroupKind.Group, Kind: m.GroupKind.Kind, Namespace: m.Namespace, Name: m.Name}
			if rendered[key] {
				continue
			}
			stub, err := e.Object()
			if err != nil {
				return err
			}
			live := stub.DeepCopy()
			err = lc.client.Get(ctx, client.ObjectKeyFromObject(stub), live)
			switch {
			case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
				continue // already gone: nothing to delete.
			case err != nil:
				return fmt.Errorf("reading %s: %w", e.ID, err)
			}
			if live.GetLabels()[render.LabelApp] != app {
				continue // taken over by another App or someone else: apply leaves it.
			}
			c := change(app, placed{app: app, obj: live, namespace: m.Namespace})
			if reason := keepReason(placed{app: app, obj: live}, head, s); reason != "" {
				c.Reason = reason
				cp.Kept = append(cp.Kept, c)
				continue
			}
			cp.Prune = append(cp.Prune, c)
		}
	}
	return nil
}

// groupOf is the group of an apiVersion ("apps/v1" -> "apps", "v1" -> "").
func groupOf(apiVersion string) string {
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return group
}
