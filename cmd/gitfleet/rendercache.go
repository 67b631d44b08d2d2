package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"gitfleet.dev/gitfleet/render"
)

// renderCacheFlags choose where rendered Apps are kept between runs, for the commands that
// render: an App whose inputs did not change since any earlier run is read back instead of
// built again, which for a big kustomization is most of a no-op apply.
type renderCacheFlags struct {
	dir  string
	size string
	// flags tell whether the directory was chosen on the command line: then a directory
	// that cannot be used is an error, where the default only costs the cache.
	flags *pflag.FlagSet
}

func (r *renderCacheFlags) add(f *pflag.FlagSet) {
	r.flags = f
	dir := ""
	if base, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(base, "gitfleet", "render")
	}
	f.StringVar(&r.dir, "render-cache-dir", dir, "directory that keeps rendered Apps between runs, keyed by the content of everything each render read, the App and gitfleet's version; an App is rendered again only when one of its inputs changed. Made with mode 0700; Apps that render a Secret or read a sops-encrypted file are never written to it. Empty disables the cache (each run renders everything)")
	f.StringVar(&r.size, "render-cache-size", "256Mi", "most disk space --render-cache-dir may use (a Kubernetes quantity such as 256Mi or 1Gi; MiB and GiB also accepted); the least recently used renders are removed past it")
}

// open returns the cache the flags describe; a warning goes to stderr when the default
// directory cannot be used and rendering goes on without it.
func (r *renderCacheFlags) open(stderr io.Writer) (*render.Cache, error) {
	opts := render.DefaultCacheOptions()
	q, err := resource.ParseQuantity(strings.TrimSuffix(r.size, "B"))
	if err != nil || q.Sign() <= 0 {
		return nil, fmt.Errorf("--render-cache-size %q: want a size such as 256Mi or 1Gi", r.size)
	}
	opts.MaxBytes = q.Value()
	opts.Dir = r.dir
	opts.Version = gitfleetVersion()
	c, err := render.OpenCache(opts)
	if err != nil && !r.flags.Changed("render-cache-dir") {
		fmt.Fprintf(stderr, "warning: %v; rendering without a cache between runs (set --render-cache-dir)\n", err)
		opts.Dir = ""
		return render.OpenCache(opts)
	}
	return c, err
}

// gitfleetVersion names this build of gitfleet for the render cache: a released module
// version, or the commit it was built from; a build from a modified or unknown tree (a
// developer's) adds the executable's size and time, so that a rebuilt binary never reads
// the renders of an older one.
func gitfleetVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return executableStamp()
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	v := info.Main.Version + " " + info.GoVersion
	if rev := settings["vcs.revision"]; rev != "" && settings["vcs.modified"] != "true" {
		return v + " " + rev
	}
	if info.Main.Version != "" && info.Main.Version != "(devel)" && settings["vcs.modified"] != "true" {
		return v
	}
	return v + " " + executableStamp()
}

func executableStamp() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	st, err := os.Stat(exe)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%s %d %d", exe, st.Size(), st.ModTime().UnixNano())
}
