package e2e

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/yamlbound"
	"gitfleet.dev/gitfleet/test/hostile"
)

// TestApplyUpdatePrune walks one App through its life on two clusters: first apply, an
// unchanged re-apply that must write nothing, a one-object change that touches only that
// object, and a removal that prunes the object from both clusters.
func TestApplyUpdatePrune(t *testing.T) {
	f := newFleet(t, "lifecycle")
	f.commit(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "settings.yaml", "extra.yaml"),
		"apps/web/ns.yaml":            namespace("lifecycle"),
		"apps/web/settings.yaml":      configMap("lifecycle", "settings", "v1"),
		"apps/web/extra.yaml":         configMap("lifecycle", "extra", "x"),
	})

	f.conn.reset()
	results := f.apply()
	requireNoErrors(t, results)
	// Everything is new: one request creates each object, namespaces first, and one each
	// the inventories' namespace and the inventory; nothing is compared first.
	var want []string
	for _, cl := range []string{alpha, beta} {
		want = append(want, cl+" PATCH /api/v1/namespaces/lifecycle", cl+" PATCH /api/v1/namespaces/lifecycle/configmaps/extra", cl+" PATCH /api/v1/namespaces/lifecycle/configmaps/settings",
			cl+" PATCH /api/v1/namespaces/gitfleet-system", cl+" PATCH /api/v1/namespaces/gitfleet-system/configmaps/gitfleet-inventory-lifecycle.web")
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(f.conn.writeRequests()))); diff != "" {
		t.Errorf("first apply's write requests (-want +got):\n%s", diff)
	}
	if n := f.conn.dryRunRequests(); n != 0 {
		t.Errorf("first apply sent %d dry runs, want none", n)
	}
	for _, cl := range []string{alpha, beta} {
		requireActions(t, cl, results[cl], []string{
			"web: Namespace/lifecycle created",
			"web: ConfigMap/lifecycle/extra created",
			"web: ConfigMap/lifecycle/settings created",
		})
		if h := results[cl].Health(); h != reconciler.Healthy {
			t.Errorf("cluster %s: health %s, want Healthy", cl, h)
		}
		requireConfigMap(t, cl, "lifecycle", "settings", "v1")
		requireLabel(t, cl, "lifecycle", "settings", render.LabelApp, "web")
	}

	t.Run("same revision again writes nothing", func(t *testing.T) {
		f.conn.reset()
		results := f.apply()
		requireNoErrors(t, results)
		for _, cl := range []string{alpha, beta} {
			requireActions(t, cl, results[cl], []string{
				"web: Namespace/lifecycle unchanged",
				"web: ConfigMap/lifecycle/extra unchanged",
				"web: ConfigMap/lifecycle/settings unchanged",
			})
			if c := results[cl].Counts(); c != (reconciler.Counts{Unchanged: 3}) {
				t.Errorf("cluster %s: summary %+v, want 3 unchanged and nothing else", cl, c)
			}
		}
		if w := f.conn.writeRequests(); len(w) != 0 {
			t.Errorf("an apply of an unchanged revision sent %d write request(s):\n%s", len(w), strings.Join(w, "\n"))
		}
		// ConfigMaps have no status: their live state is read as metadata, not whole
		// objects (the inventories' own list, in gitfleet-system, reads them whole).
		var lists int
		for _, l := range f.conn.configMapLists() {
			if strings.Contains(l, " /api/v1/configmaps ") {
				lists++
				if !strings.Contains(l, "as=PartialObjectMetadataList") {
					t.Errorf("the App's ConfigMaps were listed as whole objects: %s", l)
				}
			}
		}
		if lists != 2 {
			t.Errorf("%d lists of the App's ConfigMaps, want one per cluster: %q", lists, f.conn.configMapLists())
		}
	})

	t.Run("a changed object is the only one configured", func(t *testing.T) {
		f.commit(map[string]string{"apps/web/settings.yaml": configMap("lifecycle", "settings", "v2")})
		f.conn.reset()
		results := f.apply()
		requireNoErrors(t, results)
		for _, cl := range []string{alpha, beta} {
			requireActions(t, cl, results[cl], []string{
				"web: Namespace/lifecycle unchanged",
				"web: ConfigMap/lifecycle/extra unchanged",
				"web: ConfigMap/lifecycle/settings configured",
			})
			requireConfigMap(t, cl, "lifecycle", "settings", "v2")
		}
		want := []string{
			"alpha PATCH /api/v1/namespaces/lifecycle/configmaps/settings",
			"beta PATCH /api/v1/namespaces/lifecycle/configmaps/settings",
		}
		got := f.conn.writeRequests()
		if diff := cmp.Diff(want, slices.Sorted(slices.Values(got))); diff != "" {
			t.Errorf("write requests (-want +got):\n%s", diff)
		}
	})

	t.Run("an object removed from the repo is pruned from both clusters", func(t *testing.T) {
		f.commit(map[string]string{
			"apps/web/kustomization.yaml": kustomization("ns.yaml", "settings.yaml"),
			"apps/web/extra.yaml":         "",
		})
		results := f.apply()
		requireNoErrors(t, results)
		for _, cl := range []string{alpha, beta} {
			requireActions(t, cl, results[cl], []string{
				"web: Namespace/lifecycle unchanged",
				"web: ConfigMap/lifecycle/settings unchanged",
				"web: ConfigMap/lifecycle/extra deleted",
			})
			requireGone(t, cl, "lifecycle", "extra")
			requireConfigMap(t, cl, "lifecycle", "settings", "v2")
		}
	})
}

