package render

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// refuseAmplification counts the objects a kustomize build of dir would produce before it
// runs, and refuses the build when they are over limit. kustomize needs no YAML alias to
// blow up: an overlay that includes the level below twice (two directories with different
// namePrefix, each a copy of the base) doubles the resources at each level, so thirty
// levels of small files ask for a billion objects, all held in memory before anything
// could count them. Here every directory is counted once (memoized, as yamlbound does for
// anchors) and its count reused for each inclusion, so the check is linear in the files.
//
// The count is an upper bound of what the build makes: a resource file counts its
// documents, a directory the sum of its kustomization's resources, bases and components;
// patches and transformers change objects without adding any, and generators add a few.
func refuseAmplification(fsys filesys.FileSystem, dir string, limit int) error {
	memo := map[string]int64{}
	var count func(dir string, depth int) (int64, error)
	count = func(dir string, depth int) (int64, error) {
		if n, ok := memo[dir]; ok {
			return n, nil
		}
		memo[dir] = 0 // a cycle counts nothing more; kustomize reports it
		if depth > 1000 {
			return 0, nil
		}
		file := kustomizationFile(fsys, dir)
		if file == "" {
			return 0, nil
		}
		data, err := fsys.ReadFile(file)
		if err != nil {
			return 0, err
		}
		var refs kustomizationRefs
		if err := yaml.Unmarshal(data, &refs); err != nil {
			return 0, nil // kustomize reports the syntax error with more context.
		}
		var n int64
		for _, entry := range append(append(refs.Resources, refs.Bases...), refs.Components...) {
			if isRemote(entry) {
				continue // refused by refuseRemote
			}
			local := path.Join(dir, entry)
			var c int64
			if fsys.IsDir(local) {
				if c, err = count(local, depth+1); err != nil {
					return 0, err
				}
			} else if data, err := fsys.ReadFile(local); err == nil {
				c = documents(data)
			}
			n += c
			if n > int64(limit) {
				return 0, &LimitError{Bound: fmt.Sprintf("objects included by %s (counted with each inclusion of a directory, before the build)", strings.TrimPrefix(file, "/")), Limit: int64(limit), Flag: FlagMaxObjects}
			}
		}
		memo[dir] = n
		return n, nil
	}
	_, err := count(dir, 0)
	return err
}

// documents is at most how many objects a manifest file holds: its "---" separators plus
// one.
func documents(data []byte) int64 {
	return int64(bytes.Count(data, []byte("\n---"))) + 1
}
