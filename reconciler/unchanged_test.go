package reconciler

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestChangedByOthers(t *testing.T) {
	at := func(s int) *metav1.Time { tm := metav1.NewTime(time.Unix(1_700_000_000+int64(s), 0)); return &tm }
	entry := func(manager string, op metav1.ManagedFieldsOperationType, when *metav1.Time, sub string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: when, Subresource: sub}
	}
	cases := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    bool
	}{
		{"only gitfleet", []metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, at(10), "")}, false},
		{"an older edit by someone", []metav1.ManagedFieldsEntry{entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, at(5), ""), entry(FieldManager, metav1.ManagedFieldsOperationApply, at(10), "")}, false},
		{"an edit after gitfleet's apply", []metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, at(10), ""), entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, at(12), "")}, true},
		{"an edit in the same second", []metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, at(10), ""), entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, at(10), "")}, true},
		{"a controller writing status", []metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, at(10), ""), entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, at(20), "status")}, false},
		{"never applied by gitfleet", []metav1.ManagedFieldsEntry{entry("kubectl", metav1.ManagedFieldsOperationApply, at(10), "")}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			u.SetManagedFields(tc.entries)
			if got := changedByOthers(u); got != tc.want {
				t.Errorf("changedByOthers = %v, want %v", got, tc.want)
			}
			// The same from metadata alone, as statusless kinds are listed.
			m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: tc.entries}}
			if got := changedByOthers(m); got != tc.want {
				t.Errorf("changedByOthers(metadata) = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLiveHealthOfMetadata: a statusless object listed as metadata is healthy unless it is
// being deleted, as kstatus judges the whole object; whole objects keep kstatus's verdict.
func TestLiveHealthOfMetadata(t *testing.T) {
	now := metav1.Now()
	settled := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	deleting := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "b", DeletionTimestamp: &now, Finalizers: []string{"x"}}}
	rolling := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d", "generation": int64(2)},
		"status": map[string]any{"observedGeneration": int64(1)},
	}}
	for _, tc := range []struct {
		name string
		objs []metav1.Object
		want Health
	}{
		{"settled metadata", []metav1.Object{settled}, Healthy},
		{"metadata of an object being deleted", []metav1.Object{settled, deleting}, Progressing},
		{"a whole object still rolling out", []metav1.Object{settled, rolling}, Progressing},
	} {
		if got := liveHealth(tc.objs); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestStampHashes(t *testing.T) {
	a := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"}, "data": map[string]any{"k": "1"}}}
	b := a.DeepCopy()
	stampHashes([]*unstructured.Unstructured{a})
	first := a.GetAnnotations()[AnnotationAppliedHash]
	stampHashes([]*unstructured.Unstructured{a}) // stamping again ignores the old stamp
	if again := a.GetAnnotations()[AnnotationAppliedHash]; again != first || first == "" {
		t.Errorf("hash %q then %q, want the same non-empty hash", first, again)
	}
	b.Object["data"] = map[string]any{"k": "2"}
	stampHashes([]*unstructured.Unstructured{b})
	if b.GetAnnotations()[AnnotationAppliedHash] == first {
		t.Error("a changed object kept its hash")
	}
}
