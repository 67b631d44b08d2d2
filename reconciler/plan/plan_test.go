package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// base is a small fleet: one cluster, one kustomize App with a ConfigMap and a Secret.
func baseFleet() map[string]string {
	return map[string]string{
		"fleet.yaml":                  "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: unit\nspec:\n  prune: true\n",
		"clusters/alpha.yaml":         cluster("alpha", "1.18.3"),
		"apps/web/app.yaml":           "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    kustomize:\n      path: apps/web\n  targets:\n    selector:\n      matchLabels: {env: prod}\n",
		"apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm.yaml\n- secret.yaml\n",
		"apps/web/cm.yaml":            configMap("web", "a: \"1\"\n  b: x"),
		"apps/web/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: web\nstringData:\n  password: hunter2\n",
	}
}

func cluster(name, version string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: " + name + "\n  labels: {env: prod}\nspec:\n  type: Imported\n  version: \"" + version + "\"\n"
}

func configMap(name, data string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: web\ndata:\n  " + data + "\n"
}

// with returns a copy of files with changes applied; an empty value removes a file.
func with(files map[string]string, changes map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fsys
}

func run(t *testing.T, base, head map[string]string, opts Options) *Report {
	t.Helper()
	// Secrets live in the fleet repo only sops-encrypted: the fixtures' plain Secrets are
	// encrypted here with a test key, which the renders get.
	opts.Render.Decrypt = sealSecrets(t, base, head)
	r, err := Plan(t.Context(), Side{Ref: "base", Commit: "b", FS: mapFS(base)}, Side{Ref: "head", Commit: "h", FS: mapFS(head)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// allFormats writes the report three ways.
func allFormats(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&b, r, DefaultMarkdownOptions()); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestChangedFieldsAndMaskedSecrets(t *testing.T) {
	head := with(baseFleet(), map[string]string{
		"apps/web/cm.yaml":     configMap("web", "a: \"2\"\n  b: x\n  c: new"),
		"apps/web/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: web\nstringData:\n  password: correct-horse\n  user: admin\n",
	})
	r := run(t, baseFleet(), head, DefaultOptions())
	want := []ObjectChange{
		{App: "web", APIVersion: "v1", Kind: "ConfigMap", Namespace: "web", Name: "web", Fields: []FieldChange{
			{Path: "data.a", Old: `"1"`, New: `"2"`},
			{Path: "data.c", New: `"new"`},
		}},
		{App: "web", APIVersion: "v1", Kind: "Secret", Namespace: "web", Name: "creds", Fields: []FieldChange{
			{Path: "stringData.password", Old: masked, New: masked},
			{Path: "stringData.user", New: masked},
		}},
	}
	if diff := cmp.Diff(want, r.Clusters[0].Change); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if len(r.Clusters[0].Create)+len(r.Clusters[0].Prune) != 0 || r.ExitCode() != 0 {
		t.Errorf("create %v prune %v exit %d; want none and 0", r.Clusters[0].Create, r.Clusters[0].Prune, r.ExitCode())
	}
	out := allFormats(t, r)
	for _, secret := range []string{"hunter2", "correct-horse", "admin"} {
		if strings.Contains(out, secret) {
			t.Errorf("a report shows the secret value %q:\n%s", secret, out)
		}
	}
}

func TestPruneFollowsPruneSettings(t *testing.T) {
	removeSecret := map[string]string{"apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm.yaml\n"}
	secret := ObjectChange{App: "web", APIVersion: "v1", Kind: "Secret", Namespace: "web", Name: "creds"}

	r := run(t, baseFleet(), with(baseFleet(), removeSecret), DefaultOptions())
	if diff := cmp.Diff([]ObjectChange{secret}, r.Clusters[0].Prune); diff != "" {
		t.Errorf("prune with prune: true (-want +got):\n%s", diff)
	}

	noPrune := with(baseFleet(), removeSecret)
	noPrune["apps/web/app.yaml"] += "  prune: false\n"
	r = run(t, baseFleet(), noPrune, DefaultOptions())
	kept := secret
	kept.Reason = "app web has prune: false"
	if len(r.Clusters[0].Prune) != 0 || !cmp.Equal([]ObjectChange{kept}, r.Clusters[0].Kept) {
		t.Errorf("with prune: false: prune %v, kept %v; want only kept %v", r.Clusters[0].Prune, r.Clusters[0].Kept, kept)
	}

	// An App removed from the repository is pruned as the Fleet says.
	noFleetPrune := with(baseFleet(), map[string]string{
		"fleet.yaml":        "apiVersion: gitfleet.dev/v1alpha1\nkind: Fleet\nmetadata:\n  name: unit\nspec:\n  prune: false\n",
		"apps/web/app.yaml": "", "apps/web/kustomization.yaml": "", "apps/web/cm.yaml": "", "apps/web/secret.yaml": "",
	})
	r = run(t, baseFleet(), noFleetPrune, DefaultOptions())
	if len(r.Clusters[0].Prune) != 0 || len(r.Clusters[0].Kept) != 2 || r.Clusters[0].Kept[0].Reason != "app web no longer targets the cluster and the Fleet has prune: false" {
		t.Errorf("app removed with Fleet prune: false: prune %v, kept %v", r.Clusters[0].Prune, r.Clusters[0].Kept)
	}
}

func TestClusterAddedAndRemoved(t *testing.T) {
	head := with(baseFleet(), map[string]string{"clusters/alpha.yaml": "", "clusters/beta.yaml": cluster("beta", "1.18.3")})
	r := run(t, baseFleet(), head, DefaultOptions())
	got := map[string]string{}
	for _, c := range r.Clusters {
		got[c.Name] = string(c.State) + " " + counts(c)
	}
	want := map[string]string{
		"alpha": "removed 0 to create, 0 to change, 2 to prune",
		"beta":  "added 2 to create, 0 to change, 0 to prune",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	// A removed cluster is cleaned without the prune guard, as apply does.
	if len(r.Violations) != 0 {
		t.Errorf("violations: %v", r.Violations)
	}
}

func TestPruneGuard(t *testing.T) {
	var resources []string
	files := baseFleet()
	for i := range 12 {
		name := "cm-" + string(rune('a'+i))
		files["apps/web/"+name+".yaml"] = configMap(name, "v: x")
		resources = append(resources, name+".yaml")
	}
	files["apps/web/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + strings.Join(resources, "\n- ") + "\n"
	head := with(files, map[string]string{"apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- cm-a.yaml\n"})
	r := run(t, files, head, DefaultOptions())
	want := []Violation{{
		Kind: KindPruneGuard, File: "clusters/alpha.yaml", Line: 4, Column: 9, Field: "metadata.name", Cluster: "alpha",
		Message: "this change prunes 11 of the 12 objects gitfleet manages on cluster alpha, more than 50%: apply refuses it unless run with --allow-mass-prune; check that nothing was removed by mistake",
	}}
	if diff := cmp.Diff(want, r.Violations); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	if r.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", r.ExitCode())
	}
}

func TestViolationKinds(t *testing.T) {
	base := with(baseFleet(), map[string]string{
		"businesses/shop.yaml":                   "apiVersion: gitfleet.dev/v1alpha1\nkind: Business\nmetadata:\n  name: shop\nspec:\n  displayName: Shop\n  quota:\n    alpha: {cpu: \"4\"}\n",
		"businesses/shop/namespaces/shop-a.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: shop-a\nspec:\n  business: shop\n  cluster: alpha\n  quota: {cpu: \"2\"}\n",
	})
	head := with(base, map[string]string{
		// One minor version skipped.
		"clusters/alpha.yaml": cluster("alpha", "1.20.1"),
		// Past the business's quota.
		"businesses/shop/namespaces/shop-a.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: shop-a\nspec:\n  business: shop\n  cluster: alpha\n  quota: {cpu: \"6\"}\n",
		// A business App into another business's namespace, rendering a cluster-scoped kind.
		"businesses/games.yaml":                    "apiVersion: gitfleet.dev/v1alpha1\nkind: Business\nmetadata:\n  name: games\nspec:\n  displayName: Games\n  quota:\n    alpha: {cpu: \"4\"}\n",
		"businesses/games/namespaces/games-a.yaml": "apiVersion: gitfleet.dev/v1alpha1\nkind: Namespace\nmetadata:\n  name: games-a\nspec:\n  business: games\n  cluster: alpha\n",
		"apps/shop/app.yaml":                       "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: shop\nspec:\n  business: shop\n  source:\n    kustomize:\n      path: apps/shop\n  targets:\n    namespaces: [shop-a, games-a]\n",
		"apps/shop/kustomization.yaml":             "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- role.yaml\n",
		"apps/shop/role.yaml":                      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: shop\nrules: []\n",
		// A vGPU request on a cluster without GPU-Manager.
		"apps/web/cm.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        resources:\n          limits: {tencent.com/vcuda-core: \"50\"}\n",
	})
	r := run(t, base, head, DefaultOptions())
	type brief struct {
		Kind    ViolationKind
		At      string
		Cluster string
		Quota   *QuotaOverrun
	}
	var got []brief
	for _, v := range r.Violations {
		got = append(got, brief{v.Kind, v.Position() + " " + v.Field, v.Cluster, v.Quota})
	}
	want := []brief{
		{KindTenancy, "apps/shop/app.yaml:8:5 spec.source", "alpha", nil},
		{KindTenancy, "apps/shop/app.yaml:11:26 spec.targets.namespaces[1]", "", nil},
		{KindGPUAddon, "apps/web/app.yaml:7:5 spec.source", "alpha", nil},
		{KindQuota, "businesses/shop.yaml:8:18 spec.quota.alpha.cpu", "alpha", &QuotaOverrun{Cluster: "alpha", Resource: "cpu", Asked: "6", Available: "4"}},
		{KindUpgrade, "clusters/alpha.yaml:8:12 spec.version", "", nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s\n%v", diff, r.Violations)
	}
}

func TestDiffFieldsMatchesNamedListElements(t *testing.T) {
	old := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "web", "image": "nginx:1"},
		map[string]any{"name": "log", "image": "fluentd"},
	}, "labels": map[string]any{"app.kubernetes.io/name": "web"}}}
	new := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "init", "image": "busybox"},
		map[string]any{"name": "web", "image": "nginx:2"},
		map[string]any{"name": "log", "image": "fluentd"},
	}, "labels": map[string]any{"app.kubernetes.io/name": "web2"}}}
	want := []FieldChange{
		{Path: "spec.containers[name=init]", New: `{"image":"busybox","name":"init"}`},
		{Path: "spec.containers[name=web].image", Old: `"nginx:1"`, New: `"nginx:2"`},
		{Path: `spec.labels["app.kubernetes.io/name"]`, Old: `"web"`, New: `"web2"`},
	}
	if diff := cmp.Diff(want, diffFields("Deployment", old, new)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMarkdownIsCutToSize(t *testing.T) {
	r := &Report{Base: Revision{Ref: "main"}, Head: Revision{Ref: "pr"}}
	for i := range 200 {
		cp := ClusterPlan{Name: "cluster-" + strings.Repeat("x", 3) + string(rune('a'+i%26)) + string(rune('a'+i/26)), State: ClusterChanged}
		for j := range 20 {
			cp.Create = append(cp.Create, ObjectChange{App: "web", APIVersion: "v1", Kind: "ConfigMap", Namespace: "web", Name: "cm-" + string(rune('a'+j))})
		}
		r.Clusters = append(r.Clusters, cp)
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, MarkdownOptions{MaxBytes: 20000}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > 20000 {
		t.Errorf("markdown is %d bytes, more than the 20000 asked for", len(out))
	}
	if !strings.Contains(out, "Cut to fit a comment of 20000 characters: the details of") || strings.Count(out, "<details>") == 0 {
		t.Errorf("markdown does not say what was cut, or shows no details:\n%s", out[len(out)-500:])
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
		t.Error("a details section was cut in the middle")
	}
}

func TestMultiLineValuesAreDiffedByLine(t *testing.T) {
	conf := func(port string) string {
		return "server {\n  listen " + port + ";\n  root /srv;\n  index index.html;\n  gzip on;\n  access_log off;\n  error_log stderr;\n}\n"
	}
	head := with(baseFleet(), map[string]string{"apps/web/cm.yaml": configMap("web", "a: \"1\"\n  b: x\n  nginx.conf: "+strconvQuote(conf("8080")))})
	base := with(baseFleet(), map[string]string{"apps/web/cm.yaml": configMap("web", "a: \"1\"\n  b: x\n  nginx.conf: "+strconvQuote(conf("80")))})
	r := run(t, base, head, DefaultOptions())
	var b bytes.Buffer
	if err := WriteText(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `  ~ ConfigMap/web/web (app web)
      data["nginx.conf"]:
          server {
  -         listen 80;
  +         listen 8080;
            root /srv;
            index index.html;
`
	if got := b.String(); !strings.Contains(got, want) {
		t.Errorf("text report:\n%s\nwant the changed line with two lines of context around it:\n%s", got, want)
	}
}

func strconvQuote(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

func TestTextIsColouredOnlyWhenAsked(t *testing.T) {
	r := run(t, baseFleet(), with(baseFleet(), map[string]string{"apps/web/cm.yaml": configMap("web", "a: \"2\"\n  b: x")}), DefaultOptions())
	var plain, colour bytes.Buffer
	if err := WriteText(&plain, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&colour, r, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain text has escape codes: %q", plain.String())
	}
	if !strings.Contains(colour.String(), ansiYellow+"~ ConfigMap/web/web (app web)"+ansiReset) {
		t.Errorf("coloured text does not mark the change yellow: %q", colour.String())
	}
}

// TestBrokenHeadIsPlanned: a head revision that does not validate is still planned (a
// reviewer sees what it would do), its App that cannot be rendered is neither changed nor
// pruned, and every problem is a violation at its file.
func TestBrokenHeadIsPlanned(t *testing.T) {
	head := with(baseFleet(), map[string]string{
		"clusters/alpha.yaml":         cluster("alpha", "1.18.3") + "  tpye: Imported\n",
		"apps/web/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- missing.yaml\n",
	})
	r := run(t, baseFleet(), head, DefaultOptions())
	cp := r.Clusters[0]
	if len(cp.Create)+len(cp.Change)+len(cp.Prune)+len(cp.Kept) != 0 {
		t.Errorf("an App that cannot be rendered is planned: %+v", cp)
	}
	var got []string
	for _, v := range r.Violations {
		got = append(got, fmt.Sprintf("%s %s %s", v.Kind, v.Position(), v.Field))
	}
	want := []string{
		"render apps/web/app.yaml:7:5 spec.source",
		"validation clusters/alpha.yaml:9:3 spec.tpye",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s\n%+v", diff, r.Violations)
	}
	if r.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", r.ExitCode())
	}
}
