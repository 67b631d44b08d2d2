package schema

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestSecretPolicy loads a repository whose only reference is the one under test: a hostile
// repository must not be able to name the host's secrets, and one naming what the operator
// allows must load.
func TestSecretPolicy(t *testing.T) {
	user := func(ref string) string {
		return accessDoc("User", "bob", "  initialPassword: "+ref+"\n")
	}
	withPrefix := DefaultSecretPolicy()
	withPrefix.EnvPrefixes = append(withPrefix.EnvPrefixes, "SMTP_")
	withNamespace := DefaultSecretPolicy()
	withNamespace.Namespaces = []string{"mail"}
	noDir := DefaultSecretPolicy()
	noDir.NoFileDir = true
	for _, tc := range []struct {
		name   string
		ref    string
		policy SecretPolicy
		want   []string
	}{
		{name: "HOME is refused", ref: "{env: HOME}", policy: DefaultSecretPolicy(), want: []string{
			`access/x.yaml:6:26: spec.initialPassword.env: "HOME" is not an allowed variable: gitfleet reads only variables starting with GITFLEET_SECRET_; the operator can allow more with --secret-env-prefix`,
		}},
		{name: "a prefixed variable is accepted", ref: "{env: GITFLEET_SECRET_X}", policy: DefaultSecretPolicy()},
		{name: "a prefix the operator added is accepted", ref: "{env: SMTP_PASSWORD}", policy: withPrefix},
		{name: "no prefixes allow no variable", ref: "{env: GITFLEET_SECRET_X}", policy: SecretPolicy{Namespace: DefaultSecretsNamespace}, want: []string{
			`access/x.yaml:6:26: spec.initialPassword.env: "GITFLEET_SECRET_X" is not an allowed variable: gitfleet reads no environment variables for the repository; the operator can allow more with --secret-env-prefix`,
		}},
		{name: "/etc/shadow is refused", ref: "{file: /etc/shadow}", policy: DefaultSecretPolicy(), want: []string{
			`access/x.yaml:6:27: spec.initialPassword.file: "/etc/shadow" is not an allowed file: a file reference is a path relative to the operator's --secrets-dir, with no leading / and no ..`,
		}},
		{name: "../x is refused", ref: "{file: ../x}", policy: DefaultSecretPolicy(), want: []string{
			`access/x.yaml:6:27: spec.initialPassword.file: "../x" is not an allowed file: a file reference is a path relative to the operator's --secrets-dir, with no leading / and no ..`,
		}},
		{name: "a relative path is accepted", ref: "{file: smtp/password}", policy: DefaultSecretPolicy()},
		{name: "a file without a secrets directory is refused", ref: "{file: smtp/password}", policy: noDir, want: []string{
			`access/x.yaml:6:27: spec.initialPassword.file: "smtp/password" is not an allowed file: gitfleet reads file references only inside a directory the operator gives with --secrets-dir, and none was given`,
		}},
		{name: "gitfleet's own namespace is accepted", ref: "{secret: {namespace: gitfleet-system, name: bob, key: password}}", policy: DefaultSecretPolicy()},
		{name: "no namespace is gitfleet's own", ref: "{secret: {name: bob, key: password}}", policy: DefaultSecretPolicy()},
		{name: "a foreign namespace is refused", ref: "{secret: {namespace: kube-system, name: bob, key: password}}", policy: DefaultSecretPolicy(), want: []string{
			`access/x.yaml:6:41: spec.initialPassword.secret.namespace: "kube-system" is not an allowed namespace: gitfleet reads only Secrets in gitfleet-system; the operator can allow more with --secret-namespaces`,
		}},
		{name: "a namespace the operator added is accepted", ref: "{secret: {namespace: mail, name: bob, key: password}}", policy: withNamespace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"access/x.yaml": {Data: []byte(user(tc.ref))}}
			_, err := LoadWithOptions(t.Context(), fsys, LoadOptions{Secrets: tc.policy})
			var got []string
			for _, e := range AsErrorList(err) {
				got = append(got, e.Error())
			}
			if err != nil && AsErrorList(err) == nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadDefaultSecretPolicy checks that Load, which callers without a policy of their own
// use, applies the safe default rather than allowing everything.
func TestLoadDefaultSecretPolicy(t *testing.T) {
	fsys := fstest.MapFS{"access/x.yaml": {Data: []byte(accessDoc("User", "bob", "  initialPassword: {env: HOME}\n"))}}
	_, err := Load(t.Context(), fsys)
	if len(AsErrorList(err)) != 1 {
		t.Fatalf("Load = %v, want one problem refusing HOME", err)
	}
}

// TestSecretNotAllowedError checks that the policy's errors can be told apart with
// errors.Is, which the resolvers' callers use to treat them as configuration errors.
func TestSecretNotAllowedError(t *testing.T) {
	p := DefaultSecretPolicy()
	for _, err := range []error{p.CheckEnv("HOME"), p.CheckFile("/etc/shadow"), p.CheckNamespace("kube-system")} {
		var sna *SecretNotAllowedError
		if !errors.Is(err, ErrSecretNotAllowed) || !errors.As(err, &sna) {
			t.Errorf("%v is not a SecretNotAllowedError", err)
		}
	}
	if err := p.CheckFile("a/../b"); err != nil {
		t.Errorf("a/../b stays inside the directory, got %v", err)
	}
}
