package reconciler

import (
	"context"
	"fmt"
	"maps"
	"slices"

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

// writeInventories records the inventories that differ from those read at the start
// (old), one server-side apply each, and deletes the inventories of Apps that are gone.
// The namespace that holds them is applied only when none was found: then it may not exist
// yet. An unchanged inventory is not sent at all, and a changed one needs no dry run to
// know that it changed.
func (a *clusterApplier) writeInventories(ctx context.Context, old, keep map[string]*inventory.Inventory, drop []string) error {
	if len(old) == 0 && len(keep) > 0 {
		ns := &unstructured.Unstructured{}
		ns.SetAPIVersion("v1")
		ns.SetKind("Namespace")
		ns.SetName(inventory.Namespace)
		ns.SetLabels(map[string]string{"app.kubernetes.io/managed-by": "gitfleet"})
		if err := a.client.Patch(ctx, ns, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("cluster %q: creating namespace %s for the inventories: %w", a.cluster, inventory.Namespace, err)
		}
	}
	for _, app := range slices.Sorted(maps.Keys(keep)) {
		if prev, ok := old[app]; ok && slices.Equal(prev.Entries, keep[app].Entries) {
			continue
		}
		cm, err := inventory.ToConfigMap(a.fleet, app, keep[app])
		if err != nil {
			return err
		}
		if err := a.client.Patch(ctx, cm, client.Apply, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("cluster %q: recording the inventory of app %q: %w", a.cluster, app, err)
		}
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
