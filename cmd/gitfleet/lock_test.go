package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/chartserver"
	"gitfleet.dev/gitfleet/test/gitrepo"
)

// chartFleet writes a fleet directory with one App whose chart comes from srv.
func chartFleet(t *testing.T, srv *chartserver.HelmRepo, version string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"clusters/dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\nspec:\n  version: \"1.30.2\"\n",
		"apps/web.yaml": `apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  namespace: web
  source:
    helm:
      repository: ` + srv.URL + `
      chart: web
      version: "` + version + `"
      auth:
        username: {env: GITFLEET_SECRET_CHART_USER}
        password: {env: GITFLEET_SECRET_CHART_PASSWORD}
        caFile: {env: GITFLEET_SECRET_CHART_CA}
  targets:
    clusters: [dev]
`,
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func publishWeb(t *testing.T, srv *chartserver.HelmRepo, version string) {
	t.Helper()
	data, err := chartserver.Package(chartserver.Chart{Name: "web", Version: version, Files: map[string]string{
		"values.yaml":       "greeting: hello\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  greeting: {{ .Values.greeting }}\n  chart: {{ .Chart.Version }}\n",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Add(data); err != nil {
		t.Fatal(err)
	}
}

func TestLockValidateRender(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{Username: "ci", Password: "hunter2-chart-pw"}, false)
	defer srv.Close()
	publishWeb(t, srv, "1.0.0")
	publishWeb(t, srv, "1.4.2")
	publishWeb(t, srv, "2.0.0")
	t.Setenv("GITFLEET_SECRET_CHART_USER", "ci")
	t.Setenv("GITFLEET_SECRET_CHART_PASSWORD", "hunter2-chart-pw")
	t.Setenv("GITFLEET_SECRET_CHART_CA", string(srv.CA()))
	dir := chartFleet(t, srv, "^1.0.0")
	cache := "--chart-cache-dir=" + t.TempDir()

	// Not locked: validate refuses, naming the App and what to run.
	code, out, _ := gitfleet(t, "validate", dir, cache)
	if code != 1 || !strings.Contains(out, "apps/web.yaml:9:7: spec.source.helm: ") || !strings.Contains(out, "is not in the lock file: run gitfleet lock") {
		t.Fatalf("validate without a lock: exit %d\n%s", code, out)
	}

	code, out, errOut := gitfleet(t, "lock", dir, cache)
	if code != 0 || !strings.Contains(out, "added   chart web ^1.0.0 from "+srv.URL+": 1.4.2") {
		t.Fatalf("lock: exit %d\n%s\n%s", code, out, errOut)
	}
	lock, err := os.ReadFile(filepath.Join(dir, schema.ChartLockFile))
	if err != nil || !strings.Contains(string(lock), "version: 1.4.2") || strings.Contains(string(lock), "hunter2") {
		t.Fatalf("lock file (%v):\n%s", err, lock)
	}

	// Offline from the cache lock filled: valid, nothing to note. From an empty cache:
	// valid, and the chart it would fetch is named.
	if code, out, errOut := gitfleet(t, "validate", dir, cache); code != 0 || strings.Contains(errOut, "not in the chart cache") {
		t.Errorf("validate with the chart cached: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = gitfleet(t, "validate", dir, "--chart-cache-dir="+t.TempDir())
	if code != 0 || !strings.Contains(errOut, "note: 1 remote chart(s) are not in the chart cache") || !strings.Contains(errOut, "chart web 1.4.2 from "+srv.URL) {
		t.Errorf("validate with an empty cache: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = gitfleet(t, "render", dir, cache)
	if code != 0 || !strings.Contains(out, "chart: 1.4.2") || !strings.Contains(out, "greeting: hello") {
		t.Errorf("render: exit %d\n%s\n%s", code, out, errOut)
	}

	// Locked again: nothing changes. A new constraint: only that entry moves.
	if code, out, _ := gitfleet(t, "lock", dir, cache); code != 0 || !strings.Contains(out, "is up to date: 1 chart(s)") {
		t.Errorf("lock again: exit %d\n%s", code, out)
	}
	publishWeb(t, srv, "1.5.0")
	if code, out, _ := gitfleet(t, "lock", dir, cache); code != 0 || !strings.Contains(out, "is up to date") {
		t.Errorf("lock with a newer version published, without --update: exit %d\n%s", code, out)
	}
	if code, out, _ := gitfleet(t, "lock", "--update", dir, cache); code != 0 || !strings.Contains(out, "changed chart web ^1.0.0 from "+srv.URL+": 1.4.2 -> 1.5.0") {
		t.Errorf("lock --update: exit %d\n%s", code, out)
	}
}

func TestLockWrongCredentialsAndRepushedChart(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{Username: "ci", Password: "right-password"}, false)
	defer srv.Close()
	publishWeb(t, srv, "1.0.0")
	t.Setenv("GITFLEET_SECRET_CHART_USER", "ci")
	t.Setenv("GITFLEET_SECRET_CHART_PASSWORD", "wrong-password-xyz")
	t.Setenv("GITFLEET_SECRET_CHART_CA", string(srv.CA()))
	dir := chartFleet(t, srv, "1.0.0")
	cache := "--chart-cache-dir=" + t.TempDir()
	code, out, errOut := gitfleet(t, "lock", dir, cache)
	if code != 1 || !strings.Contains(errOut, "app web (apps/web.yaml)") || !strings.Contains(errOut, "the server refused the credentials of spec.source.helm.auth (HTTP 401)") || strings.Contains(out+errOut, "wrong-password-xyz") {
		t.Errorf("lock with a wrong password: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, schema.ChartLockFile)); err == nil {
		t.Error("a failed lock wrote the lock file")
	}

	t.Setenv("GITFLEET_SECRET_CHART_PASSWORD", "right-password")
	if code, out, errOut := gitfleet(t, "lock", dir, cache); code != 0 {
		t.Fatalf("lock: exit %d\n%s\n%s", code, out, errOut)
	}
	time.Sleep(1100 * time.Millisecond) // another second in the archive's tar headers
	publishWeb(t, srv, "1.0.0")
	code, out, errOut = gitfleet(t, "render", dir, "--chart-cache-dir="+t.TempDir())
	if code != 1 || !strings.Contains(errOut, "published again with other content") || strings.Contains(out, "kind: ConfigMap") {
		t.Errorf("render of a re-pushed version: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestPlanShowsChartBump plans a pull request that bumps a remote chart: the report
// names the versions and the objects that change.
func TestPlanShowsChartBump(t *testing.T) {
	srv := chartserver.NewHelmRepo(chartserver.Auth{Username: "ci", Password: "pw-for-plan"}, false)
	defer srv.Close()
	publishWeb(t, srv, "1.4.2")
	publishWeb(t, srv, "1.5.0")
	t.Setenv("GITFLEET_SECRET_CHART_USER", "ci")
	t.Setenv("GITFLEET_SECRET_CHART_PASSWORD", "pw-for-plan")
	t.Setenv("GITFLEET_SECRET_CHART_CA", string(srv.CA()))
	cache := "--chart-cache-dir=" + t.TempDir()
	src := chartFleet(t, srv, "~1.4.0")
	repo, err := gitrepo.Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.CopyDir(src); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := gitfleet(t, "lock", repo.Dir, cache); code != 0 {
		t.Fatalf("lock: %d\n%s%s", code, out, errOut)
	}
	if _, err := repo.Commit("web 1.4"); err != nil {
		t.Fatal(err)
	}
	app, err := os.ReadFile(filepath.Join(repo.Dir, "apps/web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Write(map[string]string{"apps/web.yaml": strings.Replace(string(app), `"~1.4.0"`, `"~1.5.0"`, 1)}); err != nil {
		t.Fatal(err)
	}
	// Committed without running gitfleet lock: plan refuses it, at the App.
	if _, err := repo.Commit("web 1.5, not locked"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := gitfleet(t, "plan", "--repo", repo.Dir, "--base", "HEAD~1", cache, "-o", "text")
	if code != 1 || !strings.Contains(out, "apps/web.yaml:8:5: spec.source: [render, cluster dev]") || !strings.Contains(out, "chart web ~1.5.0 from "+srv.URL+" is not in the lock file: run gitfleet lock") {
		t.Errorf("plan of an unlocked chart: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := gitfleet(t, "lock", repo.Dir, cache); code != 0 {
		t.Fatalf("lock: %d\n%s%s", code, out, errOut)
	}
	if _, err := repo.Commit("web 1.5"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = gitfleet(t, "plan", "--repo", repo.Dir, "--base", "HEAD~2", cache, "-o", "text")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"chart web ~1.4.0 from " + srv.URL + ": 1.4.2 -> (removed)",
		"chart web ~1.5.0 from " + srv.URL + ": (none) -> 1.5.0",
		`data.chart: "1.4.2" -> "1.5.0"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}
