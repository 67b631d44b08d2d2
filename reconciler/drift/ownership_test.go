package drift

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// entry is a managedFields entry; at is seconds after a fixed instant.
func entry(manager string, op metav1.ManagedFieldsOperationType, subresource string, at int, fields string) metav1.ManagedFieldsEntry {
	t := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, at, 0, time.UTC))
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: subresource, APIVersion: "v1",
		Time: &t, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

func object(entries ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	u.SetManagedFields(entries)
	return u
}

const (
	apply  = metav1.ManagedFieldsOperationApply
	update = metav1.ManagedFieldsOperationUpdate
	both   = `{"f:data":{".":{},"f:color":{},"f:size":{}}}`
	size   = `{"f:data":{".":{},"f:size":{}}}`
	color  = `{"f:data":{"f:color":{}}}`
)

func TestTakenFrom(t *testing.T) {
	gitfleet := entry("gitfleet", apply, "", 0, both)
	cases := []struct {
		name     string
		old, new *unstructured.Unstructured
		want     []string // lost paths; nil: nothing taken
		wantBy   []string
	}{{
		name: "another manager changed a field gitfleet applied",
		old:  object(gitfleet),
		new:  object(entry("gitfleet", apply, "", 0, size), entry("kubectl-edit", update, "", 5, color)),
		want: []string{".data.color"}, wantBy: []string{"kubectl-edit"},
	}, {
		name: "a field was only removed: nobody is recorded",
		old:  object(gitfleet),
		new:  object(entry("gitfleet", apply, "", 0, size)),
		want: []string{".data.color"},
	}, {
		name: "gitfleet's own apply dropped a field",
		old:  object(gitfleet),
		new:  object(entry("gitfleet", apply, "", 7, size)),
	}, {
		name: "a controller wrote status",
		old:  object(gitfleet, entry("kcm", update, "status", 1, `{"f:status":{}}`)),
		new:  object(gitfleet, entry("kcm", update, "status", 9, `{"f:status":{"f:x":{}}}`)),
	}, {
		name: "someone added an annotation",
		old:  object(gitfleet),
		new:  object(gitfleet, entry("kubectl-annotate", update, "", 3, `{"f:metadata":{"f:annotations":{"f:a":{}}}}`)),
	}, {
		name: "gitfleet never applied the object",
		old:  object(entry("kubectl-create", update, "", 0, both)),
		new:  object(entry("kubectl-edit", update, "", 1, both)),
	}, {
		name: "someone re-created the object",
		old:  object(gitfleet),
		new:  object(entry("kubectl-create", update, "", 9, both)),
		want: []string{".data.color", ".data.size"}, wantBy: []string{"kubectl-create"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := takenFrom(tc.old, tc.new, "gitfleet")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if got != nil {
					t.Fatalf("taken %v by %v, want nothing", paths(got.fields), got.by)
				}
				return
			}
			if got == nil {
				t.Fatalf("nothing taken, want %v", tc.want)
			}
			if diff := cmp.Diff(tc.want, paths(got.fields)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantBy, got.by); diff != "" {
				t.Errorf("by (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInObject(t *testing.T) {
	desired := map[string]any{
		"metadata": map[string]any{"finalizers": []any{"example.com/keep"}},
		"spec": map[string]any{"containers": []any{map[string]any{
			"name":  "web",
			"ports": []any{map[string]any{"containerPort": int64(8080)}},
		}}},
	}
	container := fieldpath.KeyByFields("name", "web")
	cases := []struct {
		name string
		path fieldpath.Path
		want bool
	}{
		{"a field", fieldpath.MakePathOrDie("spec", "containers", container, "name"), true},
		{"a missing field", fieldpath.MakePathOrDie("spec", "containers", container, "image"), false},
		{"a key the server defaulted", fieldpath.MakePathOrDie("spec", "containers", container, "ports",
			fieldpath.KeyByFields("containerPort", 8080, "protocol", "TCP"), "containerPort"), true},
		{"another item", fieldpath.MakePathOrDie("spec", "containers", container, "ports",
			fieldpath.KeyByFields("containerPort", 9090, "protocol", "TCP")), false},
		{"a set member", fieldpath.MakePathOrDie("metadata", "finalizers", value.NewValueInterface("example.com/keep")), true},
	}
	for _, tc := range cases {
		if got := inObject(desired, tc.path); got != tc.want {
			t.Errorf("%s: inObject(%s) = %v, want %v", tc.name, tc.path, got, tc.want)
		}
	}
}
