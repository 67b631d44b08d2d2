package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/chartserver"
)

// TestRegistryDownKeepsLastApplied: an App whose chart comes from a Helm repository is
// applied from the lock; when the lock moves to a version while the repository is down,
// the App fails to render on both clusters, is reported, and keeps what was applied:
// nothing of it is applied or pruned, and the other App still applies.
func TestRegistryDownKeepsLastApplied(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{}, true)
	defer srv.Close()
	publish := func(version string) {
		data, err := chartserver.Package(chartserver.Chart{Name: "settings", Version: version, Files: map[string]string{
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  value: {{ .Chart.Version | quote }}\n",
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Add(data); err != nil {
			t.Fatal(err)
		}
	}
	publish("1.0.0")
	client := func() *remotechart.Client {
		cache, err := remotechart.OpenCache(t.TempDir(), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		opts := remotechart.DefaultOptions()
		opts.Cache, opts.Timeout = cache, 5*time.Second
		c, err := remotechart.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	chartApp := func(version string) string {
		return fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: settings\nspec:\n  namespace: remote-chart\n  source:\n    helm:\n      repository: %s\n      chart: settings\n      version: %q\n  targets:\n    selector:\n      matchLabels: {env: test}\n  dependsOn: [base]\n", srv.URL, version)
	}
	f := newFleet(t, "remote-chart")
	f.render = render.Options{Charts: client()}
	lock := func(c *remotechart.Client) {
		fsys, repo := loadWorkingTree(t, f)
		l, _, err := render.LockCharts(t.Context(), fsys, repo, c, render.LockOptions{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := schema.MarshalChartLock(l)
		if err != nil {
			t.Fatal(err)
		}
		f.write(map[string]string{schema.ChartLockFile: string(data)})
	}
	f.write(map[string]string{
		"apps/base/app.yaml":           appYAML("base"),
		"apps/base/kustomization.yaml": kustomization("ns.yaml", "cm.yaml"),
		"apps/base/ns.yaml":            namespace("remote-chart"),
		"apps/base/cm.yaml":            configMap("remote-chart", "base", "v1"),
		"apps/settings/app.yaml":       chartApp("1.0.0"),
	})
	lock(client())
	f.commit(nil)
	results := f.apply()
	requireNoErrors(t, results)
	for _, cl := range []string{alpha, beta} {
		requireConfigMap(t, cl, "remote-chart", "settings", "1.0.0")
	}

	publish("1.1.0")
	f.write(map[string]string{"apps/settings/app.yaml": chartApp("1.1.0"), "apps/base/cm.yaml": configMap("remote-chart", "base", "v2")})
	lock(client())
	f.commit(nil)
	srv.Close()
	// Another machine's cache, or an evicted one: the chart must be fetched, and cannot.
	f.render = render.Options{Charts: client()}
	results = f.apply()
	for _, cl := range []string{alpha, beta} {
		res := results[cl]
		if res.Err != nil {
			t.Fatalf("cluster %s: %v", cl, res.Err)
		}
		var settings error
		for _, a := range res.Apps {
			if a.App == "settings" {
				settings = a.Err
			}
		}
		var rerr *render.Error
		if !errors.As(settings, &rerr) || !errors.Is(settings, remotechart.ErrUnavailable) {
			t.Errorf("cluster %s: app settings: %v, want a render error of a repository that is unavailable", cl, settings)
		}
		requireConfigMap(t, cl, "remote-chart", "settings", "1.0.0") // neither updated nor pruned
		requireConfigMap(t, cl, "remote-chart", "base", "v2")
	}
}

// loadWorkingTree loads the fleet's files as written, before they are committed (what
// gitfleet lock reads).
func loadWorkingTree(t *testing.T, f *fleet) (fs.FS, *schema.Repo) {
	t.Helper()
	fsys := os.DirFS(f.repo.Dir)
	repo, err := schema.Load(t.Context(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return fsys, repo
}
