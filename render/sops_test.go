package render

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/schema"
)

const dbSecret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"

// encryptYAML encrypts a YAML file for an age recipient the way sops encrypt does: a
// random data key sealed for the recipient, every value encrypted with AES-GCM, and the
// MAC over the values.
func encryptYAML(t *testing.T, plain string, recipient string, encryptedRegex string) []byte {
	t.Helper()
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	md := sops.Metadata{KeyGroups: []sops.KeyGroup{{mk}}, Version: "3.13.3", EncryptedRegex: encryptedRegex}
	if encryptedRegex == "" {
		md.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	tree := sops.Tree{Branches: branches, Metadata: md}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		t.Fatal(err)
	}
	if err := mk.Encrypt(dataKey); err != nil {
		t.Fatal(err)
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newIdentity(t *testing.T) (*age.X25519Identity, *Decryptor) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
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
	enc := encryptYAML(t, dbSecret, id.Recipient().String(), "")
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

func TestSopsWithoutKey(t *testing.T) {
	id, _ := newIdentity(t)
	_, build := sopsRepo(t, map[string]string{
		"apps/web/kustomization.yaml": "resources: [db.enc.yaml]\n",
		"apps/web/db.enc.yaml":        string(encryptYAML(t, dbSecret, id.Recipient().String(), "")),
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
	partial := string(encryptYAML(t, dbSecret, rec, "^(data|stringData)$"))
	for _, tc := range []struct {
		name, file string
		key        *Decryptor
		want       string
	}{
		{"tampered", strings.Replace(partial, "name: db", "name: dbx", 1), d, "MAC mismatch"},
		{"wrong key", string(encryptYAML(t, dbSecret, other.Recipient().String(), "")), d, "no age identity"},
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
		"apps/web/values.yaml": "replicas: 1\ndb:\n  existingSecret: db\n  password: hunter2\n",
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
	for _, want := range []string{"apps/web/values.yaml:4: db.password: a Helm value named like a credential", "spec.source.helm.values.auth.apiKey: a Helm value named like a credential"} {
		if !strings.Contains(got, want) {
			t.Errorf("render: %v, want %q", res.Err, want)
		}
	}
	if strings.Contains(got, "existingSecret") {
		t.Errorf("existingSecret names a Secret and is no credential: %v", got)
	}
}
