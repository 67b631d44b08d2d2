package inventory

import (
	"testing"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func entry(group, kind, ns, name, gv string, action ssa.Action) ssa.ChangeSetEntry {
	return ssa.ChangeSetEntry{
		ObjMetadata:  object.ObjMetadata{Namespace: ns, Name: name, GroupKind: schema.GroupKind{Group: group, Kind: kind}},
		GroupVersion: gv,
		Action:       action,
	}
}

func TestAddChangeSetAndDiff(t *testing.T) {
	old := New()
	AddChangeSet(old, &ssa.ChangeSet{Entries: []ssa.ChangeSetEntry{
		entry("apps", "Deployment", "web", "web", "apps/v1", ssa.CreatedAction),
		entry("", "ConfigMap", "web", "old", "v1", ssa.CreatedAction),
		entry("", "Namespace", "", "web", "v1", ssa.CreatedAction),
	}})
	current := New()
	AddChangeSet(current, &ssa.ChangeSet{Entries: []ssa.ChangeSetEntry{
		entry("apps", "Deployment", "web", "web", "apps/v1", ssa.UnchangedAction),
		entry("", "Namespace", "", "web", "v1", ssa.UnchangedAction),
		entry("", "Secret", "web", "skipped", "v1", ssa.SkippedAction),
	}})
	want := []Entry{{ID: "_web__Namespace", Version: "v1"}, {ID: "web_web_apps_Deployment", Version: "v1"}}
	if diff := cmp.Diff(want, current.Entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	stale, err := Diff(old, current)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0].GetKind() != "ConfigMap" || stale[0].GetName() != "old" || stale[0].GetNamespace() != "web" || stale[0].GetAPIVersion() != "v1" {
		t.Errorf("stale = %v, want ConfigMap web/old v1", stale)
	}
}

func TestConfigMapRoundTrip(t *testing.T) {
	inv := New()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("rbac.authorization.k8s.io/v1")
	u.SetKind("Role")
	u.SetNamespace("web")
	u.SetName("reader")
	AddObjects(inv, []*unstructured.Unstructured{u})
	AddChangeSet(inv, &ssa.ChangeSet{Entries: []ssa.ChangeSetEntry{entry("", "Namespace", "", "web", "v1", ssa.CreatedAction)}})

	obj, err := ToConfigMap("example", "web", inv)
	if err != nil {
		t.Fatal(err)
	}
	if obj.GetName() != "gitfleet-inventory-example.web" || obj.GetNamespace() != Namespace {
		t.Errorf("ConfigMap %s/%s", obj.GetNamespace(), obj.GetName())
	}
	var cm corev1.ConfigMap
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cm); err != nil {
		t.Fatal(err)
	}
	if want := "_web__Namespace v1\nweb_reader_rbac.authorization.k8s.io_Role v1\n"; cm.Data["entries"] != want {
		t.Errorf("entries = %q, want %q", cm.Data["entries"], want)
	}
	back, err := FromConfigMap(&cm)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inv, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	cm.Data["entries"] = "no-version-here\n"
	if _, err := FromConfigMap(&cm); err == nil {
		t.Error("a malformed inventory line was accepted")
	}
}
