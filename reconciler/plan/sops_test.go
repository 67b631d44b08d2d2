package plan

import (
	"testing"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/test/sopstest"
)

// sealSecrets replaces every plain Secret manifest of the fixtures with its
// sops-encrypted form for a new age key, and returns the Decryptor for that key.
func sealSecrets(t *testing.T, fixtures ...map[string]string) *render.Decryptor {
	t.Helper()
	id := sopstest.NewKey(t)
	sopstest.SealSecrets(t, id, fixtures...)
	d, err := render.NewDecryptor([]byte(id.String()))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
