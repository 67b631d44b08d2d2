package drift

import (
	"bytes"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// taken is what one write took from gitfleet's field manager: the fields it owned before
// and no longer owns, and the managers the write is recorded under.
type taken struct {
	fields *fieldpath.Set
	// by are the managers whose managedFields entries the write added or changed. It is
	// empty when the write only removed fields: the API server records no owner for a
	// field that is gone.
	by []string
}

// takenFrom compares two states of one object, old before new, and returns what an
// out-of-band write took from manager, or nil when the write left everything manager
// applied in place.
//
// The API server itself decides here what "changed a field gitfleet manages" means: an
// update by another manager that changes or removes a field manager applied moves the
// field out of manager's entry, and a forced apply by another manager does the same. A
// write that leaves manager's entry alone (status from a controller, an annotation added
// by someone else, a value written again unchanged) did not touch what gitfleet manages.
// No request and no schema are needed to tell, which is why this runs on every watch event.
func takenFrom(old, new *unstructured.Unstructured, manager string) (*taken, error) {
	before := appliedEntry(old, manager)
	if before == nil {
		return nil, nil // manager applied nothing here yet: nothing to take.
	}
	after := appliedEntry(new, manager)
	if after != nil {
		if bytes.Equal(fieldsRaw(before), fieldsRaw(after)) {
			return nil, nil // the common case: status, other managers' fields, resync.
		}
		if !sameTime(before.Time, after.Time) {
			// The server stamps an entry only when its own manager writes: this is
			// gitfleet's apply, which may own fewer fields than before because the
			// desired state dropped some.
			return nil, nil
		}
	}
	owned, err := fieldSet(before)
	if err != nil {
		return nil, err
	}
	still := &fieldpath.Set{}
	if after != nil {
		if still, err = fieldSet(after); err != nil {
			return nil, err
		}
	}
	lost := owned.Difference(still)
	if lost.Empty() {
		return nil, nil
	}
	return &taken{fields: lost, by: writers(old, new, manager)}, nil
}

// ownedBy is the set of fields manager's apply owns in obj; empty when it owns none.
func ownedBy(obj *unstructured.Unstructured, manager string) (*fieldpath.Set, error) {
	e := appliedEntry(obj, manager)
	if e == nil {
		return &fieldpath.Set{}, nil
	}
	return fieldSet(e)
}

// appliedEntry is manager's server-side apply entry on the object itself (not on a
// subresource), or nil.
func appliedEntry(obj *unstructured.Unstructured, manager string) *metav1.ManagedFieldsEntry {
	for _, e := range obj.GetManagedFields() {
		if e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			return &e
		}
	}
	return nil
}

// writers lists, sorted, the managers other than self whose entries differ between old
// and new: those the write between them is recorded under.
func writers(old, new *unstructured.Unstructured, self string) []string {
	type entryKey struct{ manager, operation, subresource string }
	before := map[entryKey]metav1.ManagedFieldsEntry{}
	for _, e := range old.GetManagedFields() {
		before[entryKey{e.Manager, string(e.Operation), e.Subresource}] = e
	}
	var out []string
	for _, e := range new.GetManagedFields() {
		if e.Manager == self || slices.Contains(out, e.Manager) {
			continue
		}
		b, ok := before[entryKey{e.Manager, string(e.Operation), e.Subresource}]
		if !ok || !sameTime(b.Time, e.Time) || !bytes.Equal(fieldsRaw(&b), fieldsRaw(&e)) {
			out = append(out, e.Manager)
		}
	}
	slices.Sort(out)
	return out
}

func fieldSet(e *metav1.ManagedFieldsEntry) (*fieldpath.Set, error) {
	s := &fieldpath.Set{}
	raw := fieldsRaw(e)
	if len(raw) == 0 {
		return s, nil
	}
	if err := s.FromJSON(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("reading the managed fields of %s: %w", e.Manager, err)
	}
	return s, nil
}

func fieldsRaw(e *metav1.ManagedFieldsEntry) []byte {
	if e.FieldsV1 == nil {
		return nil
	}
	return e.FieldsV1.Raw
}

func sameTime(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

// inObject tells whether the path exists in the object. It is asked of the desired
// object: a field gitfleet lost that the desired state no longer holds is not drift (the
// next apply drops it anyway).
//
// A list item is matched by the key fields it has: the API server records keys after
// defaulting (a container port's protocol "TCP"), which the desired object may leave out.
func inObject(obj map[string]any, p fieldpath.Path) bool {
	var cur any = obj
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if cur, ok = m[*pe.FieldName]; !ok {
				return false
			}
		case pe.Key != nil:
			item, ok := findItem(cur, func(item any) bool { return matchesKey(item, *pe.Key) })
			if !ok {
				return false
			}
			cur = item
		case pe.Value != nil:
			item, ok := findItem(cur, func(item any) bool { return value.Equals(value.NewValueInterface(item), *pe.Value) })
			if !ok {
				return false
			}
			cur = item
		case pe.Index != nil:
			l, ok := cur.([]any)
			if !ok || *pe.Index < 0 || *pe.Index >= len(l) {
				return false
			}
			cur = l[*pe.Index]
		default:
			return false
		}
	}
	return true
}

func findItem(list any, match func(any) bool) (any, bool) {
	l, ok := list.([]any)
	if !ok {
		return nil, false
	}
	for _, item := range l {
		if match(item) {
			return item, true
		}
	}
	return nil, false
}

func matchesKey(item any, key value.FieldList) bool {
	m, ok := item.(map[string]any)
	if !ok {
		return false
	}
	for _, f := range key {
		v, ok := m[f.Name]
		if !ok {
			continue // defaulted by the server; see inObject.
		}
		if !value.Equals(value.NewValueInterface(v), f.Value) {
			return false
		}
	}
	return true
}

// paths lists the leaf paths of a set as the API server writes them (".data.key",
// `.spec.template.spec.containers[name="web"].image`), sorted.
func paths(s *fieldpath.Set) []string {
	var out []string
	s.Leaves().Iterate(func(p fieldpath.Path) { out = append(out, p.String()) })
	slices.Sort(out)
	return out
}
