package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"gitfleet.dev/gitfleet/schema"
)

// SecretResolver reads the value a SecretRef points at: an SMTP password, a webhook URL
// that embeds a token, a header value. The repository only holds the reference.
type SecretResolver interface {
	Resolve(ctx context.Context, ref *schema.SecretRef) ([]byte, error)
}

// EnvFileResolver resolves env and file references itself and secret references through
// secrets, which reads one key of a Kubernetes Secret (the caller owns the client; an
// empty namespace means the namespace gitfleet runs in, which secrets decides). With
// secrets nil a secret reference is a *SecretError wrapping ErrNoSecretReader that names
// the Secret and key.
//
// An unset variable, a missing file and an empty value are errors: a notification sent
// with an empty password or token would only fail later, further from the cause.
func EnvFileResolver(secrets func(ctx context.Context, namespace, name, key string) ([]byte, error)) SecretResolver {
	return envFileResolver{secrets: secrets}
}

type envFileResolver struct {
	secrets func(ctx context.Context, namespace, name, key string) ([]byte, error)
}

var _ SecretResolver = envFileResolver{}

func (r envFileResolver) Resolve(ctx context.Context, ref *schema.SecretRef) ([]byte, error) {
	var (
		v   []byte
		err error
	)
	switch {
	case ref == nil:
		return nil, errors.New("no secret reference given")
	case ref.Env != "":
		s, ok := os.LookupEnv(ref.Env)
		if !ok {
			err = errors.New("the environment variable is not set")
		}
		v = []byte(s)
	case ref.File != "":
		v, err = os.ReadFile(ref.File)
	case ref.Secret != nil:
		if r.secrets == nil {
			err = ErrNoSecretReader
		} else {
			v, err = r.secrets(ctx, ref.Secret.Namespace, ref.Secret.Name, ref.Secret.Key)
		}
	default:
		return nil, errors.New("empty secret reference: set env, secret or file")
	}
	if err == nil && len(v) == 0 {
		err = errors.New("the value is empty")
	}
	if err != nil {
		return nil, &SecretError{Ref: describeRef(ref), Err: err}
	}
	return v, nil
}

// describeRef names what a reference points at, for errors and logs; never the value.
func describeRef(ref *schema.SecretRef) string {
	switch {
	case ref == nil:
		return "no reference"
	case ref.Env != "":
		return fmt.Sprintf("env %q", ref.Env)
	case ref.File != "":
		return fmt.Sprintf("file %q", ref.File)
	case ref.Secret != nil:
		name := ref.Secret.Name
		if ref.Secret.Namespace != "" {
			name = ref.Secret.Namespace + "/" + name
		}
		return fmt.Sprintf("Kubernetes Secret %q key %q", name, ref.Secret.Key)
	}
	return "an empty reference"
}

// secretString resolves a reference used as text (password, URL, header value). A
// trailing line break is dropped: files written with echo, and Secrets created from them,
// end with one, and it is never part of a password or URL. field names the place in the
// NotifyChannel, so that the error leads to the file.
func (n *Notifier) secretString(ctx context.Context, ref *schema.SecretRef, field string) (string, error) {
	v, err := n.secrets.Resolve(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return strings.TrimRight(string(v), "\r\n"), nil
}