// TestBrokenAppIsIsolated: an App whose kustomization breaks is reported with its file and
// reason, nothing of it is applied or pruned, and the other App still applies.
func TestBrokenAppIsIsolated(t *testing.T) {
	f := newFleet(t, "isolation")
	f.commit(map[string]string{
		"apps/good/app.yaml":           appYAML("good"),
		"apps/good/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/good/ns.yaml":            namespace("isolation"),
		"apps/good/cm.yaml":            configMap("isolation", "good", "v1"),
		"apps/bad/app.yaml":            appYAML("bad", "good"),
		"apps/bad/kustomization.yaml":  kustomization("cm.yaml"),
		"apps/bad/cm.yaml":             configMap("isolation", "bad", "v1"),
	})
	requireNoErrors(t, f.apply())

	// Break "bad" while changing both Apps: first with a resource that does not exist,
	// then with an alias bomb ("billion laughs", issue 14) in its manifest, which must be
	// refused by its bound, before kustomize expands it.
	bomb := configMap("isolation", "bad", "v3") + hostile.AliasBomb()
	for _, breakage := range []struct {
		name  string
		files map[string]string
		good  string
		want  []string
	}{
		{"a missing resource", map[string]string{
			"apps/bad/kustomization.yaml": kustomization("cm.yaml", "missing.yaml"),
			"apps/bad/cm.yaml":            configMap("isolation", "bad", "v2"),
		}, "v2", []string{"apps/bad/app.yaml", "missing.yaml"}},
		{"an alias bomb", map[string]string{
			"apps/bad/kustomization.yaml": kustomization("cm.yaml"),
			"apps/bad/cm.yaml":            bomb,
		}, "v3", []string{"apps/bad/app.yaml", "apps/bad/cm.yaml", yamlbound.FlagMaxNodes}},
	} {
		breakage.files["apps/good/cm.yaml"] = configMap("isolation", "good", breakage.good)
		f.commit(breakage.files)
		results := f.apply()
		for _, cl := range []string{alpha, beta} {
			res := results[cl]
			if res.Err != nil {
				t.Fatalf("%s: cluster %s: unexpected cluster error: %v", breakage.name, cl, res.Err)
			}
			requireActions(t, cl, res, []string{
				"good: Namespace/isolation unchanged",
				"good: ConfigMap/isolation/good configured",
			})
			var bad *reconciler.AppResult
			for i := range res.Apps {
				if res.Apps[i].App == "bad" {
					bad = &res.Apps[i]
				}
			}
			if bad == nil {
				t.Fatalf("%s: cluster %s: no result for app bad", breakage.name, cl)
			}
			var rerr *render.Error
			if !errors.As(bad.Err, &rerr) {
				t.Fatalf("%s: cluster %s: app bad error %v, want a render error", breakage.name, cl, bad.Err)
			}
			for _, want := range breakage.want {
				if !strings.Contains(bad.Err.Error(), want) {
					t.Errorf("%s: cluster %s: render error %q does not name %q", breakage.name, cl, bad.Err, want)
				}
			}
			requireConfigMap(t, cl, "isolation", "good", breakage.good)
			// Neither applied (still v1) nor pruned.
			requireConfigMap(t, cl, "isolation", "bad", "v1")
		}
	}
}

