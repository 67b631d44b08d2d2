package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// binaries are the resolved paths of the programs an environment needs.
type binaries struct {
	dir        string
	etcd       string
	apiserver  string
	kcm        string
	scheduler  string
	kwok       string
	stageFiles []string // kwok Stage YAMLs, passed to kwok as --config
}

// ToolsDir is where `make tools` puts the binaries test/tools builds (kube-apiserver, etcd,
// kwok, kubectl, kustomize, helm, ...): $GITFLEET_TOOLS_BIN, else .tools/bin at the root of
// the gitfleet module above the working directory.
func ToolsDir() (string, error) {
	if dir := os.Getenv(toolsBinEnv); dir != "" {
		return dir, nil
	}
	root, err := findRepoRoot()
	if err != nil {
		return "", fmt.Errorf("harness: cannot locate .tools/bin (set Options.BinDir or $%s): %w", toolsBinEnv, err)
	}
	return filepath.Join(root, ".tools", "bin"), nil
}

// findBinaries resolves Options.BinDir and checks up front that every binary the options need
// is there, so that a missing `make tools` is reported as such rather than as a failed start.
func findBinaries(opts Options) (binaries, error) {
	dir := opts.BinDir
	if dir == "" {
		var err error
		if dir, err = ToolsDir(); err != nil {
			return binaries{}, err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return binaries{}, fmt.Errorf("harness: binary directory: %w", err)
	}
	b := binaries{dir: dir}
	need := []struct {
		name string
		dst  *string
		when bool
	}{
		{"kube-apiserver", &b.apiserver, true},
		{"etcd", &b.etcd, true},
		{"kube-controller-manager", &b.kcm, opts.ControllerManager},
		{"kube-scheduler", &b.scheduler, opts.Scheduler},
		{"kwok", &b.kwok, opts.Nodes > 0},
	}
	for _, n := range need {
		if !n.when {
			continue
		}
		path := filepath.Join(dir, n.name)
		st, err := os.Stat(path)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return binaries{}, fmt.Errorf("harness: %s not found in %s: run `make tools`", n.name, dir)
		}
		*n.dst = path
	}
	if opts.Nodes > 0 {
		stagesDir := filepath.Join(dir, "kwok-stages")
		files, _ := filepath.Glob(filepath.Join(stagesDir, "*.yaml"))
		if len(files) == 0 {
			return binaries{}, fmt.Errorf("harness: kwok stage files not found in %s: run `make tools`", stagesDir)
		}
		sort.Strings(files)
		b.stageFiles = files
	}
	return b, nil
}

// findRepoRoot walks up from the working directory (a test's package directory) to the
// directory whose go.mod declares the gitfleet module. Nested modules such as test/tools have
// their own go.mod with another module path and are passed over.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == repoModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod with module " + repoModule + " above the working directory")
		}
		dir = parent
	}
}

// modulePath returns the module path declared in a go.mod file, or "" if there is none.
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		if i := strings.Index(rest, "//"); i >= 0 {
			rest = rest[:i]
		}
		rest = strings.TrimSpace(rest)
		if unq, err := strconv.Unquote(rest); err == nil {
			rest = unq
		}
		return rest
	}
	return ""
}
