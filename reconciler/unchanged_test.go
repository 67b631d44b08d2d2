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
		})
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
