package schema

import (
	"strings"
	"testing"
)

// A selector that matches no cluster is a warning at its field; one that matches, an
// empty one (every cluster) and clusters named outright are not.
func TestWarningsSelectorMatchingNoCluster(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(map[string]string{
		"clusters/dev.yaml": clusterFile,
		"apps/a.yaml": `apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  source: {kustomize: {path: apps/a}}
  targets:
    selector: {matchLabels: {env: production}}
---
apiVersion: gitfleet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  source: {kustomize: {path: apps/a}}
  targets:
    selector: {}
`,
		"apps/a/kustomization.yaml": kustomize,
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	w := repo.Warnings()
	if len(w) != 1 || w[0].Field != "spec.targets.selector" || w[0].Line != 7 || !strings.Contains(w[0].Message, "the selector env=production matches no cluster of the repository (cluster labels: dev {") {
		t.Fatalf("warnings %v, want one at apps/a.yaml:7 spec.targets.selector", w)
	}
}
