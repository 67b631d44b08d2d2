package chartserver

import (
	"context"
	"fmt"
	"os"

	"gitfleet.dev/gitfleet/schema"
)

// EnvSecrets resolves {env: VAR} references from the environment, as gitfleet's resolver
// does for variables: tests set the credentials of their servers with t.Setenv.
type EnvSecrets struct{}

func (EnvSecrets) Resolve(_ context.Context, ref *schema.SecretRef) ([]byte, error) {
	v, ok := os.LookupEnv(ref.Env)
	if ref.Env == "" || !ok {
		return nil, fmt.Errorf("variable %q is not set", ref.Env)
	}
	return []byte(v), nil
}
