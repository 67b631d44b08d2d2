package schema

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitfleet.dev/gitfleet/render/yamlbound"
)

const (
	fleetFile   = "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: example\n"
	clusterFile = "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: dev\n  labels:\n    env: dev\n"
	appFile     = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/web\n  targets:\n    clusters: [dev]\n"
	kustomize   = "resources: []\n"
)

// withFiles returns base with some files added or replaced.
func withFiles(base, files map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(files))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range files {
		out[k] = v
	}
	return out
}

func repoFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return fsys
}

func TestLoadDefaults(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(map[string]string{
		"clusters/dev.yaml":            clusterFile,
		"apps/web/app.yaml":            appFile,
		"apps/web/kustomization.yaml":  kustomize,
		"apps/web/deployment.yaml":     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x, labels: {gitfleet.dev/app: web}}\n",
		"status/clusters/dev.yaml":     "apiVersion: gitfleet.dev/v1alpha1\nkind: Nonsense\n",
		"docs/not-a-fleet-file.yaml":   "this: [is not: valid",
		".gitfleetignore":              "# examples, not YAML\ndocs/\n",
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/cm.yaml": "{{- if .Values.x }}\nkind: ConfigMap\n{{- end }}\n",
		"apps/web/notes-on-yaml.md":    "apiVersion: gitfleet.dev/v1alpha1",
		".github/workflows/plan.yaml":  "apiVersion: gitfleet.dev/v1alpha1\nkind: Whatever\n",
		"apps/web/values-example.yaml": "",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := repo.Fleet.Spec.Interval.Duration; got != 5*time.Minute {
		t.Errorf("default interval %s, want 5m", got)
	}
	if !*repo.Apps[0].Spec.Prune || repo.Apps[0].Spec.Drift != DriftCorrect {
		t.Errorf("app defaults: prune %v drift %q, want true and correct", *repo.Apps[0].Spec.Prune, repo.Apps[0].Spec.Drift)
	}
	c := repo.Cluster("dev")
	if c.Spec.Type != ClusterImported || c.Spec.Credentials.KubeconfigContext != "dev" {
		t.Errorf("cluster defaults: type %q context %q", c.Spec.Type, c.Spec.Credentials.KubeconfigContext)
	}
	if got := repo.AppsFor(c); len(got) != 1 || got[0].Metadata.Name != "web" {
		t.Errorf("AppsFor(dev) = %v, want [web]", got)
	}
}

func TestTargets(t *testing.T) {
	dev := &Cluster{Object: Object{Metadata: ObjectMeta{Name: "dev", Labels: map[string]string{"env": "dev", "region": "gz"}}}}
	cases := []struct {
		name    string
		targets Targets
		want    bool
	}{
		{"by name", Targets{Clusters: []string{"prod", "dev"}}, true},
		{"other name", Targets{Clusters: []string{"prod"}}, false},
		{"matching labels", Targets{Selector: &LabelSelector{MatchLabels: map[string]string{"env": "dev", "region": "gz"}}}, true},
		{"one label differs", Targets{Selector: &LabelSelector{MatchLabels: map[string]string{"env": "dev", "region": "bj"}}}, false},
		{"empty selector matches every cluster", Targets{Selector: &LabelSelector{}}, true},
		{"no targets", Targets{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &App{Spec: AppSpec{Targets: tc.targets}}
			if got := a.Targets(dev); got != tc.want {
				t.Errorf("Targets = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLoadErrors checks that each kind of bad input is reported at the exact file, line
// and column, with the field path and an actionable message, and that every problem of a
// repository is reported at once.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "unknown field",
			files: map[string]string{"clusters/dev.yaml": clusterFile + "spec:\n  versoin: 1.18.3\n"},
			want:  []string{`clusters/dev.yaml:8:3: spec.versoin: unknown field "versoin"; did you mean "version"?`},
		},
		{
			name:  "wrong type",
			files: map[string]string{"clusters/dev.yaml": clusterFile + "spec:\n  version: [1, 2]\n"},
			want:  []string{`clusters/dev.yaml:8:12: spec.version: expected a string, found a list`},
		},
		{
			name:  "invalid YAML",
			files: map[string]string{"clusters/dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: [dev\n"},
			want:  []string{`clusters/dev.yaml:4:9: invalid YAML: while parsing a flow sequence: did not find expected ',' or ']'`},
		},
		{
			name:  "tab in the indentation",
			files: map[string]string{"clusters/dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n\tname: dev\n"},
			want:  []string{`clusters/dev.yaml:4:1: invalid YAML: a tab character; YAML indents with spaces only: replace the tab with spaces`},
		},
		{
			name:  "unknown kind",
			files: map[string]string{"x.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Clustr\nmetadata:\n  name: dev\n"},
			want:  []string{`x.yaml:1:1: kind: unknown kind "Clustr"; did you mean "Cluster"?`},
		},
		{
			name:  "unsupported apiVersion",
			files: map[string]string{"x.yaml": "apiVersion: gitfleet.dev/v2\nkind: Cluster\n"},
			want:  []string{`x.yaml:1:1: apiVersion: unsupported apiVersion "gitfleet.dev/v2"; this gitfleet reads gitfleet.dev/v1alpha1`},
		},
		{
			name:  "bad name and display name too long",
			files: map[string]string{"clusters/dev.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: Dev_1\nspec:\n  displayName: " + string(make([]byte, 0)) + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"},
			want: []string{
				`clusters/dev.yaml:4:9: metadata.name: "Dev_1" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`clusters/dev.yaml:6:16: spec.displayName: must be shorter than 60 characters (TKEStack's limit), found 61`,
			},
		},
		{
			name: "duplicate cluster",
			files: map[string]string{
				"clusters/a.yaml": clusterFile,
				"clusters/b.yaml": clusterFile,
			},
			want: []string{`clusters/b.yaml:4:9: metadata.name: another Cluster named "dev" is declared at clusters/a.yaml:4:9`},
		},
		{
			name: "app errors are all reported",
			files: map[string]string{
				"clusters/dev.yaml": clusterFile,
				"apps/web/app.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/missing\n  targets:\n    clusters: [dev, prod]\n  drift: ignore\n  dependsOn: [web, db]\n",
			},
			want: []string{
				`apps/web/app.yaml:8:13: spec.source.kustomize.path: directory "apps/missing" does not exist in the repository`,
				`apps/web/app.yaml:10:21: spec.targets.clusters[1]: no Cluster named "prod" in the repository (known: dev)`,
				`apps/web/app.yaml:11:10: spec.drift: unknown drift policy "ignore"; expected correct (re-apply the repository's version) or alert (only report)`,
				`apps/web/app.yaml:12:15: spec.dependsOn[0]: an App cannot depend on itself`,
				`apps/web/app.yaml:12:20: spec.dependsOn[1]: no App named "db" in the repository (known: web)`,
			},
		},
		{
			name: "missing source and targets point at spec",
			files: map[string]string{
				"apps/web/app.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  namespace: Web\n",
			},
			want: []string{
				`apps/web/app.yaml:6:3: spec.source: an App needs a source: set spec.source.kustomize.path to a directory with a kustomization.yaml, or spec.source.helm.chart to a chart in the repository`,
				`apps/web/app.yaml:6:3: spec.targets: an App needs targets: list cluster names in spec.targets.clusters, set spec.targets.selector.matchLabels, or list business namespaces in spec.targets.namespaces`,
				`apps/web/app.yaml:6:14: spec.namespace: "Web" is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
			},
		},
		{
			name: "path escapes the repository",
			files: map[string]string{
				"clusters/dev.yaml": clusterFile,
				"apps/web/app.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: ../elsewhere\n  targets:\n    clusters: [dev]\n",
			},
			want: []string{`apps/web/app.yaml:8:13: spec.source.kustomize.path: path "../elsewhere" must be relative to the repository root and stay inside it`},
		},
		{
			name: "directory without kustomization",
			files: map[string]string{
				"clusters/dev.yaml":    clusterFile,
				"apps/web/app.yaml":    appFile,
				"apps/web/deploy.yaml": "kind: Deployment\n",
			},
			want: []string{`apps/web/app.yaml:8:13: spec.source.kustomize.path: directory "apps/web" has no kustomization.yaml`},
		},
		{
			name: "dependency cycle",
			files: map[string]string{
				"clusters/dev.yaml":           clusterFile,
				"apps/web/kustomization.yaml": kustomize,
				"apps/a.yaml":                 appFile + "  dependsOn: [b]\n",
				"apps/b.yaml":                 "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: b\nspec:\n  source:\n    kustomize:\n      path: apps/web\n  targets:\n    clusters: [dev]\n  dependsOn: [web]\n",
			},
			want: []string{
				`apps/a.yaml:11:15: spec.dependsOn[0]: dependency cycle: "b" depends, directly or through other Apps, on "web"`,
				`apps/b.yaml:11:15: spec.dependsOn[0]: dependency cycle: "web" depends, directly or through other Apps, on "b"`,
			},
		},
		{
			name: "version not supported by the fleet",
			files: map[string]string{
				"fleet.yaml":        fleetFile + "spec:\n  kubernetesVersions: [\"1.18.3\", \"v1.17\"]\n",
				"clusters/dev.yaml": clusterFile + "spec:\n  version: \"1.16.9\"\n",
			},
			want: []string{
				`clusters/dev.yaml:8:12: spec.version: version 1.16.9 is not in the Fleet's kubernetesVersions (1.18.3, v1.17)`,
				`fleet.yaml:6:34: spec.kubernetesVersions[1]: "v1.17" is not a Kubernetes version; write it as MAJOR.MINOR.PATCH, for example 1.18.3`,
			},
		},
		{
			name: "two fleets and a bad duration",
			files: map[string]string{
				"fleet.yaml":  fleetFile + "spec:\n  interval: often\n",
				"fleet2.yaml": fleetFile,
			},
			want: []string{
				`fleet.yaml:6:13: spec.interval: expected a duration such as 30s, 5m or 1h, found "often"`,
				`fleet2.yaml:1:1: kind: a repository has one Fleet; another is declared at fleet.yaml:1:1`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.Context(), repoFS(tc.files))
			var got []string
			for _, e := range AsErrorList(err) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDriftNotifyReferences(t *testing.T) {
	_, err := Load(t.Context(), repoFS(map[string]string{
		"fleet.yaml": fleetFile + "spec:\n  driftNotify:\n    receiverGroups: [oncall]\n    notify: [{channel: pager, template: short}]\n",
	}))
	var got []string
	for _, e := range AsErrorList(err) {
		got = append(got, e.Error())
	}
	want := []string{
		`fleet.yaml:7:22: spec.driftNotify.receiverGroups[0]: no ReceiverGroup named "oncall" in the repository`,
		`fleet.yaml:8:24: spec.driftNotify.notify[0].channel: no NotifyChannel named "pager" in the repository`,
		`fleet.yaml:8:41: spec.driftNotify.notify[0].template: no NotifyTemplate named "short" in the repository (channel "pager" has no NotifyTemplate yet)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// Every .yaml file that is not YAML is an error naming it, wherever it is, unless the
// repository's .gitfleetignore lists it; a fleet object with the wrong apiVersion is one
// error at the cause, not also a missing object everywhere it is referred to.
func TestLoadReportsGarbageAndMisversionedFiles(t *testing.T) {
	passed := yamlbound.NewPassed(100)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"binary file", map[string]string{"clusters/dev.yaml": clusterFile, "apps/logo.yaml": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"},
			[]string{"apps/logo.yaml:3: not a YAML file: binary content (a NUL byte at offset 8); remove it, or list it in .gitfleetignore if it must stay"}},
		{"not UTF-8", map[string]string{"clusters/dev.yaml": clusterFile, "notes.yaml": "a: b\nc: \xff\xfe\n"},
			[]string{"notes.yaml:2: not a YAML file: bytes that are not UTF-8 at offset 8; YAML files are UTF-8 text: re-save it as UTF-8, or list it in .gitfleetignore"}},
		{"garbage text", map[string]string{"clusters/dev.yaml": clusterFile, "apps/web/broken.yml": "key: [unclosed\n"},
			[]string{"apps/web/broken.yml:1:6: invalid YAML: while parsing a flow sequence: did not find expected ',' or ']' (gitfleet reads every .yaml file in the repository; list files that are not YAML in .gitfleetignore)"}},
		{"ignored by .gitfleetignore", map[string]string{"clusters/dev.yaml": clusterFile, "apps/logo.yaml": "\x00", ".gitfleetignore": "*.yaml\n!clusters/*.yaml\n"}, nil},
		{"wrong version of gitfleet's API", map[string]string{
			"clusters/dev.yaml": strings.Replace(clusterFile, "gitfleet.dev/v1alpha1", "gitfleet.dev/v1", 1),
			"apps/web/app.yaml": appFile, "apps/web/kustomization.yaml": kustomize,
		}, []string{`clusters/dev.yaml:1:1: apiVersion: unsupported apiVersion "gitfleet.dev/v1"; this gitfleet reads gitfleet.dev/v1alpha1`}},
		{"apiVersion without the domain", map[string]string{
			"clusters/dev.yaml": strings.Replace(clusterFile, "gitfleet.dev/v1alpha1", "gitfleet/v1alpha1", 1),
			"apps/web/app.yaml": appFile, "apps/web/kustomization.yaml": kustomize,
		}, []string{`clusters/dev.yaml:1:1: apiVersion: unsupported apiVersion "gitfleet/v1alpha1"; this gitfleet reads gitfleet.dev/v1alpha1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without a memory of checked files, and twice with one shared by every case
			// (as serve loads revision after revision): the same problems each time.
			for _, opts := range []LoadOptions{DefaultLoadOptions(), withPassed(passed), withPassed(passed)} {
				_, err := LoadWithOptions(t.Context(), repoFS(tc.files), opts)
				var got []string
				for _, e := range AsErrorList(err) {
					got = append(got, e.Error())
				}
				if err != nil && got == nil {
					t.Fatalf("Load: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func withPassed(p *yamlbound.Passed) LoadOptions {
	o := DefaultLoadOptions()
	o.Passed = p
	return o
}

// TestLoadBoundsFleetFiles: a fleet file over a YAML bound is one positioned problem,
// found before the YAML library builds it (a flat list of 600,000 items would take it
// gigabytes), naming the flag that raises the bound.
func TestLoadBoundsFleetFiles(t *testing.T) {
	for name, tc := range map[string]struct {
		data string
		flag string
	}{
		"flat list": {data: "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nx: [" + strings.Repeat("a,", 600_000) + "a]\n", flag: yamlbound.FlagMaxNodes},
		"deep":      {data: "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata: {name: f}\nx: " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n", flag: yamlbound.FlagMaxDepth},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(t.Context(), fstest.MapFS{"fleet.yaml": &fstest.MapFile{Data: []byte(tc.data)}})
			list := AsErrorList(err)
			if len(list) == 0 || list[0].File != "fleet.yaml" || !strings.Contains(list[0].Message, tc.flag) {
				t.Fatalf("Load: %v, want a problem in fleet.yaml naming %s", err, tc.flag)
			}
		})
	}
}