// TestUnreachableCluster: with one cluster's API server down, the other is applied, the
// failure is reported for the down cluster only, and it converges once it is back.
func TestUnreachableCluster(t *testing.T) {
	f := newFleet(t, "outage")
	f.commit(map[string]string{
		"apps/web/app.yaml":           appYAML("web"),
		"apps/web/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/web/ns.yaml":            namespace("outage"),
		"apps/web/cm.yaml":            configMap("outage", "web", "v1"),
	})
	down := env.Cluster(beta)
	if err := down.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := down.StartAPIServer(t.Context()); err != nil {
				t.Errorf("restarting %s: %v", beta, err)
			}
		}
	})

	results := f.apply()
	requireNoErrors(t, map[string]reconciler.ClusterResult{alpha: results[alpha]})
	requireConfigMap(t, alpha, "outage", "web", "v1")
	var unreachable *reconciler.UnreachableError
	if !errors.As(results[beta].Err, &unreachable) || unreachable.Cluster != beta {
		t.Fatalf("cluster beta: error %v, want an UnreachableError for beta", results[beta].Err)
	}
	if c := results[beta].Counts(); c != (reconciler.Counts{}) {
		t.Errorf("cluster beta: counts %+v for an unreachable cluster, want none", c)
	}

	if err := down.StartAPIServer(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	results = f.apply()
	requireNoErrors(t, results)
	requireActions(t, beta, results[beta], []string{
		"web: Namespace/outage created",
		"web: ConfigMap/outage/web created",
	})
	requireConfigMap(t, beta, "outage", "web", "v1")
}

// TestRemovedAppAndPruneGuard: removing an App prunes everything it had, but only up to
// the prune guard; past it nothing is deleted until the override is given.
func TestRemovedAppAndPruneGuard(t *testing.T) {
	f := newFleet(t, "guard")
	files := map[string]string{
		"apps/keep/app.yaml":           appYAML("keep"),
		"apps/keep/kustomization.yaml": kustomization("ns.yaml"),
		"apps/keep/ns.yaml":            namespace("guard"),
		"apps/many/app.yaml":           appYAML("many", "keep"),
	}
	var res []string
	for i := range 12 {
		name := "cm-" + string(rune('a'+i))
		res = append(res, name+".yaml")
		files["apps/many/"+name+".yaml"] = configMap("guard", name, "v1")
	}
	files["apps/many/kustomization.yaml"] = kustomization(res...)
	f.commit(files)
	requireNoErrors(t, f.apply(func(o *reconciler.ApplyOptions) { o.Clusters = []string{alpha} }))

	// Someone else's object in the same namespace, with the same name pattern: never pruned.
	foreign := &corev1.ConfigMap{}
	foreign.Namespace, foreign.Name = "guard", "not-ours"
	if err := clientFor(t, alpha).Create(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}

	remove := map[string]string{"apps/many/app.yaml": "", "apps/many/kustomization.yaml": ""}
	for _, r := range res {
		remove["apps/many/"+r] = ""
	}
	f.commit(remove)
	results := f.apply(func(o *reconciler.ApplyOptions) { o.Clusters = []string{alpha} })
	var guard *reconciler.PruneGuardError
	if !errors.As(results[alpha].Err, &guard) || guard.Prune != 12 || guard.Managed != 13 {
		t.Fatalf("error %v, want the prune guard to refuse 12 of 13 objects", results[alpha].Err)
	}
	requireConfigMap(t, alpha, "guard", "cm-a", "v1")

	results = f.apply(func(o *reconciler.ApplyOptions) {
		o.Clusters = []string{alpha}
		o.PruneGuard.AllowMassPrune = true
	})
	requireNoErrors(t, results)
	if c := results[alpha].Counts(); c.Pruned != 12 {
		t.Errorf("pruned %d objects, want 12", c.Pruned)
	}
	for _, r := range res {
		requireGone(t, alpha, "guard", strings.TrimSuffix(r, ".yaml"))
	}
	requireConfigMap(t, alpha, "guard", "not-ours", "")
}

func requireConfigMap(t *testing.T, cluster, ns, name, value string) {
	t.Helper()
	var cm corev1.ConfigMap
	if err := clientFor(t, cluster).Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatalf("cluster %s: ConfigMap %s/%s: %v", cluster, ns, name, err)
	}
	if cm.Data["value"] != value {
		t.Errorf("cluster %s: ConfigMap %s/%s value %q, want %q", cluster, ns, name, cm.Data["value"], value)
	}
}

func requireLabel(t *testing.T, cluster, ns, name, key, value string) {
	t.Helper()
	var cm corev1.ConfigMap
	if err := clientFor(t, cluster).Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatalf("cluster %s: ConfigMap %s/%s: %v", cluster, ns, name, err)
	}
	if got := cm.Labels[key]; got != value {
		t.Errorf("cluster %s: ConfigMap %s/%s label %s=%q, want %q", cluster, ns, name, key, got, value)
	}
}

func requireGone(t *testing.T, cluster, ns, name string) {
	t.Helper()
	var cm corev1.ConfigMap
	err := clientFor(t, cluster).Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cm)
	if !apierrors.IsNotFound(err) {
		t.Errorf("cluster %s: ConfigMap %s/%s still there (err %v), want it pruned", cluster, ns, name, err)
	}
}
