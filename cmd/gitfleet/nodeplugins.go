package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"gitfleet.dev/gitfleet/render/addons"
	"gitfleet.dev/gitfleet/render/install"
)

// nodePluginFlags say which images the GPU and network addons' DaemonSets run: gitfleet's
// own node plugins, built by make image from the same tree as this binary. Every command
// that renders takes them, so that render, plan and apply show what serve applies.
type nodePluginFlags struct {
	images   nodePluginImages
	registry string
}

func (n *nodePluginFlags) add(f *pflag.FlagSet) {
	n.images = nodePluginImages{}
	f.Var(n.images, "node-plugin-image", "NAME=REF: run node plugin NAME ("+strings.Join(install.NodePlugins, ", ")+") from REF, pinned by digest (make image-push prints them); repeat for each (default: --node-plugin-registry/NAME:VERSION)")
	f.StringVar(&n.registry, "node-plugin-registry", addons.DefaultPluginRegistry, "registry of the node-plugin images not given by --node-plugin-image, tagged with this binary's version")
}

// options are the addons' render options: unpinned images carry the stamped version; a
// binary built without one (go build) keeps the addons' default tag.
func (n nodePluginFlags) options() addons.Options {
	o := addons.Options{PluginRegistry: n.registry, PluginImages: map[string]string(n.images)}
	if version != "dev" {
		o.PluginVersion = version
	}
	return o
}

// nodePluginImages is --node-plugin-image: checked as each one is given, so that a typo
// in a name or an unpinned reference is refused with the flag's name.
type nodePluginImages map[string]string

var _ pflag.Value = nodePluginImages{}

func (m nodePluginImages) Set(s string) error {
	name, ref, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want NAME=REF, for example gitfleet-gpu=registry.example.com/gitfleet/gitfleet-gpu@sha256:...")
	}
	if !slices.Contains(install.NodePlugins, name) {
		return fmt.Errorf("unknown node plugin %q; want one of %s", name, strings.Join(install.NodePlugins, ", "))
	}
	if !install.Pinned(ref) {
		return fmt.Errorf("%s: want a reference pinned by digest, REPOSITORY@sha256:DIGEST", ref)
	}
	m[name] = ref
	return nil
}

func (m nodePluginImages) String() string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (m nodePluginImages) Type() string { return "NAME=REF" }
