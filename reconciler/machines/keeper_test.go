package machines

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/schema"
)

// TestKeeperDue: every cluster with machines is due at first, none right after a pass,
// a cluster whose machines changed at once, and all of them again after the interval.
func TestKeeperDue(t *testing.T) {
	machine := schema.Machine{IP: "127.0.0.1", Port: 1, Password: &schema.SecretRef{Env: "GITFLEET_SECRET_TEST_UNSET_VARIABLE"}}
	a := testCluster("a", func(c *schema.Cluster) { c.Spec.Machines = []schema.Machine{machine} })
	b := testCluster("b", func(c *schema.Cluster) { c.Spec.Machines = []schema.Machine{machine} })
	imported := testCluster("imported", func(c *schema.Cluster) { c.Spec.Type = schema.ClusterImported })
	repo := &schema.Repo{Clusters: []*schema.Cluster{a, b, imported}}

	opts := DefaultKeeperOptions()
	opts.Check = runOptions(t)
	opts.Interval = time.Hour
	k := NewKeeper(opts)
	now := time.Now()
	if diff := cmp.Diff([]string{"a", "b"}, k.Due(repo, now)); diff != "" {
		t.Fatalf("first due (-want +got):\n%s", diff)
	}
	if ran, err := k.Run(t.Context(), repo, []string{"a", "b"}, now); !ran || err != nil {
		t.Fatalf("run: %v %v", ran, err)
	}
	if got := k.Due(repo, now.Add(time.Minute)); len(got) != 0 {
		t.Errorf("due right after a pass: %v", got)
	}
	list, ok := k.Status("a")
	if !ok || len(list) != 1 || list[0].Error == "" || list[0].Checks[0].ID != "ssh" {
		t.Errorf("status of a: %+v %v, want its machine with the secret error", list, ok)
	}

	changed := testCluster("b", func(c *schema.Cluster) {
		m := machine
		m.Labels = map[string]string{"rack": "r2"}
		c.Spec.Machines = []schema.Machine{m}
	})
	repo2 := &schema.Repo{Clusters: []*schema.Cluster{a, changed, imported}}
	if diff := cmp.Diff([]string{"b"}, k.Due(repo2, now.Add(time.Minute))); diff != "" {
		t.Errorf("due after b's machine changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b"}, k.Due(repo, now.Add(time.Hour))); diff != "" {
		t.Errorf("due after the interval (-want +got):\n%s", diff)
	}
	// A pass over b alone after the interval does not count as the full pass: a is
	// still due.
	if _, err := k.Run(t.Context(), repo2, []string{"b"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, k.Due(repo2, now.Add(time.Hour+time.Minute))); diff != "" {
		t.Errorf("due after a partial pass past the interval (-want +got):\n%s", diff)
	}

	// A cluster whose machines were all removed is due once more (its Nodes are
	// released), then drops out of the status.
	empty := testCluster("a")
	repo3 := &schema.Repo{Clusters: []*schema.Cluster{empty, changed, imported}}
	if diff := cmp.Diff([]string{"a"}, k.Due(repo3, now.Add(time.Minute))); diff != "" {
		t.Errorf("due after a's machines were removed (-want +got):\n%s", diff)
	}
	if _, err := k.Run(t.Context(), repo3, []string{"a"}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Status("a"); ok {
		t.Error("a cluster without machines still has a machines status")
	}
}
