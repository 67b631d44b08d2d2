package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/sopstest"
)

const dbSecret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"

func newIdentity(t *testing.T) (*age.X25519Identity, *Decryptor) {
	t.Helper()
	id := sopstest.NewKey(t)
	d, err := NewDecryptor([]byte("# test key\n" + id.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return id, d
}

const sopsApp = "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  namespace: web\n  source:\n    kustomize:\n      path: apps/web\n  targets:\n    clusters: [dev]\n"

func sopsRepo(t *testing.T, files map[string]string) (map[string]string, func(*Decryptor) (*Renderer, *schema.Repo, error)) {
	t.Helper()
	all := map[string]string{"clusters/dev.yaml": cluster, "apps/web/app.yaml": sopsApp}
	for k, v := range files {
		all[k] = v
	}
	return all, func(d *Decryptor) (*Renderer, *schema.Repo, error) {
		fsys, repo := load(t, all)
		r, err := NewWithOptions(t.Context(), fsys, repo, Options{Decrypt: d})
		return r, repo, err
	}
}

func renderWeb(t *testing.T, r *Renderer, repo *schema.Repo) AppResult {
	t.Helper()
	for _, a := range r.Cluster(t.Context(), repo.Cluster("dev")).Apps {
		if a.App.Metadata.Name == "web" {
			return a
		}
	}
	t.Fatal("no result for app web")
	return AppResult{}
}

func TestSopsSecretIsDecryptedInMemoryAndMasked(t *testing.T) {
	id, d := newIdentity(t)
	enc := sopstest.EncryptYAML(t, dbSecret, id.Recipient().String(), "")
	_, build := sopsRepo(t, map[string]string{
		"apps/web/kustomization.yaml": "resources: [db.enc.yaml]\n",
		"apps/web/db.enc.yaml":        string(enc),
	})
	r, repo, err := build(d)
	if err != nil {
		t.Fatal(err)
	}
	res := renderWeb(t, r, repo)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var secret *unstructured.Unstructured
	for _, o := range res.Objects {
		if o.GetKind() == "Secret" {
			secret = o
		}
	}
	if secret == nil {
		t.Fatalf("no Secret rendered: %v", res.Objects)
	}
	if got, _, _ := unstructured.NestedString(secret.Object, "stringData", "password"); got != "hunter2" {
		t.Errorf("stringData.password = %q, want the decrypted hunter2", got)
	}
	if _, ok := secret.Object["sops"]; ok {
		t.Error("the sops metadata reached the rendered Secret")
	}
	var out bytes.Buffer
	if err := WriteYAML(&out, ClusterResult{Cluster: "dev", Apps: []AppResult{res}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") || !strings.Contains(out.String(), "password: "+Masked) {
		t.Errorf("render output does not mask the Secret:\n%s", out.String())
	}
}

// The files a secretGenerator reads are committed encrypted in the formats sops picks by
// name (binary for a password file, dotenv for an env file) and reach kustomize as the
// exact plain bytes.
func TestSopsSecretGeneratorSources(t *testing.T) {
	id, d := newIdentity(t)
	rec := id.Recipient().String()
	_, build := sopsRepo(t, map[string]string{
		"apps/web/kustomization.yaml": "secretGenerator:\n- name: db\n  files: [password=pw.txt]\n  envs: [api.env]\n",
		"apps/web/pw.txt":             string(sopstest.EncryptFile(t, "pw.txt", "hunter2\n", rec)),
		"apps/web/api.env":            string(sopstest.EncryptFile(t, "api.env", "token=abc\n", rec)),
	})
	r, repo, err := build(d)
	if err != nil {
		t.Fatal(err)
	}
	res := renderWeb(t, r, repo)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Objects) != 1 || res.Objects[0].GetKind() != "Secret" {
		t.Fatalf("objects %v, want the generated Secret", res.Objects)
	}
	data, _, _ := unstructured.NestedStringMap(res.Objects[0].Object, "data")
	want := map[string]string{"password": base64.StdEncoding.EncodeToString([]byte("hunter2\n")), "token": base64.StdEncoding.EncodeToString([]byte("abc"))}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("Secret data (-want +got):\n%s", diff)
	}
}

func TestSopsWithoutKey(t *testing.T) {
	id, _ := newIdentity(t)
	_, build := sopsRepo(t, map[string]string{
		"apps/web/kustomization.yaml": "resources: [db.enc.yaml]\n",
		"apps/web/db.enc.yaml":        string(sopstest.EncryptYAML(t, dbSecret, id.Recipient().String(), "")),
	})
	r, repo, err := build(nil)
	if err != nil {
		t.Fatalf("the structure of a well-formed file should pass without a key: %v", err)
	}
	res := renderWeb(t, r, repo)
	var nk *NeedsKeyError
	if !errors.As(res.Err, &nk) || !strings.Contains(res.Err.Error(), "apps/web/db.enc.yaml") || !strings.Contains(res.Err.Error(), "--sops-age-key-file") {
		t.Fatalf("render without a key: %v, want a NeedsKeyError naming the file and the flag", res.Err)
	}
	if len(res.Objects) != 0 {
		t.Errorf("objects rendered without a key: %v", res.Objects)
	}
	if list := r.Check(t.Context()); len(list) != 0 {
		t.Errorf("validate without a key should check structure only, got %v", list)
	}
	if got := r.SealedFiles(); len(got) != 1 || got[0] != "apps/web/db.enc.yaml" {
		t.Errorf("SealedFiles = %v", got)
	}
}

func TestSopsRefusesBadFiles(t *testing.T) {
	id, d := newIdentity(t)
	other, _ := newIdentity(t)
	rec := id.Recipient().String()
	// With only data encrypted, metadata.name is plain text under the MAC: editing it is
	// the tampering a MAC catches.
	partial := string(sopstest.EncryptYAML(t, dbSecret, rec, sopstest.SecretFields))
	for _, tc := range []struct {
		name, file string
		key        *Decryptor
		want       string
	}{
		{"tampered", strings.Replace(partial, "name: db", "name: dbx", 1), d, "MAC mismatch"},
		{"wrong key", string(sopstest.EncryptYAML(t, dbSecret, other.Recipient().String(), "")), d, "no age identity"},
		{"plain value without key", strings.Replace(partial, "password: ENC[", "password: hunter2\n    other: ENC[", 1), nil, "stringData.password: the value is not encrypted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, build := sopsRepo(t, map[string]string{
				"apps/web/kustomization.yaml": "resources: [db.enc.yaml]\n",
				"apps/web/db.enc.yaml":        tc.file,
			})
			_, _, err := build(tc.key)
			var se *SopsError
			if !errors.As(err, &se) || se.File != "apps/web/db.enc.yaml" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a SopsError for apps/web/db.enc.yaml saying %q", err, tc.want)
			}
		})
	}
}

