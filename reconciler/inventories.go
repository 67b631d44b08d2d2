package reconciler

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/fluxcd/pkg/ssa"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/reconciler/inventory"
)

// readInventories lists every App inventory recorded in the cluster.
func (a *clusterApplier) readInventories(ctx context.Context) (map[string]*inventory.Inventory, error) {
	var list corev1.ConfigMapList
	err := a.client.List(ctx, &list, client.InNamespace(inventory.Namespace), client.MatchingLabels{inventory.LabelInventory: "true", inventory.LabelFleet: a.fleet})
	if err != nil {
		return nil, &UnreachableError{Cluster: a.cluster, Err: fmt.Errorf("listing inventories in %s: %w", inventory.Namespace, err)}
	}
	out := map[string]*inventory.Inventory{}
	for i := range list.Items {
		cm := &list.Items[i]
		inv, err := inventory.FromConfigMap(cm)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", a.cluster, err)
		}
		out[cm.Labels[inventory.LabelApp]] = inv
	}
	return out, nil
}

// writeInventories records the inventories with server-side apply, which compares first
// and so writes nothing when an App's set of objects did not change, and deletes the
// inventories of Apps that are gone.
func (a *clusterApplier) writeInventories(ctx context.Context, keep map[string]*inventory.Inventory, drop []string) error {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(inventory.Namespace)
	ns.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "gitfleet"})
	objs := []*unstructured.Unstructured{ns}
	names := make([]string, 0, len(keep))
	for app := range keep {
		names = append(names, app)
	}
	sort.Strings(names)
	for _, app := range names {
		cm, err := inventory.ToConfigMap(a.fleet, app, keep[app])
		if err != nil {
			return err
		}
		objs = append(objs, cm)
	}
	if _, err := a.manager.ApplyAllStaged(ctx, objs, ssa.DefaultApplyOptions()); err != nil {
		return fmt.Errorf("cluster %q: recording inventories: %w", a.cluster, err)
	}
	for _, app := range drop {
		cm := &corev1.ConfigMap{}
		cm.Namespace, cm.Name = inventory.Namespace, inventory.ConfigMapName(a.fleet, app)
		if err := a.client.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cluster %q: removing inventory of removed app %q: %w", a.cluster, app, err)
		}
	}
	return nil
}

// sameInventories reports whether two sets of inventories record the same objects for the
// same Apps.
func sameInventories(a, b map[string]*inventory.Inventory) bool {
	if len(a) != len(b) {
		return false
	}
	for app, inv := range a {
		other, ok := b[app]
		if !ok || !slices.Equal(inv.Entries, other.Entries) {
			return false
		}
	}
	return true
}
