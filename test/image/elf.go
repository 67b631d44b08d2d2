package image

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// driverLibs are the glibc libraries that the NVIDIA driver's libnvidia-ml.so, which
// gitfleet-gpu opens with dlopen at run time, is linked against: they are not in the
// binary's own list, and without them in the image dlopen fails on the node.
var driverLibs = []string{"libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"}

// sharedLibs returns the files a dynamically linked binary needs at run time: its
// interpreter and every library it needs, transitively, found in dirs, plus driverLibs.
// A static binary needs none (nil).
func sharedLibs(binary string, dirs []string) ([]file, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", binary, err)
	}
	defer f.Close()
	interp, err := interpreter(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", binary, err)
	}
	if interp == "" {
		return nil, nil
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("%s: dynamic section: %w", binary, err)
	}
	found := map[string]string{} // image path -> host path
	found[interp] = interp
	queue := append(append([]string{}, needed...), driverLibs...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		host, err := lookup(name, dirs, f.Machine)
		if err != nil {
			return nil, fmt.Errorf("%s needs %s: %w", binary, name, err)
		}
		found[host] = host
		lib, err := elf.Open(host)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", host, err)
		}
		more, err := lib.ImportedLibraries()
		lib.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: dynamic section: %w", host, err)
		}
		queue = append(queue, more...)
	}
	paths := make([]string, 0, len(found))
	for p := range found {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	files := make([]file, 0, len(paths))
	for _, p := range paths {
		// The library itself, not a symlink: the layer holds regular files only.
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", p, err)
		}
		f, err := readFile(real, p, 0o755)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func interpreter(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("reading the interpreter: %w", err)
		}
		for len(b) > 0 && b[len(b)-1] == 0 {
			b = b[:len(b)-1]
		}
		return string(b), nil
	}
	return "", nil
}

// lookup finds a library for machine: the directories of several architectures may
// hold one of the same name.
func lookup(name string, dirs []string, machine elf.Machine) (string, error) {
	for _, d := range dirs {
		p := path.Join(d, name)
		lib, err := elf.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", p, err)
		}
		m := lib.Machine
		lib.Close()
		if m == machine {
			return p, nil
		}
	}
	return "", fmt.Errorf("no %s library of that name in %v", machine, dirs)
}
