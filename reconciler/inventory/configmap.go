package inventory

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Where inventories are kept in each member cluster.
const (
	Namespace = "gitfleet-system"
	// LabelInventory marks inventory ConfigMaps, so all of a cluster's can be listed.
	LabelInventory = "gitfleet.dev/inventory"
	// LabelApp names the App an inventory belongs to.
	LabelApp = "gitfleet.dev/app"
	// LabelFleet names the fleet (the Fleet object's name) an inventory belongs to. Two
	// fleet repositories may share a cluster; each prunes only its own Apps.
	LabelFleet = "gitfleet.dev/fleet"
	dataKey    = "entries"
	// hashKey holds "ID HASH" lines apart from the entries, so that a gitfleet that
	// predates hashes still reads the entries it knows.
	hashKey = "hashes"
	namePfx = "gitfleet-inventory-"
)

// ConfigMapName is the name of an App's inventory ConfigMap.
func ConfigMapName(fleet, app string) string { return namePfx + fleet + "." + app }

// ToConfigMap encodes an inventory as a ConfigMap: one "ID VERSION" line per object, so
// that `kubectl get cm -n gitfleet-system -o yaml` is readable.
func ToConfigMap(fleet, app string, inv *Inventory) (*unstructured.Unstructured, error) {
	var b, hashes strings.Builder
	for _, e := range inv.Entries {
		fmt.Fprintf(&b, "%s %s\n", e.ID, e.Version)
		if e.Hash != "" {
			fmt.Fprintf(&hashes, "%s %s\n", e.ID, e.Hash)
		}
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ConfigMapName(fleet, app),
			Namespace: Namespace,
			Labels: map[string]string{
				LabelInventory:                 "true",
				LabelApp:                       app,
				LabelFleet:                     fleet,
				"app.kubernetes.io/managed-by": "gitfleet",
			},
		},
		Data: map[string]string{dataKey: b.String()},
	}
	if hashes.Len() > 0 {
		cm.Data[hashKey] = hashes.String()
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
	if err != nil {
		return nil, fmt.Errorf("encoding inventory of app %q: %w", app, err)
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// FromConfigMap decodes an inventory ConfigMap.
func FromConfigMap(cm *corev1.ConfigMap) (*Inventory, error) {
	inv := New()
	for i, line := range strings.Split(strings.TrimSpace(cm.Data[dataKey]), "\n") {
		if line == "" {
			continue
		}
		id, version, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("inventory %s/%s line %d: expected \"ID VERSION\", found %q", cm.Namespace, cm.Name, i+1, line)
		}
		inv.Entries = append(inv.Entries, Entry{ID: id, Version: version})
	}
	sortEntries(inv)
	hashes := map[string]string{}
	for _, line := range strings.Split(cm.Data[hashKey], "\n") {
		// A malformed hash line only loses that hash: the entries are what prune needs.
		if id, hash, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			hashes[id] = hash
		}
	}
	RecordHashes(inv, hashes)
	return inv, nil
}
