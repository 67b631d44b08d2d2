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

// EnvFileOptions configure EnvFileResolver. The repository names the references; these
// say what of the machine and the cluster it may reach, since its authors are not the
// operator (see schema.SecretPolicy).
type EnvFileOptions struct {
	// Policy is what references may name: the same policy the repository was loaded
	// with, checked again here because loading can be skipped and a symlink is only seen
	// when the file is opened.
	Policy schema.SecretPolicy
	// Dir is the operator's secrets directory (--secrets-dir). A file reference is a path
	// inside it, opened through os.Root so that neither .. nor a symlink can leave it;
	// empty refuses every file reference.
	Dir string
	// Secrets reads one key of a Kubernetes Secret (the caller owns the client; an empty
	// namespace means gitfleet's own, which Secrets decides). Nil makes a secret reference
	// a *SecretError wrapping ErrNoSecretReader that names the Secret and key.
	Secrets func(ctx context.Context, namespace, name, key string) ([]byte, error)
}

// DefaultEnvFileOptions allow the default policy's variables and Secrets, no files and
// no Secret reader.
func DefaultEnvFileOptions() EnvFileOptions {
	return EnvFileOptions{Policy: schema.DefaultSecretPolicy()}
}

// EnvFileResolver resolves env and file references itself and secret references through
// opts.Secrets. A reference the policy refuses is a *SecretError wrapping a
// *schema.SecretNotAllowedError, and nothing is read.
//
// An unset variable, a missing file and an empty value are errors: a notification sent
// with an empty password or token would only fail later, further from the cause.
func EnvFileResolver(opts EnvFileOptions) SecretResolver {
	// Without a directory there is nowhere a file may be read: the policy says so with
	// the flag to pass, as at load time.
	opts.Policy.NoFileDir = opts.Dir == ""
	return envFileResolver{opts: opts}
}

type envFileResolver struct {
	opts EnvFileOptions
}

var _ SecretResolver = envFileResolver{}

func (r envFileResolver) Resolve(ctx context.Context, ref *schema.SecretRef) ([]byte, error) {
	if ref == nil {
		return nil, errors.New("no secret reference given")
	}
	v, err := r.read(ctx, ref)
	if err == nil && len(v) == 0 {
		err = errors.New("the value is empty")
	}
	if err != nil {
		return nil, &SecretError{Ref: describeRef(ref), Err: err}
	}
	return v, nil
}

// read checks the reference against the policy and reads its value.
func (r envFileResolver) read(ctx context.Context, ref *schema.SecretRef) ([]byte, error) {
	if _, err := r.opts.Policy.Check(ref); err != nil {
		return nil, err
	}
	switch {
	case ref.Env != "":
		s, ok := os.LookupEnv(ref.Env)
		if !ok {
			return nil, errors.New("the environment variable is not set")
		}
		return []byte(s), nil
	case ref.File != "":
		return r.readFile(ref.File)
	case ref.Secret != nil:
		if r.opts.Secrets == nil {
			return nil, ErrNoSecretReader
		}
		return r.opts.Secrets(ctx, ref.Secret.Namespace, ref.Secret.Name, ref.Secret.Key)
	}
	return nil, errors.New("empty secret reference: set env, secret or file")
}

// readFile reads a file inside the secrets directory. The root is opened at each read,
// not once: a Kubernetes Secret volume swaps its files (through the ..data symlink, which
// stays inside) when the Secret changes, and a directory that was replaced must be seen.
func (r envFileResolver) readFile(name string) ([]byte, error) {
	root, err := os.OpenRoot(r.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening the secrets directory: %w", err)
	}
	defer root.Close()
	v, err := root.ReadFile(name)
	if err != nil {
		// os.Root refuses a path or symlink leading outside the directory with an error
		// of its own ("path escapes from parent"); it is kept as the cause.
		return nil, fmt.Errorf("reading inside the secrets directory %s: %w", r.opts.Dir, err)
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
