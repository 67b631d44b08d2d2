package reference

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"helm.sh/helm/v3/pkg/chart"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/render/remotechart"
	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/chartserver"
)

// TestRemoteChartMatchesReference renders locked remote charts with gitfleet and the same
// chart versions with `helm template` from the same servers: Helm's subchart test chart
// from a Helm repository over HTTPS with basic auth and from an OCI registry, and a chart
// whose dependencies are not vendored but come from both kinds of repository (helm is
// given the chart with the very archives the lock pins in its charts/).
func TestRemoteChartMatchesReference(t *testing.T) {
	tl := findTools(t)
	helmDir := helmModuleDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	const user, password = "ci", "reference-chart-password"
	repo := chartserver.NewHelmRepo(chartserver.Auth{Username: user, Password: password}, false)
	defer repo.Close()
	reg := chartserver.NewRegistry(chartserver.Auth{Username: user, Password: password}, true)
	defer reg.Close()
	subchart, err := chartserver.PackageDir(filepath.Join(helmDir, filepath.FromSlash(helmTestCharts), "subchart"))
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Add(subchart); err != nil {
		t.Fatal(err)
	}
	if err := reg.Push(subchart); err != nil {
		t.Fatal(err)
	}
	// parent depends on cache (in a registry of another host, which gets no credentials)
	// and db (the parent's own repository), neither vendored.
	open := chartserver.NewRegistry(chartserver.Auth{}, true)
	defer open.Close()
	service := map[string]string{
		"values.yaml":        "port: 6379\nname: svc\n",
		"templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n  labels: {chart: {{ .Chart.Name }}-{{ .Chart.Version }}}\nspec:\n  ports: [{port: {{ .Values.port }}, name: {{ .Values.name }}}]\n",
	}
	for _, p := range []struct {
		publish func([]byte) error
		c       chartserver.Chart
	}{
		{open.Push, chartserver.Chart{Name: "cache", Version: "0.1.2", Files: service}},
		{repo.Add, chartserver.Chart{Name: "db", Version: "2.1.0", Files: service}},
		{repo.Add, chartserver.Chart{Name: "parent", Version: "1.0.0", Files: map[string]string{
			"values.yaml":       "greeting: hello\ncache: {port: 6380}\ndb: {enabled: true}\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-parent\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  cachePort: {{ .Values.cache.port | quote }}\n",
		}, Dependencies: []*chart.Dependency{
			{Name: "cache", Version: "~0.1", Repository: open.URL},
			{Name: "db", Version: "2.x", Repository: repo.URL, Condition: "db.enabled"},
		}}},
	} {
		data, err := chartserverPackage(p.c)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.publish(data); err != nil {
			t.Fatal(err)
		}
	}
	scratch := t.TempDir()
	caFile := filepath.Join(scratch, "ca.pem")
	if err := os.WriteFile(caFile, repo.CA(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITFLEET_SECRET_REF_USER", user)
	t.Setenv("GITFLEET_SECRET_REF_PASSWORD", password)
	t.Setenv("GITFLEET_SECRET_REF_CA", string(repo.CA()))
	auth := "    auth:\n      username: {env: GITFLEET_SECRET_REF_USER}\n      password: {env: GITFLEET_SECRET_REF_PASSWORD}\n      caFile: {env: GITFLEET_SECRET_REF_CA}\n"
	values := "    values:\n      configmap: {value: from-the-app}\n      service: {externalPort: 8080}\n"

	cache, err := remotechart.OpenCache(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	opts := remotechart.DefaultOptions()
	opts.Cache, opts.Secrets, opts.PlainHTTPHosts = cache, chartserver.EnvSecrets{}, []string{reg.Host(), open.Host()}
	client, err := remotechart.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	helmAuth := []string{"--username", user, "--password", password}
	for _, tc := range []struct {
		name, spec string
		// reference is helm's chart argument and flags, given the lock's version.
		reference func(t *testing.T, r *schema.Repo, version string) []string
	}{
		{name: "remote-helm-repository", spec: "source:\n  helm:\n    repository: " + repo.URL + "\n    chart: subchart\n    version: \"~0.1\"\n" + values + auth,
			reference: func(_ *testing.T, _ *schema.Repo, v string) []string {
				return append([]string{"subchart", "--repo", repo.URL, "--version", v, "--ca-file", caFile}, helmAuth...)
			}},
		{name: "remote-oci", spec: "source:\n  helm:\n    repository: " + reg.URL + "\n    chart: subchart\n    version: \">=0.1.0 <1\"\n" + values + "    auth:\n      username: {env: GITFLEET_SECRET_REF_USER}\n      password: {env: GITFLEET_SECRET_REF_PASSWORD}\n",
			reference: func(_ *testing.T, _ *schema.Repo, v string) []string {
				return append([]string{"oci://" + reg.Host() + "/charts/subchart", "--version", v, "--plain-http"}, helmAuth...)
			}},
		{name: "remote-dependencies", spec: "namespace: deps\nsource:\n  helm:\n    repository: " + repo.URL + "\n    chart: parent\n    version: 1.0.0\n    values: {greeting: hi, db: {port: 5432}}\n" + auth,
			reference: func(t *testing.T, r *schema.Repo, _ string) []string {
				return []string{vendored(t, cache, r.Lock(), filepath.Join(scratch, "parent"))}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"fleet.yaml":                        {Data: []byte(fleetYAML)},
				"clusters/" + clusterName + ".yaml": {Data: []byte(tkestack.yaml())},
				"apps/" + tc.name + ".yaml": {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: " + tc.name + "\nspec:\n  targets:\n    clusters: [" + clusterName + "]\n  " +
					strings.ReplaceAll(strings.TrimRight(tc.spec, "\n"), "\n", "\n  ") + "\n")},
			}
			r0, err := schema.Load(ctx, fsys)
			if err != nil {
				t.Fatal(err)
			}
			lock, _, err := render.LockCharts(ctx, fsys, r0, client, render.LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			data, err := schema.MarshalChartLock(lock)
			if err != nil {
				t.Fatal(err)
			}
			fsys[schema.ChartLockFile] = &fstest.MapFile{Data: data}
			r, err := schema.Load(ctx, fsys)
			if err != nil {
				t.Fatal(err)
			}
			app := r.App(tc.name)
			e, _ := r.LockedChart(app.Spec.Source.Helm.Repository, app.Spec.Source.Helm.Chart, app.Spec.Source.Helm.Version)
			renderer, err := render.NewWithOptions(ctx, fsys, r, render.Options{Charts: client})
			if err != nil {
				t.Fatal(err)
			}
			var got *render.AppResult
			for _, a := range renderer.Cluster(ctx, r.Cluster(clusterName)).Apps {
				if a.App.Metadata.Name == tc.name {
					got = &a
				}
			}
			if got == nil || got.Err != nil {
				t.Fatalf("gitfleet: %+v", got)
			}

			// helm template with the same release, namespace, values and cluster.
			args := []string{"template", tc.name}
			args = append(args, tc.reference(t, r, e.Version)...)
			ns := app.Spec.Namespace
			if ns == "" {
				ns = "default"
			}
			args = append(args, "--namespace", ns, "--include-crds", "--kube-version", "v"+tkestack.version)
			flags, err := setFlags(nil, "", stringKeys(app.Spec.Source.Helm.Values))
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, flags...)
			out, err := tl.run(ctx, tl.helm, args...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := parseStream(out)
			if err != nil {
				t.Fatal(err)
			}
			res := compareObjects(got.Objects, want, compareOptions{labels: gitfleetLabels(tc.name, fleetName)})
			if len(res.diffs) > 0 || res.objects == 0 {
				t.Errorf("gitfleet and helm %s differ (%d objects compared):\n%s", strings.Join(args, " "), res.objects, report(res.diffs, 10))
			}
			t.Logf("%d objects compared with helm %s", res.objects, strings.Join(args[:3], " "))
		})
	}
}

// chartserverPackage is chartserver.Package.
var chartserverPackage = chartserver.Package

// vendored writes the locked parent chart into dir (its archive from the chart cache)
// with the locked archives of its dependencies in charts/, as `helm dependency build`
// would leave it, and returns dir.
func vendored(t *testing.T, cache *remotechart.Cache, lock *schema.ChartLock, dir string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range lock.Spec.Charts {
		data, ok := cache.Get(e.Digest)
		if !ok {
			t.Fatalf("%s %s is not in the chart cache", e.Name, e.Version)
		}
		if e.Name == "parent" {
			untar(t, data, filepath.Dir(dir))
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "charts", e.Name+"-"+e.Version+".tgz"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// untar unpacks a chart archive under dir (its files are under the chart's name).
func untar(t *testing.T, archive []byte, dir string) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("archive entry %s leaves %s", h.Name, dir)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
