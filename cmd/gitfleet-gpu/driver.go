package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

const nvmlLibrary = "libnvidia-ml.so.1"

// libraryDirs are where a driver root keeps its shared libraries: /usr/local/nvidia has
// lib64/ (and lib/), the host's /usr (mounted at /usr/local/host) has the distribution's
// lib/<triplet>/ or lib64/, and a root of / has them under usr/.
var libraryDirs = []string{
	"lib64", "lib", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu",
	"usr/lib64", "usr/lib", "usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu",
}

// errNoDriver means no libnvidia-ml.so.1 was found: the node has no NVIDIA driver (or it is
// not where the DaemonSet mounts it), and the plugin idles.
var errNoDriver = errors.New("no NVIDIA driver library")

// driverSearch is the result of looking for NVML: the library, and the paths tried (for the
// log of a node that idles).
type driverSearch struct {
	Library string
	Tried   []string
}

// findDriver looks for libnvidia-ml.so.1 under each root, in order. explicit, when set, is
// the only candidate and must exist.
func findDriver(explicit string, roots []string) (driverSearch, error) {
	var s driverSearch
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return s, fmt.Errorf("--nvml-library %s: %w", explicit, err)
		}
		s.Library = explicit
		return s, nil
	}
	for _, root := range roots {
		for _, sub := range libraryDirs {
			path := filepath.Join(root, sub, nvmlLibrary)
			if slices.Contains(s.Tried, path) {
				continue
			}
			s.Tried = append(s.Tried, path)
			_, err := os.Stat(path)
			if err == nil {
				s.Library = path
				return s, nil
			}
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				return s, fmt.Errorf("driver library %s: %w", path, err)
			}
		}
	}
	return s, fmt.Errorf("%w: %s is in none of %s", errNoDriver, nvmlLibrary, strings.Join(roots, ", "))
}

// errStaticBinary: go-nvml calls the driver's functions as C symbols left unresolved at link
// time, which only the dynamic loader binds once the library is dlopen'ed. In a static
// binary they stay zero and the first NVML call jumps to address 0.
var errStaticBinary = errors.New("this gitfleet-gpu binary is statically linked, and NVML cannot be called from a static binary " +
	"(go-nvml binds the driver's functions through the dynamic loader); build it with `make build`, which links only the C library dynamically")

// isStatic reports whether the running executable has no program interpreter (ld.so).
func isStatic() bool {
	self, err := os.Executable()
	if err != nil {
		return false
	}
	f, err := elf.Open(self)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// openNVML loads and initialises NVML from the found library.
func openNVML(s driverSearch) (nvml.Interface, error) {
	if isStatic() {
		return nil, errStaticBinary
	}
	lib := nvml.New(nvml.WithLibraryPath(s.Library))
	if ret := lib.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("NVML init from %s: %w", s.Library, ret)
	}
	return lib, nil
}
