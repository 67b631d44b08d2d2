// Package inventory records which objects gitfleet applied for an App in a cluster, so that
// objects removed from the repository can be found and pruned later. An inventory lives in
// the member cluster itself (a ConfigMap per App in the gitfleet-system namespace): it
// survives reconciler restarts and can be read with kubectl.
package inventory

import (
	"fmt"
	"sort"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Inventory is the set of objects applied for one App, sorted by ID.
type Inventory struct {
	Entries []Entry
}

// Entry is one applied object.
type Entry struct {
	// ID is namespace_name_group_kind, the cli-utils object id Flux uses too.
	ID string
	// Version is the API version the object was applied with, needed to address it again.
	Version string
	// Hash is the object's applied hash as gitfleet last wrote it (empty when not known,
	// in inventories recorded before hashes were): with it, an object that is missing
	// from the cluster can be told apart as deleted by someone (the desired object still
	// has this hash) or as changed in git since (it has another).
	Hash string
}

// New returns an empty inventory.
func New() *Inventory { return &Inventory{} }

// AddChangeSet records every object of an apply's change set, except objects the apply
// skipped or deleted.
func AddChangeSet(inv *Inventory, cs *ssa.ChangeSet) {
	for _, e := range cs.Entries {
		if e.Action == ssa.SkippedAction || e.Action == ssa.DeletedAction {
			continue
		}
		gv, err := schema.ParseGroupVersion(e.GroupVersion)
		if err != nil {
			continue // ssa built the entry from a valid object; unreachable in practice.
		}
		add(inv, Entry{ID: e.ObjMetadata.String(), Version: gv.Version})
	}
	sortEntries(inv)
}

// AddObjects records objects directly; used to keep tracking objects whose prune failed,
// so that the next reconcile tries to delete them again instead of forgetting them.
func AddObjects(inv *Inventory, objs []*unstructured.Unstructured) {
	for _, o := range objs {
		add(inv, Entry{ID: object.UnstructuredToObjMetadata(o).String(), Version: o.GroupVersionKind().Version})
	}
	sortEntries(inv)
}

// AddEntries records entries as they are, hashes included, for objects the inventory
// does not hold yet: an object applied in this run keeps the entry the run gave it.
func AddEntries(inv *Inventory, entries ...Entry) {
	for _, e := range entries {
		if inv.Find(e.ID) == nil {
			inv.Entries = append(inv.Entries, e)
		}
	}
	sortEntries(inv)
}

// RecordHashes sets the hash of every entry named in hashes (object ID -> hash).
func RecordHashes(inv *Inventory, hashes map[string]string) {
	for i := range inv.Entries {
		if h, ok := hashes[inv.Entries[i].ID]; ok {
			inv.Entries[i].Hash = h
		}
	}
}

// Find returns the entry of an object ID, nil when the inventory does not hold it.
func (inv *Inventory) Find(id string) *Entry {
	i := sort.Search(len(inv.Entries), func(i int) bool { return inv.Entries[i].ID >= id })
	if i < len(inv.Entries) && inv.Entries[i].ID == id {
		return &inv.Entries[i]
	}
	return nil
}

// Diff returns the objects of old that are not in current: what is to be pruned.
func Diff(old, current *Inventory) ([]*unstructured.Unstructured, error) {
	keep := map[string]bool{}
	for _, e := range current.Entries {
		keep[e.ID] = true
	}
	var out []*unstructured.Unstructured
	for _, e := range old.Entries {
		if keep[e.ID] {
			continue
		}
		u, err := e.Object()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// Object returns a stub of the entry's object, enough to get or delete it.
func (e Entry) Object() (*unstructured.Unstructured, error) {
	m, err := object.ParseObjMetadata(e.ID)
	if err != nil {
		return nil, fmt.Errorf("inventory entry %q: %w", e.ID, err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(m.GroupKind.WithVersion(e.Version))
	u.SetNamespace(m.Namespace)
	u.SetName(m.Name)
	return u, nil
}

// Len is the number of objects recorded.
func (inv *Inventory) Len() int { return len(inv.Entries) }

func add(inv *Inventory, e Entry) {
	for i := range inv.Entries {
		if inv.Entries[i].ID == e.ID {
			if e.Hash == "" {
				e.Hash = inv.Entries[i].Hash // a stub of the same object keeps what is known.
			}
			inv.Entries[i] = e
			return
		}
	}
	inv.Entries = append(inv.Entries, e)
}

func sortEntries(inv *Inventory) {
	sort.Slice(inv.Entries, func(i, j int) bool { return inv.Entries[i].ID < inv.Entries[j].ID })
}
