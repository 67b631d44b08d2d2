package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/render/alerting"
	"gitfleet.dev/gitfleet/schema"
)

// TestReadAlertSecretsPolicy: a Secret the repository names outside the namespaces the
// operator allows is refused before it is read, even when the repository was loaded
// without the policy; one in gitfleet's own namespace is copied.
func TestReadAlertSecretsPolicy(t *testing.T) {
	var reads []string
	read := func(_ context.Context, ns, name, key string) ([]byte, error) {
		reads = append(reads, ns+"/"+name)
		return []byte("v"), nil
	}
	copyOf := func(ns string) []alerting.SecretCopy {
		return []alerting.SecretCopy{{Name: "smtp", Key: "password", From: schema.SecretKeyRef{Namespace: ns, Name: "smtp", Key: "password"}, Channel: "mail", Field: "spec.email.password"}}
	}
	policy := schema.DefaultSecretPolicy()

	_, err := readAlertSecrets(t.Context(), "fleet", copyOf("kube-system"), read, policy)
	if !errors.Is(err, schema.ErrSecretNotAllowed) || !strings.Contains(err.Error(), `NotifyChannel mail (spec.email.password)`) || !strings.Contains(err.Error(), "--secret-namespaces") {
		t.Errorf("kube-system: error %v, want a refusal naming the channel and the flag", err)
	}
	if len(reads) != 0 {
		t.Errorf("refused Secrets were read: %v", reads)
	}
	for _, ns := range []string{"", "gitfleet-system"} {
		if secrets, err := readAlertSecrets(t.Context(), "fleet", copyOf(ns), read, policy); err != nil || len(secrets) != 1 {
			t.Errorf("namespace %q: %d Secrets, error %v; want one copied", ns, len(secrets), err)
		}
	}
}
