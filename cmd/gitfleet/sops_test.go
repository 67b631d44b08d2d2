package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/test/sopstest"
)

// TestSopsKeyFlag runs validate and render over a repository with a sops-encrypted
// Secret: without --sops-age-key-file validate checks its structure and says so, with the
// key render decrypts it and prints its values masked, a key inside the repository is
// refused, and a plain Secret is refused at its line.
func TestSopsKeyFlag(t *testing.T) {
	repo := exampleRepo(t)
	id := sopstest.NewKey(t)
	const secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-token\nstringData:\n  token: s3cr3t-from-sops\n"
	files := map[string]string{
		"apps/vault/app.yaml":           "apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: vault\nspec:\n  source:\n    kustomize:\n      path: apps/vault\n  namespace: guestbook\n  targets:\n    clusters: [gz-dev]\n",
		"apps/vault/kustomization.yaml": "resources: [token.enc.yaml]\n",
		"apps/vault/token.enc.yaml":     string(sopstest.EncryptYAML(t, secret, id.Recipient().String(), sopstest.SecretFields)),
	}
	commit := func(files map[string]string) {
		t.Helper()
		if err := repo.Write(files); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.Commit(t.Name()); err != nil {
			t.Fatal(err)
		}
	}
	commit(files)
	keyFile := filepath.Join(t.TempDir(), "age.key")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := gitfleet(t, "validate", repo.Dir, "--sops-age-key-file", "")
	if code != 0 || !strings.Contains(stderr, "1 sops-encrypted file(s) checked for structure only (apps/vault/token.enc.yaml)") {
		t.Errorf("validate without a key: exit %d, %q %q; want it valid with a note naming the file", code, out, stderr)
	}
	code, out, stderr = gitfleet(t, "render", repo.Dir, "--cluster", "gz-dev", "--app", "vault", "--sops-age-key-file", keyFile)
	if code != 0 || !strings.Contains(out, "token: <masked>") || strings.Contains(out+stderr, "s3cr3t-from-sops") {
		t.Errorf("render with the key: exit %d, %q %q; want the Secret with its value masked, never printed", code, out, stderr)
	}
	inRepo := filepath.Join(repo.Dir, "age.key")
	if err := os.WriteFile(inRepo, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = gitfleet(t, "render", repo.Dir, "--sops-age-key-file", inRepo)
	if code == 0 || !strings.Contains(stderr, "is inside the repository") {
		t.Errorf("render with a key in the repository: exit %d, %q; want it refused", code, stderr)
	}
	if err := os.Remove(inRepo); err != nil {
		t.Fatal(err)
	}
	commit(map[string]string{"apps/vault/kustomization.yaml": "resources: [token.yaml]\n", "apps/vault/token.yaml": secret})
	code, out, _ = gitfleet(t, "validate", repo.Dir, "--sops-age-key-file", keyFile)
	if code != 1 || !strings.Contains(out, "apps/vault/token.yaml:6") || !strings.Contains(out, "a Secret with literal data in the fleet repo") || strings.Contains(out, "s3cr3t-from-sops") {
		t.Errorf("validate of a plain Secret: exit %d, %q; want it refused at its line, the value not echoed", code, out)
	}
}
