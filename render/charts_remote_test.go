package render

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"helm.sh/helm/v3/pkg/chart"

	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/chartserver"
)

// remoteFleet is a fleet whose charts come from three servers: web from a Helm
// repository over HTTPS with basic auth, its dependencies from an OCI registry and a
// second Helm repository, and an in-repository chart with a remote dependency.
type remoteFleet struct {
	files    map[string]string
	repo     *chartserver.HelmRepo
	deps     *chartserver.HelmRepo
	registry *chartserver.Registry
}

func newRemoteFleet(t *testing.T) *remoteFleet {
	t.Helper()
	f := &remoteFleet{
		repo:     chartserver.NewHelmRepo(chartserver.Auth{Username: "ci", Password: "chart-password"}, false),
		deps:     chartserver.NewHelmRepo(chartserver.Auth{}, true),
		registry: chartserver.NewRegistry(chartserver.Auth{}, true),
	}
	t.Cleanup(func() { f.repo.Close(); f.deps.Close(); f.registry.Close() })
	service := func(name string) map[string]string {
		return map[string]string{"templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-" + name + "\nspec:\n  ports: [{port: {{ .Values.port }}}]\n", "values.yaml": "port: 6379\n"}
	}
	publish := func(add func([]byte) error, c chartserver.Chart) {
		data, err := chartserver.Package(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := add(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"0.1.0", "0.1.2", "0.2.0"} {
		publish(f.registry.Push, chartserver.Chart{Name: "cache", Version: v, Files: service("cache")})
	}
	for _, v := range []string{"2.0.0", "2.1.0", "3.0.0"} {
		publish(f.deps.Add, chartserver.Chart{Name: "db", Version: v, Files: service("db")})
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		publish(f.repo.Add, chartserver.Chart{Name: "web", Version: v,
			Files: map[string]string{
				"values.yaml":       "greeting: hello\ncache: {port: 6380}\n",
				"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-web\ndata:\n  greeting: {{ .Values.greeting }}\n  version: {{ .Chart.Version }}\n",
			},
			Dependencies: []*chart.Dependency{
				{Name: "cache", Version: "~0.1", Repository: f.registry.URL},
				{Name: "db", Version: "2.x", Repository: f.deps.URL},
			}})
	}
	t.Setenv("GITFLEET_SECRET_CA", string(f.repo.CA()))
	t.Setenv("GITFLEET_SECRET_USER", "ci")
	t.Setenv("GITFLEET_SECRET_PASSWORD", "chart-password")
	f.files = map[string]string{
		"clusters/dev.yaml": cluster,
		"apps/web.yaml": `apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata: {name: web}
spec:
  namespace: web
  source:
    helm:
      repository: ` + f.repo.URL + `
      chart: web
      version: ^1.0.0
      values: {greeting: hi}
      auth:
        username: {env: GITFLEET_SECRET_USER}
        password: {env: GITFLEET_SECRET_PASSWORD}
        caFile: {env: GITFLEET_SECRET_CA}
  targets: {clusters: [dev]}
`,
		"apps/local.yaml":                "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata: {name: local}\nspec:\n  namespace: local\n  source:\n    helm: {chart: charts/local}\n  targets: {clusters: [dev]}\n",
		"charts/local/Chart.yaml":        "apiVersion: v2\nname: local\nversion: 0.1.0\ndependencies:\n- name: cache\n  version: ~0.1\n  repository: " + f.registry.URL + "\n",
		"charts/local/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\n",
	}
	return f
}

// client is a chart client with its own cache in dir.
func (f *remoteFleet) client(t *testing.T, dir string, offline bool) *remotechart.Client {
	t.Helper()
	cache, err := remotechart.OpenCache(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	opts := remotechart.DefaultOptions()
	opts.Cache, opts.Secrets, opts.Offline, opts.Timeout = cache, chartserver.EnvSecrets{}, offline, 10*time.Second
	opts.PlainHTTPHosts = []string{f.registry.Host()}
	c, err := remotechart.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// locked loads the fleet with the lock LockCharts writes for it.
func (f *remoteFleet) locked(t *testing.T, c *remotechart.Client) (fstest.MapFS, *schema.Repo, []LockChange) {
	t.Helper()
	fsys, repo := load(t, f.files)
	lock, changes, err := LockCharts(t.Context(), fsys, repo, c, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := schema.MarshalChartLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	f.files[schema.ChartLockFile] = string(data)
	fsys, repo = load(t, f.files)
	return fsys, repo, changes
}

func objectNames(t *testing.T, r *Renderer, repo *schema.Repo, app string) []string {
	t.Helper()
	for _, a := range r.Cluster(t.Context(), repo.Cluster("dev")).Apps {
		if a.App.Metadata.Name != app {
			continue
		}
		if a.Err != nil {
			t.Fatalf("render %s: %v", app, a.Err)
		}
		var out []string
		for _, o := range a.Objects {
			out = append(out, o.GetKind()+"/"+o.GetName())
		}
		slices.Sort(out)
		return out
	}
	t.Fatalf("no result for app %s", app)
	return nil
}

func TestRemoteChartsLockedAndRendered(t *testing.T) {
	f := newRemoteFleet(t)
	c := f.client(t, t.TempDir(), false)
	fsys, repo, changes := f.locked(t, c)
	var got []string
	for _, ch := range changes {
		got = append(got, ch.String())
	}
	want := []string{
		"added   chart cache ~0.1 from " + f.registry.URL + ": 0.1.2",
		"added   chart db 2.x from " + f.deps.URL + ": 2.1.0",
		"added   chart web ^1.0.0 from " + f.repo.URL + ": 1.1.0",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("lock changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	r, err := NewWithOptions(t.Context(), fsys, repo, Options{Charts: c})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := objectNames(t, r, repo, "web"), []string{"ConfigMap/web-web", "Service/web-cache", "Service/web-db"}; !slices.Equal(got, want) {
		t.Errorf("web objects = %v, want %v", got, want)
	}
	if got, want := objectNames(t, r, repo, "local"), []string{"ConfigMap/local", "Service/local-cache"}; !slices.Equal(got, want) {
		t.Errorf("local objects = %v, want %v", got, want)
	}
	if problems := r.Check(t.Context()); len(problems) > 0 {
		t.Errorf("Check: %v", problems)
	}

	// Locking again keeps every version; --update of a constraint nothing newer
	// satisfies changes nothing either.
	if _, _, again := f.locked(t, c); len(again) != 0 {
		t.Errorf("locking a locked fleet changed %v", again)
	}
}

func TestRemoteChartsOffline(t *testing.T) {
	f := newRemoteFleet(t)
	warm := t.TempDir()
	fsys, repo, _ := f.locked(t, f.client(t, warm, false))

	// With the cache of the run that locked: everything renders, nothing is asked.
	before := f.repo.Requests.Load() + f.registry.Requests.Load() + f.deps.Requests.Load()
	r, err := NewWithOptions(t.Context(), fsys, repo, Options{Charts: f.client(t, warm, true)})
	if err != nil {
		t.Fatal(err)
	}
	if problems := r.Check(t.Context()); len(problems) > 0 || len(r.UnfetchedCharts()) > 0 {
		t.Errorf("offline with a warm cache: %v, unfetched %v", problems, r.UnfetchedCharts())
	}
	if after := f.repo.Requests.Load() + f.registry.Requests.Load() + f.deps.Requests.Load(); after != before {
		t.Errorf("an offline check made %d requests", after-before)
	}

	// With an empty cache: no problem is invented, and the charts it would fetch are named.
	r, err = NewWithOptions(t.Context(), fsys, repo, Options{Charts: f.client(t, t.TempDir(), true)})
	if err != nil {
		t.Fatal(err)
	}
	if problems := r.Check(t.Context()); len(problems) > 0 {
		t.Errorf("offline with an empty cache: %v", problems)
	}
	unfetched := strings.Join(r.UnfetchedCharts(), "\n")
	for _, want := range []string{"chart web 1.1.0 from " + f.repo.URL, "chart cache 0.1.2 from " + f.registry.URL} {
		if !strings.Contains(unfetched, want) {
			t.Errorf("UnfetchedCharts:\n%s\nwant %q", unfetched, want)
		}
	}
}

func TestRemoteChartsRefused(t *testing.T) {
	f := newRemoteFleet(t)
	c := f.client(t, t.TempDir(), false)
	_, _, _ = f.locked(t, c)
	lock := f.files[schema.ChartLockFile]

	check := func(t *testing.T, files map[string]string, fetch ChartFetcher) (schema.ErrorList, map[string]error) {
		t.Helper()
		fsys, repo := load(t, files)
		r, err := NewWithOptions(t.Context(), fsys, repo, Options{Charts: fetch})
		if err != nil {
			t.Fatal(err)
		}
		errs := map[string]error{}
		for _, a := range r.Cluster(t.Context(), repo.Cluster("dev")).Apps {
			errs[a.App.Metadata.Name] = a.Err
		}
		return r.Check(t.Context()), errs
	}

	t.Run("not locked", func(t *testing.T) {
		files := maps.Clone(f.files)
		delete(files, schema.ChartLockFile)
		problems, _ := check(t, files, c)
		got := problems.Error()
		for _, want := range []string{
			"apps/web.yaml:8:7: spec.source.helm: loading chart web: chart web ^1.0.0 from " + f.repo.URL + " is not in the lock file: run gitfleet lock",
			"apps/local.yaml:7:11: spec.source.helm: loading chart charts/local: dependency of chart local: chart cache ~0.1 from " + f.registry.URL + " is not in the lock file",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("Check:\n%s\nwant %q", got, want)
			}
		}
	})
	t.Run("not locked, targeting no cluster yet", func(t *testing.T) {
		files := maps.Clone(f.files)
		delete(files, schema.ChartLockFile)
		delete(files, "apps/local.yaml")
		files["apps/web.yaml"] = strings.Replace(files["apps/web.yaml"], "targets: {clusters: [dev]}", "targets: {selector: {matchLabels: {later: \"yes\"}}}", 1)
		problems, _ := check(t, files, c)
		if want := "apps/web.yaml:8:7: spec.source.helm: loading chart web: chart web ^1.0.0 from " + f.repo.URL + " is not in the lock file"; len(problems) != 1 || !strings.Contains(problems.Error(), want) {
			t.Errorf("Check:\n%s\nwant only %q", problems.Error(), want)
		}
	})
	t.Run("stale", func(t *testing.T) {
		files := maps.Clone(f.files)
		files[schema.ChartLockFile] = strings.Replace(lock, "version: 1.1.0", "version: 2.0.0", 1)
		problems, _ := check(t, files, c)
		if want := "the lock file pins version 2.0.0, which does not satisfy \"^1.0.0\""; !strings.Contains(problems.Error(), want) {
			t.Errorf("Check:\n%s\nwant %q", problems.Error(), want)
		}
	})
	t.Run("re-pushed tag", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond) // another second in the tar headers
		data, err := chartserver.Package(chartserver.Chart{Name: "cache", Version: "0.1.2", Files: map[string]string{"templates/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: evil}\n"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.registry.Push(data); err != nil {
			t.Fatal(err)
		}
		_, errs := check(t, f.files, f.client(t, t.TempDir(), false))
		var dm *remotechart.DigestMismatchError
		if !errors.As(errs["web"], &dm) || !errors.As(errs["local"], &dm) {
			t.Errorf("render of a re-pushed dependency: web: %v; local: %v", errs["web"], errs["local"])
		}
	})
	t.Run("registry down", func(t *testing.T) {
		f.registry.Close()
		_, errs := check(t, f.files, f.client(t, t.TempDir(), false))
		if !errors.Is(errs["web"], remotechart.ErrUnavailable) || !errors.Is(errs["local"], remotechart.ErrUnavailable) {
			t.Errorf("render with the registry down: web: %v; local: %v", errs["web"], errs["local"])
		}
	})
}