func TestPlaintextRefused(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: \"2\"\n  password: hunter2\n"
	allowApp := strings.Replace(sopsApp, "  targets:", "  plaintextAllowed:\n  - configMap: settings\n    key: password\n    reason: a placeholder the app replaces at start\n  targets:", 1)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // "" when the App renders
	}{
		{"Secret with data", map[string]string{"apps/web/kustomization.yaml": "resources: [db.yaml]\n", "apps/web/db.yaml": dbSecret},
			"apps/web/db.yaml:6: stringData.password: a Secret with literal data"},
		{"secretGenerator literal", map[string]string{"apps/web/kustomization.yaml": "secretGenerator:\n- name: db\n  literals:\n  - password=hunter2\n"},
			"apps/web/kustomization.yaml:4: secretGenerator[0].literals[0]: a secretGenerator literal"},
		{"secretGenerator plain env file", map[string]string{"apps/web/kustomization.yaml": "secretGenerator:\n- name: db\n  envs: [db.env]\n", "apps/web/db.env": "password=hunter2\n"},
			"apps/web/kustomization.yaml:3: secretGenerator[0].envs[0]: secretGenerator reads db.env"},
		{"ConfigMap password", map[string]string{"apps/web/kustomization.yaml": "resources: [cm.yaml]\n", "apps/web/cm.yaml": cm},
			"apps/web/cm.yaml:7: data.password: ConfigMap settings holds what looks like a credential"},
		{"ConfigMap private key", map[string]string{"apps/web/kustomization.yaml": "resources: [cm.yaml]\n", "apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tls\ndata:\n  tls.pem: |\n    -----BEGIN RSA PRIVATE KEY-----\n    MIIB\n"},
			"apps/web/cm.yaml:6: data[\"tls.pem\"]"},
		{"ConfigMap allowed", map[string]string{"apps/web/app.yaml": allowApp, "apps/web/kustomization.yaml": "resources: [cm.yaml]\n", "apps/web/cm.yaml": cm}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, build := sopsRepo(t, tc.files)
			r, repo, err := build(nil)
			if err != nil {
				t.Fatal(err)
			}
			res := renderWeb(t, r, repo)
			if tc.want == "" {
				if res.Err != nil {
					t.Fatalf("allowed value refused: %v", res.Err)
				}
				return
			}
			list := schema.AsErrorList(res.Err)
			want := strings.Replace(tc.want, "data[\"tls.pem\"]", "data.tls.pem", 1)
			if len(list) == 0 || !strings.Contains(list.Error(), want) {
				t.Fatalf("render: %v, want a problem %q", res.Err, want)
			}
			if checked := r.Check(t.Context()); !strings.Contains(checked.Error(), want) {
				t.Errorf("validate: %v, want %q", checked, want)
			}
		})
	}
}

func TestHelmValuePasswordRefused(t *testing.T) {
	files := map[string]string{"clusters/dev.yaml": cluster,
		"apps/web/app.yaml":    "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  source:\n    helm:\n      chart: charts/web\n      valuesFiles: [apps/web/values.yaml]\n      values:\n        auth:\n          apiKey: abc123\n  targets:\n    clusters: [dev]\n",
		"apps/web/values.yaml": "replicas: 1\ndb:\n  existingSecret: db\n  passwordSecret: db\n  password: hunter2\noauth:\n  clientSecret: s3cr3t\n",
	}
	for k, v := range testChart {
		if strings.HasPrefix(k, "charts/") {
			files[k] = v
		}
	}
	fsys, repo := load(t, files)
	r, err := New(t.Context(), fsys, repo)
	if err != nil {
		t.Fatal(err)
	}
	res := renderWeb(t, r, repo)
	got := schema.AsErrorList(res.Err).Error()
	for _, want := range []string{"apps/web/values.yaml:5: db.password: a Helm value named like a credential", "spec.source.helm.values.auth.apiKey: a Helm value named like a credential", "apps/web/values.yaml:7: oauth.clientSecret: a Helm value named like a credential"} {
		if !strings.Contains(got, want) {
			t.Errorf("render: %v, want %q", res.Err, want)
		}
	}
	if strings.Contains(got, "existingSecret") || strings.Contains(got, "passwordSecret") {
		t.Errorf("existingSecret and passwordSecret name a Secret and are no credential: %v", got)
	}
}
