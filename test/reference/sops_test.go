package reference

import (
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/yaml"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/test/sopstest"
)

// sealGeneratorSources returns fsys with every file a secretGenerator reads encrypted
// with sops for a new age key, and the key's Decryptor: gitfleet refuses plain secrets in
// a fleet repository, so it renders the encrypted copy as a platform team would commit
// it, while the reference tools read the plain files. Equal outputs then also show the
// in-memory decryption gives kustomize the exact bytes.
func sealGeneratorSources(t *testing.T, fsys fstest.MapFS) (fstest.MapFS, *render.Decryptor) {
	t.Helper()
	id := sopstest.NewKey(t)
	sealed := fstest.MapFS{}
	for name, f := range fsys {
		sealed[name] = f
	}
	for name, f := range fsys {
		if base := path.Base(name); base != "kustomization.yaml" && base != "kustomization.yml" && base != "Kustomization" {
			continue
		}
		var k struct {
			SecretGenerator []struct {
				Files []string `json:"files"`
				Envs  []string `json:"envs"`
				Env   string   `json:"env"`
			} `json:"secretGenerator"`
		}
		if err := yaml.Unmarshal(f.Data, &k); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, g := range k.SecretGenerator {
			srcs := append(append([]string{}, g.Envs...), g.Files...)
			if g.Env != "" {
				srcs = append(srcs, g.Env)
			}
			for _, src := range srcs {
				if _, file, ok := strings.Cut(src, "="); ok {
					src = file
				}
				p := path.Join(path.Dir(name), src)
				plain, ok := fsys[p]
				if !ok {
					continue // the case's own error, for both sides
				}
				sealed[p] = &fstest.MapFile{Data: sopstest.EncryptFile(t, p, string(plain.Data), id.Recipient().String()), Mode: plain.Mode}
			}
		}
	}
	d, err := render.NewDecryptor([]byte(id.String()))
	if err != nil {
		t.Fatal(err)
	}
	return sealed, d
}
