package render

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizationRefs are the fields of a kustomization that name other files or
// directories, which kustomize would fetch over the network when they are URLs.
type kustomizationRefs struct {
	Resources  []string `json:"resources"`
	Bases      []string `json:"bases"`
	Components []string `json:"components"`
}

// kustomizationNames are the names kustomize reads a kustomization under, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomizationFile is the kustomization kustomize reads in dir, or "" when dir has none.
func kustomizationFile(fsys filesys.FileSystem, dir string) string {
	for _, name := range kustomizationNames {
		if fsys.Exists(path.Join(dir, name)) {
			return path.Join(dir, name)
		}
	}
	return ""
}

// refuseRemote walks the kustomizations a build would read, starting at dir, and refuses
// any remote base or resource (a git repository or URL): gitfleet renders without network
// access, so that what is applied is what is in the repository at the commit. The error
// names the kustomization file and the entry.
func refuseRemote(fsys filesys.FileSystem, dir string) error {
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		file := kustomizationFile(fsys, dir)
		if file == "" {
			return nil // kustomize itself reports a directory without a kustomization.
		}
		data, err := fsys.ReadFile(file)
		if err != nil {
			return err
		}
		var refs kustomizationRefs
		if err := yaml.Unmarshal(data, &refs); err != nil {
			return nil // kustomize reports the syntax error with more context.
		}
		for field, list := range map[string][]string{"resources": refs.Resources, "bases": refs.Bases, "components": refs.Components} {
			for i, entry := range list {
				if isRemote(entry) {
					return fmt.Errorf("%s: %s[%d] %q is a remote base: gitfleet renders without network access so that what is applied is exactly what is in the repository; vendor it into the repository and refer to it by path", strings.TrimPrefix(file, "/"), field, i, entry)
				}
				if local := path.Join(dir, entry); fsys.IsDir(local) {
					if err := walk(local); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return walk(dir)
}

// isRemote recognises the forms kustomize fetches: URLs, git:: and scp-like addresses,
// and host/org/repo paths with a //subdirectory or ?ref=.
func isRemote(entry string) bool {
	switch {
	case strings.Contains(entry, "://"), strings.HasPrefix(entry, "git::"), strings.HasPrefix(entry, "git@"):
		return true
	case strings.Contains(entry, "?ref=") || strings.Contains(entry, "?version="):
		return true
	case strings.HasPrefix(entry, "github.com/"), strings.HasPrefix(entry, "gitlab.com/"), strings.HasPrefix(entry, "bitbucket.org/"):
		return true
	}
	return false
}
