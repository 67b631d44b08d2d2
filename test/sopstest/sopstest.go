// Package sopstest encrypts test fixtures the way `sops encrypt` does, with the sops
// library itself and a real age key, so that tests read files a platform team would
// commit. It never writes a key anywhere but where the test says.
package sopstest

import (
	"crypto/rand"
	"path"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/stores/dotenv"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

// SecretFields is the encrypted_regex platform teams use for Kubernetes Secrets: only
// the values stay secret, so a reviewer still reads kind and name.
const SecretFields = "^(data|stringData)$"

// NewKey returns a fresh age identity.
func NewKey(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// EncryptYAML encrypts a YAML file for an age recipient: a random data key sealed for
// the recipient, the values matching encryptedRegex (every value but those with the
// _unencrypted suffix when it is empty) encrypted with AES-GCM, and the MAC over them.
func EncryptYAML(t testing.TB, plain, recipient, encryptedRegex string) []byte {
	t.Helper()
	return encrypt(t, sopsyaml.NewStore(&config.YAMLStoreConfig{}), plain, recipient, encryptedRegex)
}

// EncryptFile encrypts any file as `sops encrypt` picks its format by name: YAML, JSON,
// dotenv (.env), and sops's binary format for everything else (a secretGenerator's
// password file).
func EncryptFile(t testing.TB, name, plain, recipient string) []byte {
	t.Helper()
	var store sopsStore
	base := path.Base(name)
	switch ext := path.Ext(name); {
	case ext == ".yaml" || ext == ".yml":
		store = sopsyaml.NewStore(&config.YAMLStoreConfig{})
	case ext == ".json":
		store = sopsjson.NewStore(&config.JSONStoreConfig{})
	case ext == ".env" || base == ".env":
		store = dotenv.NewStore(&config.DotenvStoreConfig{})
	default:
		store = sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{})
	}
	return encrypt(t, store, plain, recipient, "")
}

type sopsStore interface {
	LoadPlainFile([]byte) (sops.TreeBranches, error)
	EmitEncryptedFile(sops.Tree) ([]byte, error)
}

func encrypt(t testing.TB, store sopsStore, plain, recipient, encryptedRegex string) []byte {
	t.Helper()
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

// SealSecrets replaces, in each set of fixtures (path -> content), every plain Secret
// manifest with its sops-encrypted form for id, as a team moving to sops would.
func SealSecrets(t testing.TB, id *age.X25519Identity, fixtures ...map[string]string) {
	t.Helper()
	for _, files := range fixtures {
		for name, content := range files {
			if strings.Contains(content, "kind: Secret") && !strings.Contains(content, "sops:") {
				files[name] = string(EncryptYAML(t, content, id.Recipient().String(), SecretFields))
			}
		}
	}
}
