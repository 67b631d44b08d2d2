package cni

import (
	"io"
	"log/slog"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"
)

// About is the plugin's VERSION banner.
const About = "gitfleet-cni: Galaxy network modes (overlay, floatingIP, nat, host) for gitfleet's Galaxy addon"

// SupportedVersions are the CNI spec versions the plugin answers. CHECK exists from 0.4.0,
// STATUS from 1.1.0; the Galaxy addon's conflist says 1.0.0.
var SupportedVersions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

// Options configure a Plugin.
type Options struct {
	// Logger receives what the plugin did and why it failed. The runtime shows a
	// plugin's stderr only with its error, so the command logs warnings and above.
	Logger *slog.Logger
}

// DefaultOptions discard logs.
func DefaultOptions() Options {
	return Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// Plugin is the CNI plugin. It keeps no state between invocations beyond what it writes
// under the configuration's dataDir; the runtime starts a new process for each call.
type Plugin struct {
	log *slog.Logger
}

// New returns a Plugin.
func New(opts Options) *Plugin {
	if opts.Logger == nil {
		opts = DefaultOptions()
	}
	return &Plugin{log: opts.Logger}
}

// Funcs are the plugin's verbs for skel.PluginMainFuncs.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.Add, Del: p.Del, Check: p.Check, Status: p.Status}
}
