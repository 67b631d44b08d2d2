// Package plan tests `gitfleet plan` over real commits of a scratch fleet repository, and
// its --live comparison against real API servers from the harness.
package plan

import (
	"fmt"
	"os"
	"testing"

	"filippo.io/age"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/test/harness"
)

// env is shared by the live tests; each uses its own Fleet name and namespaces.
var env *harness.Env

// The fixtures' Secrets are committed sops-encrypted for sealKey, as gitfleet requires of
// a fleet repository; every render here decrypts them with decryptor.
var (
	sealKey   *age.X25519Identity
	decryptor *render.Decryptor
)

func TestMain(m *testing.M) {
	var err error
	if sealKey, err = age.GenerateX25519Identity(); err == nil {
		decryptor, err = render.NewDecryptor([]byte(sealKey.String()))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "test age key:", err)
		os.Exit(1)
	}
	os.Exit(harness.RunMain(m, harness.Options{Clusters: []string{"alpha", "beta"}}, &env))
}
