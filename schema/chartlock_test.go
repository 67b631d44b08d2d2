package schema

import (
	"strings"
	"testing"
)

const remoteApp = `apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  source:
    helm:
      repository: https://charts.example.com/stable
      chart: podinfo
      version: ^6.5.0
      auth:
        username: {env: GITFLEET_SECRET_CHARTS_USER}
        password: {env: GITFLEET_SECRET_CHARTS_PASSWORD}
  targets:
    clusters: [dev]
`

const chartLock = `apiVersion: gitfleet.dev/v1alpha1
kind: ChartLock
metadata:
  name: charts
spec:
  charts:
  - repository: https://charts.example.com/stable
    name: podinfo
    constraint: ^6.5.0
    version: 6.5.4
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
`

func TestRemoteChartAndLockLoad(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(map[string]string{
		"clusters/dev.yaml": clusterFile,
		"apps/web/app.yaml": remoteApp,
		ChartLockFile:       chartLock,
	}))
	if err != nil {
		t.Fatal(err)
	}
	h := repo.App("web").Spec.Source.Helm
	if !h.IsRemote() || h.Version != "^6.5.0" || h.Auth.Password.Env != "GITFLEET_SECRET_CHARTS_PASSWORD" {
		t.Fatalf("helm source = %+v", h)
	}
	e, i := repo.LockedChart("https://charts.example.com/stable", "podinfo", "^6.5.0")
	if e == nil || i != 0 || e.Version != "6.5.4" {
		t.Fatalf("LockedChart = %+v, %d", e, i)
	}
	if e, _ := repo.LockedChart("https://charts.example.com/stable", "podinfo", "^7"); e != nil {
		t.Errorf("an entry of another constraint matched: %+v", e)
	}
}

func TestRemoteChartErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		old, new    string
		lock        string
		want        string
		notInOutput string
	}{
		{name: "credentials in the address", old: "https://charts.example.com/stable", new: "https://bob:hunter2@charts.example.com/stable",
			want: `apps/web/app.yaml:8:19: spec.source.helm.repository: "https://charts.example.com/stable" holds credentials`, notInOutput: "hunter2"},
		{name: "unknown scheme", old: "https://charts", new: "git://charts", want: "spec.source.helm.repository: \"git://charts.example.com/stable\": want the address of a Helm repository"},
		{name: "chart is a path", old: "chart: podinfo", new: "chart: charts/podinfo", want: "spec.source.helm.chart: \"charts/podinfo\" is not a chart name"},
		{name: "no version", old: "      version: ^6.5.0\n", new: "", want: "spec.source.helm.version: required with repository"},
		{name: "half basic auth", old: "        username: {env: GITFLEET_SECRET_CHARTS_USER}\n", new: "", want: "spec.source.helm.auth: set both username and password"},
		{name: "secret outside the policy", old: "GITFLEET_SECRET_CHARTS_PASSWORD", new: "HOME", want: `spec.source.helm.auth.password.env: "HOME" is not an allowed variable`},
		{name: "incomplete lock", old: "", new: "", lock: strings.Replace(chartLock, "sha256:0000000000000000000000000000000000000000000000000000000000000000", "md5:abc", 1),
			want: `charts.lock.yaml:11:13: spec.charts[0].digest: "md5:abc" is not a chart digest`},
		{name: "entry twice", old: "", new: "", lock: chartLock + strings.SplitN(chartLock, "  charts:\n", 2)[1],
			want: "spec.charts[1]: chart podinfo ^6.5.0 from https://charts.example.com/stable is locked twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := strings.Replace(remoteApp, tc.old, tc.new, 1)
			lock := chartLock
			if tc.lock != "" {
				lock = tc.lock
			}
			_, err := Load(t.Context(), repoFS(map[string]string{"clusters/dev.yaml": clusterFile, "apps/web/app.yaml": app, ChartLockFile: lock}))
			got := AsErrorList(err).Error()
			if !strings.Contains(got, tc.want) {
				t.Errorf("Load:\n%s\nwant %q", got, tc.want)
			}
			if tc.notInOutput != "" && strings.Contains(got, tc.notInOutput) {
				t.Errorf("the error shows %q: %s", tc.notInOutput, got)
			}
		})
	}
}

func TestMarshalChartLockReadsBack(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(map[string]string{"clusters/dev.yaml": clusterFile, "apps/web/app.yaml": remoteApp, ChartLockFile: chartLock}))
	if err != nil {
		t.Fatal(err)
	}
	data, err := MarshalChartLock(repo.Lock())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load(t.Context(), repoFS(map[string]string{"clusters/dev.yaml": clusterFile, "apps/web/app.yaml": remoteApp, ChartLockFile: string(data)}))
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if got, want := again.Lock().Spec.Charts, repo.Lock().Spec.Charts; len(got) != 1 || got[0] != want[0] {
		t.Errorf("read back %+v, want %+v", got, want)
	}
	if !strings.Contains(string(data), "- repository: https://charts.example.com/stable\n      name: podinfo\n") {
		t.Errorf("entries are not written in field order:\n%s", data)
	}
}
