package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"gitfleet.dev/gitfleet/render/remotechart"
)

// chartFlags say where remote Helm charts are kept and how long and how large a fetch may
// be, for every command that renders.
type chartFlags struct {
	cacheDir  string
	cacheSize string
	timeout   time.Duration
	maxSize   string
	maxIndex  string
	plainHTTP []string
	flags     *pflag.FlagSet
}

func (c *chartFlags) add(f *pflag.FlagSet) {
	c.flags = f
	d := remotechart.DefaultOptions()
	dir := ""
	if base, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(base, "gitfleet", "charts")
	}
	f.StringVar(&c.cacheDir, "chart-cache-dir", dir, "directory that keeps the archives of remote Helm charts, by digest, shared by every gitfleet command and process on the machine; a chart in it is never fetched again, so a repository that is down stops only charts never fetched before. Empty keeps them in memory, for one run (one serve process) only")
	f.StringVar(&c.cacheSize, "chart-cache-size", "1Gi", "most disk space --chart-cache-dir may use (a quantity such as 512Mi or 2Gi); the least recently used charts are removed past it")
	f.DurationVar(&c.timeout, remotechart.FlagTimeout[2:], d.Timeout, "how long one request to a Helm repository or OCI registry may take (a render waiting on it fails after this, and its clusters keep what they run)")
	f.StringVar(&c.maxSize, remotechart.FlagMaxSize[2:], "16Mi", "largest chart archive (and OCI manifest) gitfleet downloads")
	f.StringVar(&c.maxIndex, remotechart.FlagMaxIndexSize[2:], "64Mi", "largest index.yaml of a Helm repository gitfleet downloads (public repositories that keep every version run to tens of MiB)")
	f.StringSliceVar(&c.plainHTTP, "chart-plain-http-hosts", nil, "OCI registries (host:port) reached over plain HTTP instead of HTTPS, such as a registry on localhost; never one across a network")
}

// client opens the chart cache and returns the client the flags describe: offline
// answers from the cache alone (validate). A default cache directory that cannot be used
// is a warning and no cache; one given on the command line is an error.
func (c *chartFlags) client(secrets remotechart.SecretResolver, offline bool, stderr io.Writer, log logr.Logger) (*remotechart.Client, error) {
	opts := remotechart.DefaultOptions()
	opts.Log = log
	opts.Timeout, opts.Secrets, opts.Offline, opts.PlainHTTPHosts = c.timeout, secrets, offline, c.plainHTTP
	var err error
	if opts.MaxArchiveSize, err = quantity(remotechart.FlagMaxSize, c.maxSize); err != nil {
		return nil, err
	}
	if opts.MaxIndexSize, err = quantity(remotechart.FlagMaxIndexSize, c.maxIndex); err != nil {
		return nil, err
	}
	size, err := quantity("--chart-cache-size", c.cacheSize)
	if err != nil {
		return nil, err
	}
	if opts.Cache, err = remotechart.OpenCache(c.cacheDir, size); err != nil {
		if c.flags != nil && c.flags.Changed("chart-cache-dir") {
			return nil, fmt.Errorf("--chart-cache-dir: %w", err)
		}
		fmt.Fprintf(stderr, "warning: %v; remote charts are kept in memory only, and fetched again by every run (set --chart-cache-dir)\n", err)
		opts.Cache, _ = remotechart.OpenCache("", size)
	}
	return remotechart.New(opts)
}

// quantity reads a size flag: a Kubernetes quantity (16Mi, 1Gi; MiB and GiB accepted).
func quantity(flag, v string) (int64, error) {
	q, err := resource.ParseQuantity(strings.TrimSuffix(v, "B"))
	if err != nil || q.Sign() <= 0 {
		return 0, fmt.Errorf("%s %q: want a size such as 16Mi or 1Gi", flag, v)
	}
	return q.Value(), nil
}
