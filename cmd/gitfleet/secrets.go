package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/reconciler/notify"
	"gitfleet.dev/gitfleet/schema"
)

// secretFlags are the operator's answer to what a fleet repository may refer to. The
// repository's authors are not the operator: without these limits a repository could
// name /etc/shadow, the service-account token or $HOME as an SMTP or SSH password and
// have it sent to a host of its choosing (see schema.SecretPolicy).
type secretFlags struct {
	// dir is --secrets-dir, the one directory file references are read in.
	dir string
	// envPrefixes are further prefixes, besides schema.DefaultSecretEnvPrefix.
	envPrefixes []string
	// namespaces are further namespaces, besides gitfleet's own.
	namespaces []string
	// namespace is gitfleet's own namespace for the commands without management flags
	// (validate, render, plan, diff), so that they judge a repository as serve would;
	// apply and machines check take it from the management flags' --secrets-namespace,
	// serve from --leader-election-namespace.
	namespace string
}

// addPolicy registers the flags that say which variables and namespaces a repository may
// name; every command that loads a repository has them, so that validate in CI refuses
// what serve would.
func (s *secretFlags) addPolicy(f *pflag.FlagSet) {
	f.StringSliceVar(&s.envPrefixes, "secret-env-prefix", nil, "further prefixes of the environment variables fleet files may name in {env: VAR}, besides "+schema.DefaultSecretEnvPrefix+" (repeat or comma-separate)")
	f.StringSliceVar(&s.namespaces, "secret-namespaces", nil, "further namespaces whose Secrets fleet files may name in {secret: {namespace: NS, ...}}, besides gitfleet's own (repeat or comma-separate)")
}

// addDir registers --secrets-dir, for the commands that read secrets.
func (s *secretFlags) addDir(f *pflag.FlagSet) {
	f.StringVar(&s.dir, "secrets-dir", "", "directory that fleet files' {file: PATH} references are read in, PATH relative to it; none refuses every file reference")
}

// addNamespace registers --secrets-namespace for the commands without management flags.
func (s *secretFlags) addNamespace(f *pflag.FlagSet) {
	f.StringVar(&s.namespace, "secrets-namespace", schema.DefaultSecretsNamespace, "gitfleet's own namespace, whose Secrets fleet files may always name")
}

// policy is what a repository may name. reads says whether the command reads secrets:
// only then is a file reference without --secrets-dir known to be unreadable.
func (s secretFlags) policy(ownNamespace string, reads bool) (schema.SecretPolicy, error) {
	p := schema.DefaultSecretPolicy()
	p.Namespace = ownNamespace
	for _, prefix := range s.envPrefixes {
		// An empty prefix would allow every variable of the process, which is the hole
		// these flags close.
		if strings.TrimSpace(prefix) == "" {
			return p, fmt.Errorf("--secret-env-prefix: an empty prefix would let fleet files read every environment variable")
		}
		p.EnvPrefixes = append(p.EnvPrefixes, prefix)
	}
	p.Namespaces = s.namespaces
	p.NoFileDir = reads && s.dir == ""
	if reads && s.dir != "" {
		if fi, err := os.Stat(s.dir); err != nil || !fi.IsDir() {
			return p, fmt.Errorf("--secrets-dir %s is not a directory", s.dir)
		}
	}
	return p, nil
}

// resolver reads the secrets the policy allows: files in --secrets-dir, variables and
// Secrets through read (nil: no Kubernetes Secrets).
func (s secretFlags) resolver(p schema.SecretPolicy, read reconciler.SecretReader) notify.SecretResolver {
	opts := notify.DefaultEnvFileOptions()
	opts.Policy, opts.Dir, opts.Secrets = p, s.dir, read
	return notify.EnvFileResolver(opts)
}
