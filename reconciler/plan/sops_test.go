package plan

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"

	"gitfleet.dev/gitfleet/render"
)

// sealSecrets replaces every plain Secret manifest of the fixtures with its
// sops-encrypted form for a new age key, and returns the Decryptor for that key.
func sealSecrets(t *testing.T, fixtures ...map[string]string) *render.Decryptor {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range fixtures {
		for name, content := range files {
			if strings.Contains(content, "kind: Secret") && !strings.Contains(content, "sops:") {
				files[name] = encrypt(t, content, id.Recipient().String())
			}
		}
	}
	d, err := render.NewDecryptor([]byte(id.String()))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func encrypt(t *testing.T, plain, recipient string) string {
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
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{KeyGroups: []sops.KeyGroup{{mk}}, Version: "3.13.3", EncryptedRegex: "^(data|stringData)$"}}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := mk.Encrypt(key); err != nil {
		t.Fatal(err)
	}
	c := aes.NewCipher()
	mac, err := tree.Encrypt(key, c)
	if err != nil {
		t.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	if tree.Metadata.MessageAuthenticationCode, err = c.Encrypt(mac, key, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
