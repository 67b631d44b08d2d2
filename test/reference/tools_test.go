package reference

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gitfleet.dev/gitfleet/test/harness"
)

// tools runs the reference binaries with an environment of their own: Helm reads and writes
// its configuration, cache and registry files under HELM_*_HOME and would otherwise read the
// kubeconfig of whoever runs the tests.
type tools struct {
	kustomize string
	helm      string
	env       []string
}

// findTools locates kustomize and helm in $GITFLEET_TOOLS_BIN, or in .tools/bin at the root
// of the gitfleet module above the working directory. Missing binaries fail the test: a
// comparison that silently does not run proves nothing.
func findTools(tb testing.TB) *tools {
	tb.Helper()
	dir, err := harness.ToolsDir()
	if err != nil {
		tb.Fatalf("cannot locate the reference binaries: %v; run make tools", err)
	}
	t := &tools{}
	for name, dst := range map[string]*string{"kustomize": &t.kustomize, "helm": &t.helm} {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			tb.Fatalf("reference binary %s not found in %s: run make tools", name, dir)
		}
		*dst = p
	}
	home := tb.TempDir()
	t.env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	return t
}

// run runs a binary and returns its standard output; a failure carries its standard error.
func (t *tools) run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = t.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &toolError{cmd: filepath.Base(bin) + " " + strings.Join(args, " "), err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// toolError is a failed run of a reference binary.
type toolError struct {
	cmd    string
	err    error
	stderr string
}

func (e *toolError) Error() string { return fmt.Sprintf("%s: %v: %s", e.cmd, e.err, e.stderr) }
func (e *toolError) Unwrap() error { return e.err }

// helmModuleDir is where the module cache holds the helm.sh/helm/v3 version gitfleet builds
// with; its test charts are inputs here. They are read from there at test time, never copied
// into this repository.
func helmModuleDir(tb testing.TB) string {
	tb.Helper()
	// go test puts $GOROOT/bin first on the test's PATH.
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "helm.sh/helm/v3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		tb.Fatalf("go list -m helm.sh/helm/v3: %v: %s (is the module cache populated? go mod download helm.sh/helm/v3)", err, stderr.String())
	}
	return dir
}
