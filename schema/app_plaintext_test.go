package schema

import (
	"strings"
	"testing"
)

func TestPlaintextAllowedNeedsOneTargetAndAReason(t *testing.T) {
	app := strings.Replace(appFile, "  targets:", "  plaintextAllowed:\n  - configMap: settings\n    key: token_ttl\n    reason: a duration\n  - helmValue: auth.token\n  - key: orphan\n    reason: x\n  targets:", 1)
	_, err := Load(t.Context(), repoFS(map[string]string{
		"clusters/dev.yaml":           clusterFile,
		"apps/web/app.yaml":           app,
		"apps/web/kustomization.yaml": kustomize,
	}))
	got := AsErrorList(err).Error()
	for _, want := range []string{
		"spec.plaintextAllowed[1].reason: say why the value is not a secret",
		"spec.plaintextAllowed[2]: set either configMap",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Load: %v, want %q", err, want)
		}
	}
	if strings.Contains(got, "plaintextAllowed[0]") {
		t.Errorf("a complete allowance was refused: %v", got)
	}
}
