package install

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func validOptions() Options {
	o := DefaultOptions()
	o.Image = "registry.example.com:5000/platform/gitfleet@" + digest
	o.RepoURL = "ssh://git@git.example.com/platform/fleet.git"
	o.NodePluginImages = map[string]string{"gitfleet-gpu": "registry.example.com:5000/platform/gitfleet-gpu@" + digest}
	return o
}

// TestObjects checks what the install is made of, in apply order, and the parts that
// decide whether gitfleet runs: the pinned image, serve's flags, two replicas.
func TestObjects(t *testing.T) {
	objs, err := Objects(validOptions())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	want := []string{"Namespace /gitfleet-system", "ServiceAccount gitfleet-system/gitfleet", "Role gitfleet-system/gitfleet",
		"RoleBinding gitfleet-system/gitfleet", "Service gitfleet-system/gitfleet", "Deployment gitfleet-system/gitfleet"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	dep := objs[5]
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	if got := c["image"]; got != validOptions().Image {
		t.Errorf("image %v, want the pinned %s", got, validOptions().Image)
	}
	args := strings.Join(toStrings(c["args"].([]any)), " ")
	for _, want := range []string{"serve ", "--leader-election-namespace=gitfleet-system", "--git-ssh-key=", "--node-plugin-image=gitfleet-gpu=registry.example.com:5000/platform/gitfleet-gpu@" + digest} {
		if !strings.Contains(args, want) {
			t.Errorf("serve's args %q lack %q", args, want)
		}
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 2 {
		t.Errorf("replicas %d, want 2", r)
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if _, ok := c[probe]; !ok {
			t.Errorf("container has no %s", probe)
		}
	}
	if _, ok, _ := unstructured.NestedMap(c, "resources", "requests"); !ok {
		t.Error("container has no resource requests")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(dep.Object, "metadata", "creationTimestamp"); found {
		t.Error("Deployment has a creationTimestamp: an apply would claim it")
	}
	data, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n---\n"); n != 5 {
		t.Errorf("YAML has %d separators, want 5", n)
	}
}

// TestRoleIsNamespaced checks that the RBAC reaches no further than serve needs: one
// Role, Secrets by get only, the Lease updated by name only.
func TestRoleIsNamespaced(t *testing.T) {
	objs, err := Objects(validOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.HasPrefix(o.GetKind(), "Cluster") {
			t.Errorf("install has a %s: serve needs no cluster-wide rights in the management cluster", o.GetKind())
		}
	}
	rules, _, _ := unstructured.NestedSlice(objs[2].Object, "rules")
	got := map[string]string{}
	for _, r := range rules {
		m := r.(map[string]any)
		res := strings.Join(toStrings(m["resources"].([]any)), ",")
		if names, ok := m["resourceNames"]; ok {
			res += "/" + strings.Join(toStrings(names.([]any)), ",")
		}
		got[res] = strings.Join(toStrings(m["verbs"].([]any)), ",")
	}
	want := map[string]string{"leases": "create", "leases/gitfleet-leader": "get,update", "events": "create,patch", "secrets": "get"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Role rules (-want +got):\n%s", diff)
	}
}

// TestOptionErrors checks that bad options are refused naming the flag to change, and
// that a password in the repository URL is never repeated.
func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Options)
		field  string
	}{
		{"tag instead of digest", func(o *Options) { o.Image = "registry.example.com/gitfleet:v1" }, "--image"},
		{"unknown plugin", func(o *Options) { o.NodePluginImages = map[string]string{"gitfleet-dns": o.Image} }, "--node-plugin-image"},
		{"plugin by tag", func(o *Options) { o.NodePluginImages = map[string]string{"gitfleet-cni": "r/gitfleet-cni:v1"} }, "--node-plugin-image"},
		{"no repository", func(o *Options) { o.RepoURL = "" }, "--repo-url"},
		{"password in URL", func(o *Options) { o.RepoURL = "https://bot:hunter2@git.example.com/fleet.git" }, "--repo-url"},
		{"bad namespace", func(o *Options) { o.Namespace = "Gitfleet" }, "--namespace"},
		{"no replicas", func(o *Options) { o.Replicas = 0 }, "--replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.mutate(&o)
			_, err := Objects(o)
			var oe *OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v, want an *OptionError", err)
			}
			if oe.Field != tc.field {
				t.Errorf("error names %s, want %s: %v", oe.Field, tc.field, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats the password: %v", err)
			}
		})
	}
}

// TestObjectsAsApp: the install as an App of the fleet repository has no Namespace (the
// reconciler keeps gitfleet-system itself).
func TestObjectsAsApp(t *testing.T) {
	o := validOptions()
	o.AsApp = true
	objs, err := Objects(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 5 || objs[0].GetKind() != "ServiceAccount" {
		t.Errorf("install as an App: %d objects starting with %s, want the 5 without the Namespace", len(objs), objs[0].GetKind())
	}
}

func toStrings(in []any) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = v.(string)
	}
	return out
}
