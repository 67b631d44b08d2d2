package render

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMain makes the test binary serve a render when it is started as gitfleet starts its
// render processes.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HelmChildArg {
		os.Exit(RunHelmChild(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// isolatedRender renders every App of the repository for a cluster, with or without
// Isolation.
func isolatedRender(t *testing.T, files map[string]string, cluster string, iso *Isolation, limits Limits) ClusterResult {
	t.Helper()
	fsys, repo := load(t, files)
	r, err := NewWithOptions(t.Context(), fsys, repo, Options{Isolation: iso, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return r.Cluster(t.Context(), repo.Cluster(cluster))
}

// TestIsolatedHelmIsInProcessHelm: a chart rendered in a child process gives exactly the
// objects it gives in this one (values' integers stay integers on the way).
func TestIsolatedHelmIsInProcessHelm(t *testing.T) {
	iso := &Isolation{Command: []string{os.Args[0], HelmChildArg}, MaxMemory: 1 << 30}
	for _, cl := range []string{"dev", "prod"} {
		want := isolatedRender(t, testChart, cl, nil, Limits{})
		got := isolatedRender(t, testChart, cl, iso, Limits{})
		for i := range want.Apps {
			if (want.Apps[i].Err == nil) != (got.Apps[i].Err == nil) {
				t.Fatalf("%s app %s: error %v in process, %v isolated", cl, want.Apps[i].App.Metadata.Name, want.Apps[i].Err, got.Apps[i].Err)
			}
			if diff := cmp.Diff(want.Apps[i].Objects, got.Apps[i].Objects); diff != "" {
				t.Errorf("%s app %s: isolated render differs (-in process +isolated):\n%s", cl, want.Apps[i].App.Metadata.Name, diff)
			}
		}
	}
}

// TestIsolatedHelmLoopIsKilled: a template loop that would take hundreds of megabytes is
// stopped at the memory cap, and the App fails naming the flag.
func TestIsolatedHelmLoopIsKilled(t *testing.T) {
	iso := &Isolation{Command: []string{os.Args[0], HelmChildArg}, MaxMemory: 96 << 20}
	res := isolatedRender(t, map[string]string{
		"clusters/dev.yaml": cluster, "apps/web/app.yaml": helmApp, "charts/web/Chart.yaml": tinyChart, "values/web.yaml": "{}\n",
		"charts/web/templates/cm.yaml": tinyTemplate + "{{/* 400 MB of ints */}}{{ $n := until 50000000 }}{{ range $n }}{{ end }}\n",
	}, "dev", iso, Limits{})
	var le *LimitError
	if len(res.Apps) != 1 || !errors.As(res.Apps[0].Err, &le) || le.Flag != FlagMaxMemory {
		t.Fatalf("apps %+v, want one stopped at the memory limit", res.Apps)
	}
}
